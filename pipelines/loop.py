"""Closing the loop: answered follow-ups leave the queue, decisions are tracked against the topic's trend.

    >>> mark_follow_up_done(settings, "r-denmark:abc123", "answered in thread")
    >>> action_id = add_action(settings, 7, "Add a delivery-status page", owner="web team", decided_at=None)
    >>> columns, rows = list_actions(settings)      # every action with volume/sentiment before and after
    >>> sync_follow_up_scope(con, settings.raw.follow_ups, key)   # own accounts and listen-only places stay out

Each write goes to the warehouse (the single writer) and then republishes the snapshot, so `listen follow-up
list`, `listen sql` and the next report see it at once instead of after the next daily run.
"""

from __future__ import annotations

import datetime as dt

from pipelines.config import Settings
from pipelines.errors import ListenError
from pipelines.warehouse import WarehouseError, open_warehouse, publish_snapshot


class LoopError(ListenError):
    """A follow-up or action cannot be recorded; the message says what to check."""


class LoopUsageError(LoopError):
    """The command names a post or topic that is not stored, or gives no text: a mistake in the command (exit 2)."""

    exit_code = 2


def sync_follow_up_scope(con, follow_ups, key: bytes) -> dict:
    """Rewrite what the follow_ups view leaves out from [follow_ups]: core.own_accounts with the keyed pseudonyms
    of ``own_accounts`` (never the handles), core.listen_only with the lower-cased ``listen_only`` sources and
    communities. Returns how many of each are stored."""
    from pipelines.pseudonyms import pseudonymise

    keys = sorted({pseudonymise(handle, key) for handle in follow_ups.own_accounts} - {None})
    places = sorted({name.strip().lower() for name in follow_ups.listen_only} - {""})
    for table, values in (("core.own_accounts", keys), ("core.listen_only", places)):
        con.execute(f"DELETE FROM {table}")
        if values:
            con.executemany(f"INSERT INTO {table} VALUES (?)", [[v] for v in values])
    return {"own_accounts": len(keys), "listen_only": len(places)}


def _republish(settings: Settings, con) -> None:
    """Refresh the analyst snapshot so the write shows there at once; only when a snapshot already exists.

    A missing snapshot means no daily run has published yet: that run will publish (and quality-gate) it.
    """
    if settings.paths.snapshot.exists():
        publish_snapshot(con, settings.paths.warehouse, settings.paths.snapshot)


def _require_warehouse(settings: Settings) -> None:
    if not settings.paths.warehouse.exists():
        raise LoopError(f"{settings.paths.warehouse} does not exist yet: run `listen init` and `listen run` first")


def mark_follow_up_done(settings: Settings, post_id: str, note: str | None = None) -> None:
    """Record that `post_id` was answered; it leaves the follow_ups view (marking twice updates the note)."""
    _require_warehouse(settings)
    with open_warehouse(settings.paths.warehouse) as con:
        found = con.execute("SELECT 1 FROM core.posts WHERE post_id = ?", [post_id]).fetchone()
        if not found:
            similar = [r[0] for r in con.execute(
                "SELECT post_id FROM core.posts WHERE post_id ILIKE ? ORDER BY post_id LIMIT 3",
                [f"%{post_id.split(':')[-1]}%"]).fetchall()] if post_id else []
            hint = f" Did you mean {', '.join(similar)}?" if similar else ""
            raise LoopUsageError(f"no post with id {post_id!r}.{hint} Post ids look like '<source>:<native id>'; "
                            f"copy one from `listen follow-up list`.")
        con.execute(
            """INSERT INTO core.follow_up_done (post_id, done_at, note) VALUES (?, now(), ?)
               ON CONFLICT (post_id) DO UPDATE SET done_at = excluded.done_at,
                 note = coalesce(excluded.note, core.follow_up_done.note)""",
            [post_id, note],
        )
        _republish(settings, con)


def add_action(settings: Settings, topic_id: int, text: str, owner: str | None = None,
               decided_at: dt.date | None = None) -> int:
    """Record a decision on a topic (decided today unless `decided_at` is given); returns the action id."""
    text = (text or "").strip()
    if not text:
        raise LoopUsageError('the action text is empty: say what was decided, e.g. listen action add --topic 7 "..."')
    _require_warehouse(settings)
    with open_warehouse(settings.paths.warehouse) as con:
        if not con.execute("SELECT 1 FROM core.topics WHERE topic_id = ?", [topic_id]).fetchone():
            known = con.execute(
                "SELECT topic_id, label FROM core.topics WHERE status = 'active' ORDER BY size DESC LIMIT 5"
            ).fetchall()
            listing = "; ".join(f"{tid} {label}" for tid, label in known) or "none yet: run `listen topics`"
            raise LoopUsageError(f"no topic with id {topic_id}. Largest active topics: {listing}. "
                            f"All ids: `listen sql \"SELECT topic_id, label FROM topics\"`.")
        when = dt.datetime.combine(decided_at or dt.date.today(), dt.time(12, 0), tzinfo=dt.timezone.utc)
        action_id = con.execute(
            "INSERT INTO core.actions (topic_id, decided_at, text, owner) VALUES (?, ?, ?, ?) RETURNING action_id",
            [topic_id, when, text, (owner or "").strip() or None],
        ).fetchone()[0]
        _republish(settings, con)
    return int(action_id)


ACTION_LIST_SQL = """
SELECT action_id, topic_id, label, CAST(decided_at AS DATE) AS decided, text, owner,
       per_day_before, per_day_after, sentiment_before, sentiment_after, volume_change
FROM action_outcomes
ORDER BY decided_at DESC, action_id DESC
"""


def list_actions(settings: Settings) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of every action with the topic's posts per day and sentiment before and after.

    Reads the snapshot when there is one (works while a run writes), else the warehouse.
    """
    from pipelines.warehouse import connect

    path = settings.paths.snapshot if settings.paths.snapshot.exists() else settings.paths.warehouse
    if not path.exists():
        raise LoopError(f"{settings.paths.warehouse} does not exist yet: run `listen init` and `listen run` first")
    con = connect(path, read_only=True)
    try:
        has_view = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = 'action_outcomes' AND NOT internal"
        ).fetchone()[0]
        if not has_view:
            raise LoopError(f"{path} predates the action_outcomes view: run `listen run` (or any write, e.g. "
                            f"`listen action add`) to refresh it")
        cur = con.execute(ACTION_LIST_SQL)
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()


__all__ = ["LoopError", "LoopUsageError", "WarehouseError", "add_action", "list_actions", "mark_follow_up_done"]
