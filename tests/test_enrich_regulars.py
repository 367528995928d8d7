"""Regulars vs newcomers: posts.is_regular and the voices view (sql/views), across channels by pseudonym."""

from __future__ import annotations


def add_post(con, post_id, author_key, channel, created_at):
    con.execute(
        """INSERT INTO core.posts (post_id, source, channel, native_id, kind, author_key, created_at, fetched_at,
                                   first_loaded_at, body, content_hash, run_id)
           VALUES (?, ?, ?, ?, 'post', ?, ?::TIMESTAMPTZ, now(), now(), 'x', md5(?), 'run-1')""",
        [post_id, channel, channel, post_id, author_key, created_at, post_id],
    )


def test_author_seen_on_an_earlier_day_in_another_channel_is_regular(warehouse):
    add_post(warehouse, "reddit:1", "k1", "reddit", "2026-03-01 10:00:00+00")
    add_post(warehouse, "feed:2", "k1", "feed", "2026-03-03 09:00:00+00")
    rows = dict(warehouse.execute("SELECT post_id, is_regular FROM posts").fetchall())
    assert rows == {"reddit:1": False, "feed:2": True}


def test_several_posts_on_the_first_day_are_not_regular(warehouse):
    add_post(warehouse, "reddit:1", "k2", "reddit", "2026-03-01 10:00:00+00")
    add_post(warehouse, "reddit:2", "k2", "reddit", "2026-03-01 18:00:00+00")
    assert warehouse.execute("SELECT bool_or(is_regular) FROM posts").fetchone()[0] is False


def test_voices_summarise_each_pseudonym_across_channels(warehouse):
    add_post(warehouse, "reddit:1", "k3", "reddit", "2026-03-01 10:00:00+00")
    add_post(warehouse, "feed:2", "k3", "feed", "2026-03-04 10:00:00+00")
    add_post(warehouse, "reddit:3", "k4", "reddit", "2026-03-02 10:00:00+00")
    voices = {row[0]: row[1:] for row in warehouse.execute(
        "SELECT author_key, posts, channels, is_regular FROM voices ORDER BY author_key").fetchall()}
    assert voices == {"k3": (2, ["feed", "reddit"], True), "k4": (1, ["reddit"], False)}
