"""Closing the loop: answered follow-ups leave the queue (and the snapshot at once), actions are stored and
listed with the topic's trend, unknown ids fail with a next step."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "data" / "report"))
import fixture_warehouse  # noqa: E402

from pipelines.loop import LoopError, add_action, list_actions, mark_follow_up_done  # noqa: E402
from pipelines.warehouse import open_warehouse, publish_snapshot, query_snapshot  # noqa: E402

TODAY = dt.datetime.now(dt.timezone.utc).date()


@pytest.fixture
def install(write_config):
    settings, facts = fixture_warehouse.install(write_config, TODAY)
    with open_warehouse(settings.paths.warehouse) as con:
        publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)
    return settings, facts


def _queue(settings) -> list[str]:
    return [r[0] for r in query_snapshot(settings.paths.snapshot, "SELECT post_id FROM follow_ups")[1]]


def test_follow_up_done_leaves_the_queue_in_the_snapshot_at_once(install):
    settings, _ = install
    first = _queue(settings)[0]
    mark_follow_up_done(settings, first, "answered in thread")
    assert first not in _queue(settings)
    _, rows = query_snapshot(settings.paths.snapshot, "SELECT note FROM core.follow_up_done WHERE post_id = ?", [first])
    assert rows == [("answered in thread",)]


def test_marking_twice_keeps_the_first_note(install):
    settings, _ = install
    first = _queue(settings)[0]
    mark_follow_up_done(settings, first, "called back")
    mark_follow_up_done(settings, first, None)
    _, rows = query_snapshot(settings.paths.snapshot, "SELECT note FROM core.follow_up_done WHERE post_id = ?", [first])
    assert rows == [("called back",)]


def test_unknown_post_id_is_a_loop_error_with_a_hint(install):
    settings, _ = install
    with pytest.raises(LoopError, match=r"no post with id 'p003'.*Did you mean .*r-de:p003.*listen follow-up list"):
        mark_follow_up_done(settings, "p003", None)


def test_unknown_ids_and_empty_text_exit_2_as_usage_mistakes(install, capsys):
    from pipelines.cli import main

    settings, _ = install
    config = ["--config", str(settings.file)]
    assert main([*config, "follow-up", "done", "p003"]) == 2
    assert "no post with id 'p003'" in capsys.readouterr().err
    assert main([*config, "action", "add", "--topic", "99", "something"]) == 2
    assert "no topic with id 99" in capsys.readouterr().err
    assert main([*config, "action", "add", "--topic", "2", "  "]) == 2
    assert "the action text is empty" in capsys.readouterr().err


def test_add_action_is_listed_with_before_and_after(install):
    settings, _ = install
    action_id = add_action(settings, 2, "  Roll back the login update  ", owner="app team",
                           decided_at=TODAY - dt.timedelta(days=3))
    columns, rows = list_actions(settings)
    assert columns[:6] == ["action_id", "topic_id", "label", "decided", "text", "owner"]
    row = dict(zip(columns, next(r for r in rows if r[0] == action_id)))
    assert (row["topic_id"], row["label"], row["text"], row["owner"]) == (2, "app login crash",
                                                                          "Roll back the login update", "app team")
    assert row["decided"] == TODAY - dt.timedelta(days=3)
    _, expect = query_snapshot(settings.paths.snapshot, """
        SELECT sum(posts) FILTER (WHERE day < ?), sum(posts) FILTER (WHERE day >= ?)
        FROM topic_trends WHERE topic_id = 2 AND day BETWEEN ? AND ?""",
        [row["decided"], row["decided"], row["decided"] - dt.timedelta(days=28), row["decided"] + dt.timedelta(days=27)])
    before, after = expect[0]
    assert row["per_day_before"] == pytest.approx(before / 28, abs=1e-3)
    assert row["per_day_after"] == pytest.approx(after / 4, abs=1e-3)  # decided 3 days ago: 4 days observed


def test_action_on_unknown_topic_names_the_known_ones(install):
    settings, _ = install
    with pytest.raises(LoopError, match=r"no topic with id 99\. Largest active topics: 2 app login crash"):
        add_action(settings, 99, "something", None, None)


def test_empty_action_text_is_refused(install):
    settings, _ = install
    with pytest.raises(LoopError, match="empty"):
        add_action(settings, 2, "   ", None, None)


def test_loop_without_warehouse_says_what_to_run(settings):
    with pytest.raises(LoopError, match="listen init"):
        mark_follow_up_done(settings, "x:1", None)
    with pytest.raises(LoopError, match="listen init"):
        list_actions(settings)
