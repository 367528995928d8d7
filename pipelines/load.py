"""Landed raw records -> core.posts, with the source's cursor, in ONE transaction.

    >>> result = load_records(con, source_cfg, records, cursor={"etag": "x"}, run=run, key=key)
    >>> result.new, result.fetched
    (12, 40)

Normalisation runs the source module's `normalise`; authors become pseudonyms and personal data is
redacted here, so neither a handle nor an e-mail address ever reaches the warehouse. Rows go in as one
Arrow table (no row-by-row inserts). A rerun of the same records changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from pipelines.enrich.privacy import redact
from pipelines.pseudonyms import pseudonymise
from pipelines.sources import channel_for, source_module
from pipelines.warehouse import WarehouseError, transaction

POST_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("source", pa.string()),
        ("channel", pa.string()),
        ("native_id", pa.string()),
        ("community", pa.string()),
        ("kind", pa.string()),
        ("thread_id", pa.string()),
        ("parent_id", pa.string()),
        ("url", pa.string()),
        ("author_key", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("created_at_estimated", pa.bool_()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("title", pa.string()),
        ("body", pa.string()),
        ("rating", pa.float64()),
        ("lang_hint", pa.string()),
        ("content_hash", pa.string()),
        ("is_deleted", pa.bool_()),
        ("extra", pa.string()),
        ("run_id", pa.string()),
    ]
)
KINDS = {"post", "comment", "review"}
UPDATABLE = [name for name in POST_SCHEMA.names if name not in {"post_id", "created_at", "created_at_estimated"}]


@dataclass
class RunInfo:
    run_id: str
    started_at: dt.datetime
    fetched_at: dt.datetime
    landing_path: str | None = None


@dataclass
class LoadResult:
    source: str
    fetched: int
    new: int
    loaded: int
    warnings: list[str] = field(default_factory=list)


def parse_timestamp(value) -> dt.datetime | None:
    """ISO 8601 string, epoch seconds or datetime -> aware UTC datetime; None if absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, (int, float)):
        stamp = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            try:
                stamp = dt.datetime.fromtimestamp(float(text), tz=dt.timezone.utc)
            except ValueError:
                return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.astimezone(dt.timezone.utc)


def _prefixed(source: str, native: str | None) -> str | None:
    return f"{source}:{native}" if native not in (None, "") else None


def content_hash(title: str | None, body: str | None) -> str:
    return hashlib.sha1(f"{title or ''}\x1f{body or ''}".encode("utf-8")).hexdigest()


# redact() returns a text unchanged unless it holds '@', 'u/' or a digit (its documented fast path); checking
# that with one compiled regex here skips the call for most posts, which made redaction the bulk of load time.
# tests/test_scaling.py checks on real texts that this gives exactly redact()'s output.
_MAY_HOLD_PERSONAL_DATA = re.compile(r"[@\d]|u/")


def redact_text(text: str | None) -> str | None:
    """redact(text), skipping the call for text that cannot hold personal data."""
    return redact(text) if text and _MAY_HOLD_PERSONAL_DATA.search(text) else text


def normalise_records(config, records, run: RunInfo, key: bytes, *, start: int = 0) -> tuple[list[dict], list[str]]:
    """Source records -> warehouse rows; a record that cannot be normalised becomes a warning, not a crash.

    `start` is the index of the first record (for warnings' record numbers when called per chunk).
    """
    module = source_module(config.kind)
    channel = channel_for(config)
    rows: dict[str, dict] = {}
    warnings: list[str] = []
    pseudonyms: dict = {}  # authors repeat within a batch: one HMAC per handle
    for index, raw in enumerate(records, start=start):
        try:
            post = module.normalise(config, raw)
        except Exception as exc:  # one bad record must not stop the others
            warnings.append(f"{config.name}: record {index + 1} skipped: {exc}")
            continue
        if post is None:
            continue
        native = str(post.get("native_id") or "").strip()
        if not native:
            warnings.append(f"{config.name}: record {index + 1} skipped: no id")
            continue
        kind = post.get("kind") or "post"
        if kind not in KINDS:
            warnings.append(f"{config.name}: record {index + 1} skipped: unknown kind {kind!r}")
            continue
        created = parse_timestamp(post.get("created_at"))
        if created is not None and created > run.fetched_at + dt.timedelta(days=1):
            warnings.append(f"{config.name}: record {native}: date {created.isoformat()} is in the future; "
                            f"fetch time used")
            created = None
        deleted = bool(post.get("is_deleted"))
        title = None if deleted else redact_text(post.get("title") or None)
        body = None if deleted else redact_text(post.get("body") or None)
        author = post.get("author")
        if deleted:
            author_key = None
        elif not isinstance(author, str):
            author_key = pseudonymise(author, key)
        elif author in pseudonyms:
            author_key = pseudonyms[author]
        else:
            author_key = pseudonyms[author] = pseudonymise(author, key)
        rating = post.get("rating")
        try:
            rating = float(rating) if rating not in (None, "") else None
        except (TypeError, ValueError):
            warnings.append(f"{config.name}: record {native}: rating {rating!r} is not a number; ignored")
            rating = None
        rows[native] = {
            "post_id": f"{config.name}:{native}",
            "source": config.name,
            "channel": channel,
            "native_id": native,
            "community": config.community or post.get("community") or config.name,
            "kind": kind,
            "thread_id": _prefixed(config.name, post.get("thread_id")),
            "parent_id": _prefixed(config.name, post.get("parent_id")),
            "url": post.get("url") if str(post.get("url") or "").startswith(("http://", "https://")) else None,
            "author_key": author_key,
            "created_at": created or run.fetched_at,
            "created_at_estimated": created is None,
            "fetched_at": run.fetched_at,
            "title": title,
            "body": body,
            "rating": rating,
            "lang_hint": post.get("lang_hint"),
            "content_hash": content_hash(title, body),
            "is_deleted": deleted,
            "extra": json.dumps(post.get("extra") or {}, ensure_ascii=False, default=str),
            "run_id": run.run_id,
        }
    return list(rows.values()), warnings


