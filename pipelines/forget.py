"""Right to be forgotten and retention: remove a person's or a post's data everywhere we keep it.

    >>> forget_author(settings, "KarenH", "r-denmark")     # every post that handle wrote on that source
    >>> forget_url(settings, "https://www.reddit.com/r/Denmark/comments/abc/x/")
    >>> apply_retention(settings)                             # what the daily run does per source

"Everywhere" means: core.posts, embeddings, quarantine, follow-up marks, topic representative ids, trend
counts of the affected days (recomputed at once by forget; after retention by the daily run's trends stage), the
landing zone (raw records are rewritten without the person's records), and the snapshot. DuckDB keeps freed
pages in its file, so the warehouse is rewritten into a fresh file after a deletion: the deleted text is then gone
from disk, not only from the tables.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa

from pipelines.config import Settings
from pipelines.errors import ListenError
from pipelines.landing import list_landed, rewrite_landed
from pipelines.pseudonyms import load_or_create_key, normalise_handle, pseudonymise
from pipelines.sources import source_module
from pipelines.topics.trends import update_topic_trends
from pipelines.warehouse import connect, initialise, publish_snapshot, transaction


class ForgetError(ListenError):
    """Nothing matched, or the data could not be removed; says what to check."""


def _delete_posts(con, post_ids: list[str]) -> dict:
    """Delete posts by id from every core table; their days are marked for the next topic_trends refresh."""
    if not post_ids:
        return {"posts": 0}
    con.register("forget_ids", pa.table({"post_id": pa.array(post_ids, pa.string())}))
    try:
        counts = {}
        with transaction(con):
            con.execute("""INSERT OR IGNORE INTO core.topic_trends_stale
                           SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::DATE FROM core.posts
                           WHERE post_id IN (SELECT post_id FROM forget_ids) AND created_at IS NOT NULL""")
            for table in ("post_embeddings", "post_signatures", "quarantine", "follow_up_done", "posts"):
                counts[table] = con.execute(
                    f"DELETE FROM core.{table} WHERE post_id IN (SELECT post_id FROM forget_ids)").fetchone()[0]
            con.execute("""UPDATE core.topics SET representative_ids = list_filter(representative_ids,
                                                            lambda x: NOT list_contains(gone.ids, x))
                           FROM (SELECT list(post_id) AS ids FROM forget_ids) gone
                           WHERE len(list_intersect(representative_ids, gone.ids)) > 0""")
    finally:
        con.unregister("forget_ids")
    return {"posts": counts["posts"], "embeddings": counts["post_embeddings"]}


def _compact(settings: Settings, con) -> None:
    """Rewrite the warehouse into a fresh file so deleted rows leave no trace in free pages, then swap it in."""
    fresh = settings.paths.warehouse.with_name(f".{settings.paths.warehouse.name}.compact")
    fresh.unlink(missing_ok=True)
    con.execute("ATTACH '" + str(fresh).replace("'", "''") + "' AS listen_compact")
    source = con.execute("SELECT current_database()").fetchone()[0]
    con.execute(f'COPY FROM DATABASE "{source}" TO listen_compact')
    con.execute("DETACH listen_compact")
    con.close()
    os.replace(fresh, settings.paths.warehouse)
    Path(f"{settings.paths.warehouse}.wal").unlink(missing_ok=True)


def _scrub_landing(settings: Settings, source_name: str, matches) -> int:
    """Rewrite the source's landed files without the records for which matches(normalised post) is true."""
    config = settings.source(source_name)
    module = source_module(config.kind)
    removed = 0

    def keep(raw: dict) -> bool:
        try:
            post = module.normalise(config, raw)
        except Exception:
            return True
        return not (post and matches(post))

    for path in list_landed(settings.paths.landing, source_name):
        removed += rewrite_landed(path, keep)
    return removed


def _finish(settings: Settings, con, summary: dict) -> dict:
    update_topic_trends(con)  # the deleted posts leave the trend counts of their days
    _compact(settings, con)
    fresh = connect(settings.paths.warehouse)
    try:
        initialise(fresh)
        if settings.paths.snapshot.exists():
            publish_snapshot(fresh, settings.paths.warehouse, settings.paths.snapshot)
            summary["snapshot"] = "republished"
    finally:
        fresh.close()
    return summary


def forget_author(settings: Settings, handle: str, source: str) -> dict:
    """Remove everything `handle` wrote on `source` (handles are only unique within a source)."""
    config = settings.source(source)
    key = load_or_create_key(settings.paths.key_file, create=False)
    pseudonym = pseudonymise(handle, key)
    if pseudonym is None:
        raise ForgetError(f"{handle!r} is not a person's handle (anonymous/deleted authors have no data to forget)")
    wanted = normalise_handle(handle)
    con = connect(settings.paths.warehouse)
    initialise(con)
    ids = [r[0] for r in con.execute(
        "SELECT post_id FROM core.posts WHERE source = ? AND author_key = ?", [config.name, pseudonym]).fetchall()]
    summary = {"author": "(pseudonym " + pseudonym + ")", "source": config.name, **_delete_posts(con, ids)}
    summary["landing_records"] = _scrub_landing(settings, config.name,
                                                lambda post: normalise_handle(post.get("author")) == wanted)
    if not summary["posts"] and not summary["landing_records"]:
        con.close()
        raise ForgetError(f"no data from that author on source {config.name!r}: check the handle's spelling as shown "
                          f"on the source")
    return _finish(settings, con, summary)


def forget_url(settings: Settings, url: str) -> dict:
    """Remove the post whose permalink is `url` (from whichever source holds it)."""
    con = connect(settings.paths.warehouse)
    initialise(con)
    found = con.execute("SELECT post_id, source FROM core.posts WHERE url = ? OR url = ?",
                        [url, url.rstrip("/") if url.endswith("/") else url + "/"]).fetchall()
    summary = {"url": url, **_delete_posts(con, [r[0] for r in found])}
    landing = 0
    for source in sorted({r[1] for r in found} or {s.name for s in settings.sources}):
        landing += _scrub_landing(settings, source, lambda post: (post.get("url") or "").rstrip("/") == url.rstrip("/"))
    summary["landing_records"] = landing
    if not summary["posts"] and not landing:
        con.close()
        raise ForgetError(f"no post with url {url!r} is stored; copy the permalink exactly as `listen sql` shows it")
    return _finish(settings, con, summary)


def apply_retention(settings: Settings, con, today: dt.date | None = None) -> dict:
    """Delete posts (and landed files) older than each source's retention_days. Called by the daily run."""
    today = today or dt.date.today()
    removed = {}
    for config in settings.sources:
        if not config.retention_days:
            continue
        cutoff = today - dt.timedelta(days=config.retention_days)
        ids = [r[0] for r in con.execute(
            "SELECT post_id FROM core.posts WHERE source = ? AND CAST(created_at AS DATE) < ?",
            [config.name, cutoff]).fetchall()]
        result = _delete_posts(con, ids)
        files = 0
        for path in list_landed(settings.paths.landing, config.name):
            day = path.rstrip("/").split("/")[-2]
            try:
                landed_day = dt.date.fromisoformat(day)
            except ValueError:
                continue
            if landed_day < cutoff:
                files += rewrite_landed(path, lambda raw: False) and 1
        removed[config.name] = {"posts": result["posts"], "landing_files": files}
    return removed
