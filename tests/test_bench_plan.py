"""`make bench` runs every benchmark in bench/, with arguments its script accepts (read from the script, not assumed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
HELPERS = {"common.py", "run_all.py", "baselines.py"}  # imported by the scripts, not run


def _run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", BENCH / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_script_in_bench_is_run_by_make_bench_or_named_as_an_evaluation():
    run_all = _run_all()
    planned = {script for script, _, _ in run_all.PLAN.values()}
    evaluations = {script for script, _, _ in run_all.EVALS.values()}
    scripts = {path.name for path in BENCH.glob("*.py")} - HELPERS
    assert scripts - planned - evaluations == set()
    assert {path.name for path in BENCH.glob("bench_*.py")} <= planned  # every performance bench, by default
    assert "eval_alerts.py" in planned


def test_every_planned_option_is_one_its_script_takes():
    run_all = _run_all()
    for name, (script, full, quick) in {**run_all.PLAN, **run_all.EVALS}.items():
        source = (BENCH / script).read_text(encoding="utf-8")
        takes = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source))
        given = {arg for arg in full + quick if arg.startswith("--")}
        assert given <= takes, (name, sorted(given - takes))
    assert "--daily-posts" in run_all.PLAN["topics"][1]
    assert run_all.PLAN["topics"][1][run_all.PLAN["topics"][1].index("--daily-posts") + 1] == "5000"


def test_every_name_a_bench_script_imports_exists():
    """A script that imports a name its sibling or the package no longer has only fails when someone runs it
    (eval_truncation once imported eval_topics.run_default, renamed long before): import each named module
    and check every name, including imports inside functions."""
    import ast
    import sys

    sys.path.insert(0, str(BENCH))
    try:
        for script in sorted(BENCH.glob("*.py")):
            for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                local = (BENCH / f"{node.module}.py").exists()
                if not (local or node.module.startswith("pipelines")):
                    continue
                module = importlib.import_module(node.module)
                missing = [alias.name for alias in node.names if not hasattr(module, alias.name) and not (
                    hasattr(module, "__path__") and importlib.util.find_spec(f"{node.module}.{alias.name}"))]
                assert not missing, f"bench/{script.name} imports {missing} from {node.module}, which has none"
    finally:
        sys.path.remove(str(BENCH))