UPSERT_SQL = f"""
INSERT INTO core.posts ({", ".join(POST_SCHEMA.names)}, first_loaded_at)
SELECT {", ".join(POST_SCHEMA.names)}, fetched_at FROM staged_posts
ON CONFLICT (post_id) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in UPDATABLE if name not in {"author_key", "community"})},
    author_key = CASE WHEN excluded.is_deleted THEN NULL ELSE coalesce(excluded.author_key, posts.author_key) END,
    community = coalesce(excluded.community, posts.community),
    created_at = CASE WHEN excluded.created_at_estimated THEN posts.created_at ELSE excluded.created_at END,
    created_at_estimated = posts.created_at_estimated AND excluded.created_at_estimated,
    enriched_at = CASE WHEN posts.content_hash <> excluded.content_hash THEN NULL ELSE posts.enriched_at END,
    topic_assigned_at = CASE WHEN posts.content_hash <> excluded.content_hash THEN NULL
                             ELSE posts.topic_assigned_at END
"""


LOAD_CHUNK = 50_000  # records normalised and staged at a time: memory stays flat however big the landed file


def load_records(con, config, records, cursor: dict | None, run: RunInfo, key: bytes,
                 status: str = "ok", warnings: list[str] | None = None, error: str | None = None,
                 chunk_size: int | None = None) -> LoadResult:
    """Upsert a source's records, advance its cursor and record the source run, all in one transaction.

    `records` may be any iterable (e.g. a landed file streamed with read_landed); it is normalised and staged
    in chunks of `chunk_size`, all inside the one transaction, so a crash at any point leaves nothing behind.
    """
    chunk_size = chunk_size or LOAD_CHUNK
    problems = list(warnings or [])
    fetched = new = loaded = 0
    iterator = iter(records)
    try:
        with transaction(con):
            while True:
                chunk = list(itertools.islice(iterator, chunk_size))
                if not chunk:
                    break
                rows, chunk_problems = normalise_records(config, chunk, run, key, start=fetched)
                fetched += len(chunk)
                problems += chunk_problems
                del chunk
                if rows:
                    new += _upsert_rows(con, rows)
                    loaded += len(rows)
            if cursor is not None:
                con.execute(
                    """INSERT INTO core.source_cursors VALUES (?, ?, now())
                       ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at""",
                    [config.name, json.dumps(cursor)],
                )
            record_source_run(con, run, config.name, status=status, fetched=fetched, new=new, error=error,
                              warnings=problems)
    except Exception as exc:
        if isinstance(exc, (duckdb.IOException, OSError)):
            raise WarehouseError(f"{config.name}: could not write the warehouse ({str(exc).strip()[:300]}); nothing "
                                 f"of this load was stored and the cursor did not move: free disk space or fix the "
                                 f"data directory's permissions, then rerun (the landed file is replayed)") from exc
        raise
    return LoadResult(source=config.name, fetched=fetched, new=int(new), loaded=loaded, warnings=problems)


def _upsert_rows(con, rows: list[dict]) -> int:
    """Stage rows as one Arrow table and upsert them (inside the caller's transaction); returns how many are new."""
    table = pa.Table.from_pylist(rows, schema=POST_SCHEMA)
    con.register("staged_posts", table)
    try:
        new = con.execute(
            "SELECT count(*) FROM staged_posts s WHERE NOT EXISTS (SELECT 1 FROM core.posts p WHERE p.post_id = s.post_id)"
        ).fetchone()[0]
        # Changed content invalidates the stored embedding; enrichment and topics will redo the post.
        con.execute(
            """DELETE FROM core.post_embeddings e USING staged_posts s, core.posts p
               WHERE e.post_id = s.post_id AND p.post_id = s.post_id AND p.content_hash <> s.content_hash"""
        )
        con.execute(UPSERT_SQL)
    finally:
        con.unregister("staged_posts")
    return int(new)


def record_source_run(con, run: RunInfo, source: str, *, status: str, fetched: int = 0, new: int = 0,
                      error: str | None = None, warnings: list[str] | None = None) -> None:
    """Insert or replace this run's row for the source (a replayed load overwrites its own row)."""
    con.execute(
        """INSERT INTO core.source_runs VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, source) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,
             fetched = excluded.fetched, new = excluded.new, error = excluded.error, warnings = excluded.warnings,
             landing_path = excluded.landing_path""",
        [run.run_id, source, run.started_at, status, fetched, new, error, (warnings or [])[:50], run.landing_path],
    )


def read_cursor(con, source: str) -> dict:
    row = con.execute("SELECT cursor FROM core.source_cursors WHERE source = ?", [source]).fetchone()
    return json.loads(row[0]) if row else {}
