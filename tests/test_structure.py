"""The package's shape: no import circles, every module importable on its own, one error hierarchy."""

from __future__ import annotations

import ast
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import pipelines
from pipelines.errors import ListenError

PACKAGE = Path(pipelines.__file__).parent
MODULES = sorted(m.name for m in pkgutil.walk_packages(pipelines.__path__, "pipelines.") if ".sandbox.data" not in m.name)


def _module_file(name: str) -> Path:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imports_of(name: str) -> set[str]:
    """The pipelines modules `name` imports, anywhere in the file (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(_module_file(name).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pipelines.report import charts` imports the module pipelines.report.charts
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != name and not name.startswith(t + ".")}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_between_modules():
    graph = {name: imports_of(name) for name in MODULES}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# One fresh interpreter loads the third-party libraries once, then forks a child per module that imports only that
# module: each child starts with no pipelines module loaded, as a fresh `python -c "import X"` would, in a
# fraction of the time (59 interpreters re-importing torch and GX take minutes on two cores).
IMPORT_ALONE = """
import importlib, json, os, sys, traceback
for library in json.loads(sys.argv[1]):
    try:
        importlib.import_module(library)
    except Exception:
        pass  # an optional library: the module that needs it reports it when imported
failed = {}
for module in json.loads(sys.argv[2]):
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            os._exit(0)
        except BaseException:
            os.write(write, traceback.format_exc()[-2000:].encode())
            os._exit(1)
    os.close(write)
    with os.fdopen(read) as pipe:
        message = pipe.read()
    if os.waitpid(child, 0)[1] != 0:
        failed[module] = message or "child crashed"
print(json.dumps(failed))
"""


def third_party_imports(module_level_only: bool = False) -> set[str]:
    """Top-level names of the libraries the package and the DAG import (only those imported on import, if asked)."""
    names = set()
    for path in list(PACKAGE.rglob("*.py")) + list((PACKAGE.parent / "dags").glob("*.py")):
        if "sandbox/data" in path.as_posix():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in (tree.body if module_level_only else ast.walk(tree)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"pipelines", "__future__"}}


def test_every_module_imports_on_its_own():
    libraries = sorted(third_party_imports(module_level_only=True) - {"airflow"})  # airflow: the DAG file only
    done = subprocess.run([sys.executable, "-c", IMPORT_ALONE, json.dumps(libraries), json.dumps(MODULES)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}


def test_every_error_class_is_a_listen_error_with_an_exit_code():
    import importlib

    errors = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                errors[f"{name}.{attr}"] = value
    assert len(errors) >= 15, errors  # the scan itself works
    strays = [name for name, cls in errors.items() if not issubclass(cls, ListenError)]
    assert strays == [], "subclass pipelines.errors.ListenError so the CLI maps them"
    assert {cls.exit_code for cls in errors.values()} <= {1, 2}


@pytest.mark.parametrize("module, error, code", [("pipelines.topics.model", "TopicModelError", 1),
                                                 ("pipelines.airflow_services", "AirflowServiceError", 1),
                                                 ("pipelines.enrich.sentiment", "SentimentModelError", 1),
                                                 ("pipelines.config", "ConfigError", 2)])
def test_the_cli_maps_every_error_by_its_class_not_its_name(module, error, code, monkeypatch, capsys):
    import importlib

    from pipelines import cli

    cls = getattr(importlib.import_module(module), error)

    def fail(*args, **kwargs):
        raise cls("the model file models/x.safetensors is missing: run `listen topics --refit`")

    monkeypatch.setattr(cli, "load_settings", fail)
    assert cli.main(["status"]) == code
    err = capsys.readouterr().err
    assert "models/x.safetensors is missing" in err and "unexpected" not in err and "Traceback" not in err
