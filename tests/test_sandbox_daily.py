"""All sandbox services through the daily fetch/load stages: faults fail one source, keep its data, spare the rest."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.config import load_settings
from pipelines.daily import fetch_source, init_install, load_source, plan_sources
from pipelines.http import HttpClient
from pipelines.sandbox.server import Sandbox
from pipelines.sources import reddit
from pipelines.warehouse import open_warehouse


@pytest.fixture
def setup(write_config, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", "sandbox-client")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret")
    monkeypatch.setenv("REDDIT_USER_AGENT", "community-listening tests/1.0")
    monkeypatch.setattr(reddit, "DEFAULT_REQUESTS_PER_MINUTE", 60_000)
    with Sandbox() as sandbox:
        sandbox.options["reddit_window_requests"] = 100_000
        body = f"""[warehouse]
path = "data/warehouse.duckdb"
[[sources]]
name = "reddit"
kind = "reddit"
subreddits = ["redditdev"]
oauth_url = "{sandbox.base_url}"
reddit_url = "{sandbox.base_url}"
[[sources]]
name = "blog"
kind = "feed"
url = "{sandbox.url('/feeds/wordpress/feed/')}"
follow_comments = true
[[sources]]
name = "ios"
kind = "appstore"
app_id = "1600000001"
base_url = "{sandbox.base_url}"
"""
        settings = load_settings(write_config(body))
        init_install(settings)
        yield sandbox, settings


def run_all(settings, run_id):
    client = HttpClient(min_delay=0, retries=1, backoff=0.01, read_timeout=1, connect_timeout=1, max_retry_after=2)
    outcomes = [fetch_source(settings, item, run_id, http=client, day=dt.date(2024, 6, 1))
                for item in plan_sources(settings)]
    return {o["source"]: load_source(settings, o) for o in outcomes}


def counts(settings):
    with open_warehouse(settings.paths.warehouse) as con:
        return dict(con.execute("SELECT source, count(*) FROM core.posts GROUP BY source").fetchall())


@pytest.mark.parametrize("prefix, fault", [
    ("/comments/", "status:401"), ("/r/", "status:429:retry_after=60"), ("/r/", "status:500"), ("/r/", "slow:3"),
    ("/r/", "truncate"), ("/r/", "oversize:30000000"), ("/r/", "invalid_utf8"), ("/r/", "entity_bomb"),
])
def test_a_failing_reddit_keeps_its_data_and_spares_the_others(setup, prefix, fault):
    sandbox, settings = setup
    first = run_all(settings, "run-1")
    assert {s: r["status"] for s, r in first.items()} == {"reddit": "ok", "blog": "ok", "ios": "ok"}
    before = counts(settings)
    assert before == {"reddit": 3, "blog": 11, "ios": 120}  # 1 post + 2 comments, 3 posts + 8 comments, 120 reviews
    with open_warehouse(settings.paths.warehouse) as con:
        cursor_before = con.execute("SELECT cursor FROM core.source_cursors WHERE source = 'reddit'").fetchone()
    sandbox.set_fault(prefix, fault)
    with open_warehouse(settings.paths.warehouse) as con:  # make the thread due again so /comments/ is requested
        con.execute("UPDATE core.source_cursors SET cursor = '{}' WHERE source = 'reddit'")
    second = run_all(settings, "run-2")
    assert second["reddit"]["status"] == "failed" and second["reddit"]["error"].startswith("reddit: ")
    assert second["blog"]["status"] == "ok" and second["ios"]["status"] == "ok"
    assert counts(settings) == before
    with open_warehouse(settings.paths.warehouse) as con:
        row = con.execute("SELECT status, error FROM core.source_runs WHERE run_id = 'run-2' AND source = 'reddit'").fetchone()
        assert row[0] == "failed" and row[1] == second["reddit"]["error"]
        assert cursor_before[0] != "{}"
        assert con.execute("SELECT cursor FROM core.source_cursors WHERE source = 'reddit'").fetchone()[0] == "{}"


def test_budget_end_is_recorded_as_partial(setup):
    sandbox, settings = setup
    settings = load_settings(settings.file.write_text(settings.file.read_text().replace(
        'subreddits = ["redditdev"]', 'subreddits = ["redditdev"]\nrequest_budget = 2')) and settings.file)
    result = run_all(settings, "run-1")
    assert result["reddit"]["status"] == "partial" and "budget of 2" in result["reddit"]["error"]
    with open_warehouse(settings.paths.warehouse) as con:
        assert con.execute("SELECT status FROM core.source_runs WHERE source = 'reddit'").fetchone()[0] == "partial"
