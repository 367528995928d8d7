"""topic_trends is refreshed by the SQL in sql/refresh/, once, for the days that changed; the text of a post is one
SQL macro."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.topics.trends import update_topic_trends

UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 20)


def add_post(con, post_id: str, day: dt.date = DAY, topic: int | None = 1, channel: str = "feed", **extra) -> None:
    row = {"post_id": post_id, "source": "blog", "channel": channel, "native_id": post_id, "community": "Blog",
           "kind": "post", "created_at": dt.datetime.combine(day, dt.time(10), tzinfo=UTC),
           "fetched_at": dt.datetime.now(UTC), "first_loaded_at": dt.datetime.now(UTC), "body": f"text {post_id}",
           "content_hash": post_id, "run_id": "r1", "sentiment": 0.5, "topic_id": topic, **extra}
    con.execute(f"INSERT INTO core.posts ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def trends(con, day: dt.date = DAY) -> list[tuple]:
    return con.execute("SELECT channel, community, topic_id, posts, share FROM core.topic_trends WHERE day = ? "
                       "ORDER BY ALL", [day]).fetchall()


def test_counts_each_post_once_and_shares_sum_to_one_per_channel_day(warehouse):
    for n in range(3):
        add_post(warehouse, f"blog:{n}")
    add_post(warehouse, "blog:none", topic=None)
    add_post(warehouse, "blog:copy", duplicate_of="blog:0")
    add_post(warehouse, "blog:gone", is_deleted=True)
    add_post(warehouse, "blog:held")
    warehouse.execute("INSERT INTO core.quarantine VALUES ('blog:held', 'r1', 'posts', 'e', now(), NULL)")
    add_post(warehouse, "app:1", channel="appstore", topic=2)
    refreshed = update_topic_trends(warehouse)
    assert refreshed == {"days": [DAY], "rows": 3}
    assert trends(warehouse) == [("appstore", "Blog", 2, 1, 1.0), ("feed", "Blog", -1, 1, 0.25),
                                 ("feed", "Blog", 1, 3, 0.75)]


def test_recounts_only_the_days_that_changed_since_the_last_refresh(warehouse):
    other = DAY - dt.timedelta(days=3)
    add_post(warehouse, "blog:1")
    add_post(warehouse, "blog:old", day=other)
    update_topic_trends(warehouse)
    assert update_topic_trends(warehouse) == {"days": [], "rows": 0}
    # the topics stage moves one post: only its day is recomputed
    warehouse.execute("UPDATE core.posts SET topic_id = 7, changed_at = now() WHERE post_id = 'blog:1'")
    warehouse.execute("UPDATE core.topic_trends SET posts = 99 WHERE day = ?", [other])  # would be rewritten if read
    assert update_topic_trends(warehouse)["days"] == [DAY]
    assert trends(warehouse) == [("feed", "Blog", 7, 1, 1.0)] and trends(warehouse, other)[0][3] == 99


def test_a_post_quarantined_after_a_refresh_leaves_its_days_count(warehouse):
    add_post(warehouse, "blog:1")
    add_post(warehouse, "blog:2")
    update_topic_trends(warehouse)
    warehouse.execute("INSERT INTO core.quarantine VALUES ('blog:2', 'r2', 'posts', 'e', now(), NULL)")
    assert update_topic_trends(warehouse)["days"] == [DAY]
    assert trends(warehouse) == [("feed", "Blog", 1, 1, 1.0)]


def test_retention_marks_its_days_and_the_next_refresh_recounts_them(warehouse, write_config):
    from pipelines.config import load_settings
    from pipelines.forget import apply_retention

    old = DAY - dt.timedelta(days=400)
    add_post(warehouse, "blog:new")
    add_post(warehouse, "blog:old", day=old)
    update_topic_trends(warehouse)
    assert trends(warehouse, old)
    settings = load_settings(write_config('[[sources]]\nname = "blog"\nkind = "feed"\nurl = "http://127.0.0.1:9/f"\n'
                                          'retention_days = 30\n'))
    assert apply_retention(settings, warehouse, DAY)["blog"]["posts"] == 1
    assert trends(warehouse, old), "retention leaves the recount to the daily run's trends stage"
    assert update_topic_trends(warehouse)["days"] == [old]
    assert trends(warehouse, old) == [] and trends(warehouse) == [("feed", "Blog", 1, 1, 1.0)]


def test_explicit_days_are_recounted_whatever_changed(warehouse):
    add_post(warehouse, "blog:1")
    update_topic_trends(warehouse)
    warehouse.execute("DELETE FROM core.topic_trends")
    assert update_topic_trends(warehouse, days=[DAY]) == {"days": [DAY], "rows": 1}


@pytest.mark.parametrize("title, body, text", [
    ("Login broken", "Since the update I cannot log in.", "Login broken\n\nSince the update I cannot log in."),
    ("Ba Dum Tsss", "Ba Dum Tsss", "Ba Dum Tsss"),                  # a link post carries its title as body
    ("  Titel ", " Titel\n", "Titel"),                               # the same, with whitespace around it
    ("\u200bHej\u00a0", "\tHej", "Hej"),                              # zero-width and no-break spaces
    (None, "  Nur Text  ", "Nur Text"),
    ("Kun titel", None, "Kun titel"),
    ("   ", "", ""),
    (None, None, ""),                                               # a deleted post
])
def test_the_text_of_a_post_is_one_rule(warehouse, title, body, text):
    assert warehouse.execute("SELECT core.post_text(?, ?)", [title, body]).fetchone()[0] == text
