"""Near-duplicate flagging over core.posts, by run."""

from __future__ import annotations

import datetime as dt

from pipelines.dedupe import mark_near_duplicates

TEXT = "The new sync engine lost my notes twice this week and support never answered my ticket about it"


def add(con, post_id, body, run_id, minutes=0, title=None):
    stamp = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=minutes)
    con.execute("""INSERT INTO core.posts (post_id, source, channel, native_id, kind, created_at, fetched_at,
                   first_loaded_at, title, body, content_hash, run_id)
                   VALUES (?, 's', 'feed', ?, 'post', ?, ?, ?, ?, ?, 'h', ?)""",
                [post_id, post_id, stamp, stamp, stamp, title, body, run_id])


def duplicate_of(con, post_id):
    return con.execute("SELECT duplicate_of FROM core.posts WHERE post_id = ?", [post_id]).fetchone()[0]


def test_cross_posts_are_flagged_against_earlier_runs_and_within_a_run(warehouse):
    add(warehouse, "a", TEXT, "run1")
    add(warehouse, "other", "A completely different complaint about the billing page being slow on mobile", "run1")
    assert mark_near_duplicates(warehouse, "run1") == 0
    add(warehouse, "b", "RT: " + TEXT.upper() + " https://t.co/xyz", "run2", minutes=5)   # syndicated copy
    add(warehouse, "c", "[Cross-post] " + TEXT, "run2", minutes=6)                          # near, not exact
    add(warehouse, "d", "thanks!", "run2", minutes=7)
    add(warehouse, "e", "thanks!", "run2", minutes=8)                                        # too short to judge
    assert mark_near_duplicates(warehouse, "run2") == 2
    assert duplicate_of(warehouse, "b") == "a" and duplicate_of(warehouse, "c") == "a"
    assert duplicate_of(warehouse, "e") is None and duplicate_of(warehouse, "other") is None
    assert mark_near_duplicates(warehouse, "run2") == 2  # idempotent: a replayed run flags the same posts


def test_lookups_use_the_signature_index_not_history(warehouse):
    for n in range(50):
        add(warehouse, f"h{n}", f"history post number {n} about topic {n * 7} with enough words to be judged", "old")
    mark_near_duplicates(warehouse, "old")
    add(warehouse, "new", "history post number 3 about topic 21 with enough words to be judged", "today", minutes=9)
    assert mark_near_duplicates(warehouse, "today") == 1
    assert duplicate_of(warehouse, "new") == "h3"
    assert warehouse.execute("SELECT count(*) FROM core.post_signatures").fetchone()[0] == 51 * 8
