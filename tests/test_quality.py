"""Quality gates: each planted defect is caught by its expectation, good data passes, quarantine hides rows."""

from __future__ import annotations

import datetime as dt
import socket

import pandas as pd
import pytest

from pipelines.quality import check_trends, run_quality_checks
from pipelines.quality.suites import posts_checks, topics_checks, trends_checks

NOW = dt.datetime(2026, 11, 21, 6, 30, tzinfo=dt.timezone.utc)
RUN = "2026-11-21T063000Z-aaaa"


def add_post(con, post_id: str, run_id: str = RUN, **overrides) -> None:
    """Insert one good, enriched post; overrides plant a defect."""
    row = {"post_id": post_id, "source": "blog", "channel": "feed", "native_id": post_id.split(":")[-1],
           "community": "Blog", "kind": "comment", "url": f"https://example.org/{post_id}", "author_key": "k1",
           "created_at": NOW - dt.timedelta(hours=3), "fetched_at": NOW, "first_loaded_at": NOW,
           "title": "Checkout", "body": "The checkout keeps failing on my phone.", "content_hash": "h",
           "is_deleted": False, "run_id": run_id, "lang": "en", "sentiment": -0.4, "sentiment_label": "negative",
           "intent": "complaint", "enriched_at": NOW}
    row.update(overrides)
    columns = ", ".join(row)
    con.execute(f"INSERT INTO core.posts ({columns}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def add_topic(con, topic_id: int, label: str = "checkout errors") -> None:
    con.execute("INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, "
                "model_version, representative_ids) VALUES (?, ?, ['checkout'], 3, ?, ?, 'active', 'm1', [])",
                [topic_id, label, NOW, NOW])


DAY = (NOW - dt.timedelta(hours=3)).date()


def add_trend(con, share: float, topic_id: int = 1) -> None:
    con.execute("INSERT INTO core.topic_trends VALUES (?, 'feed', 'Blog', ?, 2, ?, -0.2, 1)", [DAY, topic_id, share])


@pytest.fixture
def good(warehouse):
    """A warehouse holding a clean day: posts (one deleted, one without url, one not enriched), topics, trends."""
    for n in range(5):
        add_post(warehouse, f"blog:{n}")
    add_post(warehouse, "blog:deleted", body=None, is_deleted=True, author_key=None)
    add_post(warehouse, "blog:nourl", url=None, lang="und")
    add_post(warehouse, "blog:fresh", lang=None, sentiment=None, sentiment_label=None, intent=None, enriched_at=None)
    add_topic(warehouse, 1)
    add_topic(warehouse, 2, "delivery times")
    add_trend(warehouse, 0.6)
    add_trend(warehouse, 0.4, topic_id=2)
    return warehouse


def failed(summary) -> dict:
    return {r["expectation"]: r for r in summary["results"] if not r["success"]}


def visible_ids(con) -> set:
    return {row[0] for row in con.execute("SELECT post_id FROM posts").fetchall()}


def test_good_data_passes_every_expectation(good):
    summary = run_quality_checks(good, RUN, now=NOW)
    trends = check_trends(good, RUN, [DAY], now=NOW)
    assert failed(summary) == {} and failed(trends) == {}
    assert summary["critical_failures"] == 0 and summary["quarantined"] == 0 and trends["critical_failures"] == 0
    assert len(summary["results"]) == len(posts_checks(NOW)) + len(topics_checks())
    assert len(trends["results"]) == len(trends_checks())
    assert summary["rows_checked"] == {"posts": 8, "topics": 2} and trends["rows_checked"] == {"topic_trends": 2}
    stored = good.execute("SELECT count(*), count(*) FILTER (WHERE success) FROM core.quality_results "
                          "WHERE run_id = ?", [RUN]).fetchone()
    assert stored == (len(summary["results"]) + len(trends["results"]),) * 2
    run_quality_checks(good, RUN, now=NOW)  # a retry of the check keeps the trend suite's results
    assert good.execute("SELECT count(*) FROM core.quality_results WHERE run_id = ?", [RUN]).fetchone() == stored[:1]


ROW_DEFECTS = [
    ("expect_column_values_to_be_between(created_at)", {"created_at": NOW + dt.timedelta(hours=5)}),
    ("expect_column_values_to_be_in_set(lang)", {"lang": "klingon"}),
    ("expect_column_values_to_be_between(sentiment)", {"sentiment": 1.7}),
    ("expect_column_value_lengths_to_be_between(body_chars)", {"body": " \n\u00a0\u200b "}),
    ("expect_column_values_to_match_regex(url)", {"url": "javascript:alert(1)"}),
    ("expect_column_values_to_be_in_set(channel)", {"channel": "fax"}),
]


@pytest.mark.parametrize("expectation, defect", ROW_DEFECTS, ids=[e for e, _ in ROW_DEFECTS])
def test_row_defect_is_caught_and_quarantined(good, expectation, defect):
    add_post(good, "blog:bad", **defect)
    summary = run_quality_checks(good, RUN, now=NOW)
    assert set(failed(summary)) == {expectation}
    assert failed(summary)[expectation]["unexpected_count"] == 1
    assert summary["critical_failures"] == 0, "one bad row is quarantined, not a reason to stop publishing"
    held = good.execute("SELECT post_id, expectation, json_extract_string(row_data, '$.post_id') "
                        "FROM core.quarantine").fetchall()
    assert held == [("blog:bad", expectation, "blog:bad")]
    assert "blog:bad" not in visible_ids(good) and "blog:0" in visible_ids(good)


def test_missing_post_id_is_critical():
    from pipelines.quality.gx_runner import validate_frame

    frame = pd.DataFrame({"post_id": ["a", None], "channel": ["feed", "feed"]})
    checks = [c for c in posts_checks(NOW) if c.column == "post_id"]
    outcomes = {o.check.expectation: o for o in validate_frame(checks, frame, "post_id")}
    null = outcomes["expect_column_values_to_not_be_null(post_id)"]
    assert (null.success, null.unexpected_count, null.critical) == (False, 1, True)
    assert outcomes["expect_column_values_to_be_unique(post_id)"].success


def test_duplicate_post_id_is_critical():
    # core.posts has post_id as primary key, so the duplicate is planted in the frame GX sees.
    from pipelines.quality.gx_runner import validate_frame

    frame = pd.DataFrame({"post_id": ["a", "b", "b"]})
    checks = [c for c in posts_checks(NOW) if c.column == "post_id"]
    outcomes = {o.check.expectation: o for o in validate_frame(checks, frame, "post_id")}
    unique = outcomes["expect_column_values_to_be_unique(post_id)"]
    assert (unique.success, unique.unexpected_count, unique.critical, unique.failing_ids) == (False, 2, True, ["b"])


def test_duplicate_topic_id_is_critical():
    from pipelines.quality.gx_runner import validate_frame

    frame = pd.DataFrame({"topic_id": [1, 2, 2], "label": ["a", "b", "c"], "label_chars": ["a", "b", "c"]})
    outcomes = {o.check.expectation: o for o in validate_frame(topics_checks(), frame, "topic_id")}
    unique = outcomes["expect_column_values_to_be_unique(topic_id)"]
    assert (unique.success, unique.critical) == (False, True)
    assert outcomes["expect_column_value_lengths_to_be_between(label_chars)"].success


def test_blank_topic_label_fails(good):
    add_topic(good, 3, "  \u200b ")
    summary = run_quality_checks(good, RUN, now=NOW)
    assert set(failed(summary)) == {"expect_column_value_lengths_to_be_between(label_chars)"}
    assert summary["quarantined"] == 0


def test_trend_share_out_of_range_blocks_publishing(good, settings):
    from pipelines.daily import publish
    from pipelines.errors import StageFailed

    add_trend(good, 1.25, topic_id=3)
    assert run_quality_checks(good, RUN, now=NOW)["critical_failures"] == 0
    summary = check_trends(good, RUN, [DAY], now=NOW)
    assert set(failed(summary)) == {"expect_column_values_to_be_between(share)"}
    assert summary["critical_failures"] == 1
    good.close()  # publish opens the warehouse itself
    with pytest.raises(StageFailed, match="critical quality expectation"):
        publish(settings, RUN)
    assert not settings.paths.snapshot.exists(), "analysts keep yesterday's snapshot"


def test_broken_stage_is_critical_not_quarantined_away(good):
    for n in range(30):
        add_post(good, f"blog:s{n}", sentiment=3.0)  # the sentiment stage wrote garbage for the whole day
    summary = run_quality_checks(good, RUN, now=NOW)
    assert failed(summary)["expect_column_values_to_be_between(sentiment)"]["critical"]
    assert summary["critical_failures"] == 1


def test_only_rows_changed_since_last_check_are_checked(good):
    run_quality_checks(good, RUN, now=NOW)
    next_run = "2026-11-22T063000Z-bbbb"
    add_post(good, "blog:new", run_id=next_run, enriched_at=NOW + dt.timedelta(days=1))
    summary = run_quality_checks(good, next_run, now=NOW + dt.timedelta(days=1))
    assert summary["rows_checked"]["posts"] == 1


def test_fixed_row_leaves_quarantine_on_recheck(good):
    add_post(good, "blog:bad", sentiment=9.0)
    run_quality_checks(good, RUN, now=NOW)
    assert "blog:bad" not in visible_ids(good)
    next_run = "2026-11-22T063000Z-bbbb"
    good.execute("UPDATE core.posts SET sentiment = 0.2, enriched_at = ? WHERE post_id = 'blog:bad'",
                 [NOW + dt.timedelta(days=1)])
    summary = run_quality_checks(good, next_run, now=NOW + dt.timedelta(days=1))
    assert summary["quarantined"] == 0 and "blog:bad" in visible_ids(good)


def test_retry_of_a_run_replaces_its_results(good):
    first = run_quality_checks(good, RUN, now=NOW)
    run_quality_checks(good, RUN, now=NOW)
    count = good.execute("SELECT count(*) FROM core.quality_results WHERE run_id = ?", [RUN]).fetchone()[0]
    assert count == len(first["results"])


def test_gx_runs_offline_and_writes_no_files(good, tmp_path, monkeypatch):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    attempts = []
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    summary = run_quality_checks(good, RUN, now=NOW)
    assert summary["critical_failures"] == 0
    assert attempts == [], f"GX tried to reach the network: {attempts}"
    assert list(workdir.iterdir()) == [], "GX wrote files into the working directory"
    assert summary["seconds"]["gx"] < 60
