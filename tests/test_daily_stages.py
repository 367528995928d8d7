"""`listen run` walks pipelines.daily.STAGES: failures are recorded per stage and per source, later stages still run,
a stage whose needs failed is skipped. (The DAG turns the same list into tasks: tests/test_dags.py.)"""

from __future__ import annotations

import json

import pytest

from pipelines import daily
from pipelines.daily import STAGES, run_daily

from helpers import import_source, make_install, query


def _records(path, count: int = 40, prefix: str = "p") -> None:
    texts = ["The app crashes every time I open my order history after the last update",
             "Die Lieferung kam zwei Tage zu spät und der Karton war beschädigt",
             "Levering var hurtig og pakken var pænt pakket ind, tak for det"]
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(count):
            handle.write(json.dumps({"id": f"{prefix}{n}", "text": f"{texts[n % 3]} ({n})",
                                     "created_at": f"2026-11-{10 + n % 10:02d}T10:00:00+00:00"}) + "\n")


@pytest.fixture
def install(write_config, tmp_path):
    _records(tmp_path / "a.jsonl")
    _records(tmp_path / "b.jsonl", prefix="q")
    return make_install(write_config, '[enrich]\nsentiment = "lexicon"\n[topics]\nembedding = "tfidf"\n'
                                      '[report]\nformats = ["csv"]\n'
                        + import_source("a", "a.jsonl") + import_source("b", "b.jsonl"))


def test_the_stage_list_is_the_documented_order():
    assert [s.name for s in STAGES] == ["fetch", "load", "duplicates", "retention", "enrich", "topics", "check",
                                       "trends", "publish", "alerts", "report"]
    assert [s.name for s in STAGES if s.per_source] == ["fetch", "load"]
    assert [s.name for s in STAGES if not s.needs_writer] == ["fetch"]
    assert all(s.reads and s.writes for s in STAGES)
    assert daily.STAGES_BY_NAME["publish"].needs == ("check", "trends")


def test_a_failed_check_skips_publish_and_the_rest_still_runs(install, monkeypatch):
    real_check = daily.check

    def critical(settings, run_id):
        summary = real_check(settings, run_id)
        return {**summary, "critical_failures": 1,
                "results": [{"expectation": "expect_column_values_to_be_unique(post_id)", "critical": True,
                             "success": False}]}

    monkeypatch.setattr(daily, "check", critical)
    result = run_daily(install)
    outcome = {s.name: (s.ok, s.error) for s in result.stages}
    assert outcome["check"][0] is False and "expect_column_values_to_be_unique(post_id)" in outcome["check"][1]
    assert outcome["trends"] == (True, None) and outcome["report"] == (True, None)
    assert outcome["publish"] == (False, "publish: skipped because check failed")
    assert not install.paths.snapshot.exists(), "analysts keep the last good snapshot"
    assert query(install, "SELECT status, message, published FROM core.pipeline_runs") == \
        [("failed", "failed: check, publish", False)]


def test_a_crashing_load_fails_that_source_and_the_others_load(install, monkeypatch):
    real_load = daily.load_source

    def load(settings, outcome, con=None):
        if outcome["source"] == "a":
            raise OSError(28, "No space left on device")
        return real_load(settings, outcome, con)

    monkeypatch.setattr(daily, "load_source", load)
    result = run_daily(install, report=False)
    by_source = {s["source"]: s for s in result.failed_sources}
    assert list(by_source) == ["a"] and "No space left on device" in by_source["a"]["error"]
    assert query(install, "SELECT DISTINCT source FROM core.posts") == [("b",)]
    load_stage = next(s for s in result.stages if s.name == "load")
    assert not load_stage.ok and all(s.ok for s in result.stages if s.name != "load")
    assert query(install, "SELECT message FROM core.pipeline_runs") == [("failed: a, load",)]
