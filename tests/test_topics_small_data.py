"""Any amount of data works: 0, a dozen, 30 and 200 posts; one language; one channel. Too few posts is a
state ("not enough posts yet") in the stage result, `listen status` and the report, never a failed run, and
no run leaves a model folder that nothing refers to."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

START = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)


def _agnews(n: int) -> list[str]:
    shared = Path(os.environ.get("LISTEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    with (shared / "en_topic_agnews" / "en_topic_agnews.shared.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] in ("sports", "business", "world")]
    # alternate the labels so any prefix has all three subjects
    by_label = {label: [r["text"] for r in rows if r["label"] == label] for label in ("sports", "business", "world")}
    return [by_label[label][i // 3] for i, label in zip(range(n), ["sports", "business", "world"] * n)]


@pytest.fixture
def make_settings(write_config):
    from pipelines.config import load_settings

    def _make(extra: str = "") -> object:
        return load_settings(write_config(
            '[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nembedding = "tfidf"\n' + extra))

    return _make


def _warehouse(settings):
    from pipelines.warehouse import connect, initialise

    con = connect(settings.paths.warehouse)
    initialise(con)
    return con


def _insert(con, texts: list[str], lang: str = "en", channel: str = "reddit") -> None:
    for i, text in enumerate(texts):
        created = START + timedelta(hours=i)
        con.execute(
            """INSERT INTO core.posts (post_id, source, channel, native_id, community, kind, created_at, fetched_at,
                   first_loaded_at, body, content_hash, run_id, lang, sentiment, enriched_at)
               VALUES (?, 'src', ?, ?, 'c1', 'post', ?, ?, ?, ?, ?, 'r1', ?, 0, now())""",
            [f"src:{i}", channel, str(i), created, created, created, text, str(i), lang],
        )


def _model_folders(settings) -> list[str]:
    folder = Path(settings.paths.models)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("posts", [0, 12])
def test_too_few_posts_is_a_waiting_state_not_a_failure(make_settings, posts):
    from pipelines.topics.stage import assign_new_posts, topics_state

    settings = make_settings()
    con = _warehouse(settings)
    _insert(con, _agnews(posts))
    result = assign_new_posts(con, settings)
    assert result["state"] == "waiting" and result["assigned"] == 0
    assert f"{posts} of the 30 needed" in result["reason"] or (posts == 0 and "no enriched posts" in result["reason"])
    state = topics_state(con)
    assert state["state"] == "waiting" and state["posts"] == posts and state["needed"] == 30
    assert _model_folders(settings) == []
    # the next run with nothing new does not try again, and nothing is assigned yet
    assert assign_new_posts(con, settings)["state"] == "waiting"
    assert con.execute("SELECT count(*) FROM core.topic_fit_attempts").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM core.posts WHERE topic_assigned_at IS NOT NULL").fetchone()[0] == 0


def test_thirty_posts_in_one_language_and_one_channel_get_topics(make_settings):
    from pipelines.topics.fit import auto_min_topic_size
    from pipelines.topics.stage import assign_new_posts, topics_state

    settings = make_settings()
    con = _warehouse(settings)
    _insert(con, _agnews(30), lang="da", channel="appstore")
    result = assign_new_posts(con, settings)
    assert result["fitted"] and result["refit"]["min_topic_size"] == auto_min_topic_size(30) == 3
    assert result["refit"]["topics"] >= 2
    assert con.execute("SELECT count(*) FROM core.posts WHERE topic_assigned_at IS NULL").fetchone()[0] == 0
    assert topics_state(con)["state"] == "fitted"
    assert _model_folders(settings) == [result["model_version"]]
    labels = con.execute("SELECT labels FROM core.topics").fetchall()
    assert all(set(l) == {"da"} for (l,) in labels)  # one language: one label each, in it


def test_no_topic_among_the_posts_leaves_no_model_folder_and_no_crash(make_settings):
    """The crash a new install hit: no cluster reached min_topic_size, then an empty lineage insert failed."""
    from pipelines.topics.stage import assign_new_posts, refit, topics_state

    settings = make_settings("min_topic_size = 31\n")  # larger than the window: no topic can form
    con = _warehouse(settings)
    _insert(con, _agnews(30))
    result = assign_new_posts(con, settings)
    assert result["state"] == "no_topics" and "no 31 of the 30 posts" in result["reason"]
    assert topics_state(con)["state"] == "no_topics"
    assert _model_folders(settings) == []
    assert con.execute("SELECT count(*) FROM core.topic_models").fetchone()[0] == 0
    assert refit(con, settings, force=True)["state"] == "no_topics"  # forced: tries again, same answer


def test_two_hundred_posts_fit_once_and_a_failed_record_removes_the_folder(make_settings, monkeypatch):
    import pipelines.topics.stage as stage

    settings = make_settings()
    con = _warehouse(settings)
    _insert(con, _agnews(200))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while recording topics")

    monkeypatch.setattr(stage, "_write_topics", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        stage.refit(con, settings, force=True)
    assert _model_folders(settings) == []  # the saved folder went again: nothing refers to it
    assert con.execute("SELECT count(*) FROM core.topic_models").fetchone()[0] == 0
    monkeypatch.undo()
    first = stage.assign_new_posts(con, settings)
    assert first["fitted"] and first["refit"]["documents"] == 200
    assert stage.assign_new_posts(con, settings)["fitted"] is False
    assert _model_folders(settings) == [first["model_version"]]


def test_a_model_from_an_older_release_is_replaced_and_its_folder_pruned(make_settings):
    from pipelines.topics.stage import assign_new_posts, refit_due

    settings = make_settings()
    con = _warehouse(settings)
    _insert(con, _agnews(40))
    old = Path(settings.paths.models) / "20250101T000000000000Z"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text('{"format": 1}', encoding="utf-8")
    (old / "model.safetensors").write_bytes(b"old")
    con.execute("INSERT INTO core.topic_models VALUES ('20250101T000000000000Z', now() - INTERVAL 1 DAY, NULL, NULL, "
                "10, ?, '{}', '{}')", [str(old)])
    assert refit_due(con, settings).startswith("no loadable model")
    result = assign_new_posts(con, settings)
    assert result["fitted"]
    assert _model_folders(settings) == [result["model_version"]]


def test_status_and_report_say_not_enough_posts_yet(make_settings, tmp_path):
    from rich.console import Console

    from pipelines.console import print_status
    from pipelines.report import write_report
    from pipelines.topics.stage import assign_new_posts

    settings = make_settings()
    con = _warehouse(settings)
    _insert(con, _agnews(12))
    assign_new_posts(con, settings)
    con.close()
    console = Console(record=True, width=200)
    print_status(settings, console)
    assert "not enough posts yet: 12 of the 30 needed" in console.export_text()
    expected = {"en": "Not enough posts yet to find topics: 12 of the 30 needed",
                "da": "Endnu ikke nok indlæg til at finde emner: 12 af de 30 nødvendige",
                "de": "Noch nicht genug Beiträge, um Themen zu finden: 12 von 30 nötigen"}
    for lang, sentence in expected.items():
        written = write_report(settings, as_of=(START + timedelta(days=1)).date(), days=7, formats=["md"],
                               out=tmp_path / lang, lang=lang)
        text = written["files"][0].read_text(encoding="utf-8")
        assert sentence in text
