"""Landed raw records -> core.posts, with the source's cursor, in ONE transaction.

    >>> result = load_records(con, source_cfg, records, cursor={"etag": "x"}, run=run, key=key)
    >>> result.new, result.fetched
    (12, 40)

Normalisation runs the source module's `normalise`; authors become pseudonyms and personal data is
redacted here, so neither a handle nor an e-mail address ever reaches the warehouse. Rows go in as Arrow
chunks (no row-by-row inserts); a big load (POOL_FROM_CHUNKS chunks or more) is decoded, normalised and
redacted by worker processes while this process, the one writer, upserts. A rerun of the same records
changes nothing.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import itertools
import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import duckdb
import msgspec
import pyarrow as pa

from pipelines.landing import decode_landed
from pipelines.pseudonyms import pseudonymise
from pipelines.redaction import redact_many
from pipelines.sources import channel_for, source_module
from pipelines.text import fold_styled_many
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
STAGED_SCHEMA = pa.schema([f for f in POST_SCHEMA if f.name != "content_hash"])  # DuckDB adds the hash
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
    else:
        text = str(value).strip()
        try:
            stamp = dt.datetime.fromisoformat(text)  # takes a trailing 'Z' (Python 3.11)
        except ValueError:
            try:  # epoch seconds, as a number or as text; out of range is as unreadable as "not-a-date"
                stamp = dt.datetime.fromtimestamp(float(text), tz=dt.timezone.utc)
            except (ValueError, OverflowError, OSError):
                return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.astimezone(dt.timezone.utc)


def _prefixed(source: str, native) -> str | None:
    return f"{source}:{native}" if native not in (None, "") else None


def _text(value) -> str | None:
    """A text field as str (an export may carry a number where text belongs); None and '' stay None."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def content_hash(title: str | None, body: str | None) -> str:
    """What the warehouse stores as content_hash (computed there, vectorised, by CONTENT_HASH_SQL; same value)."""
    return hashlib.sha1(f"{title or ''}\x1f{body or ''}".encode("utf-8")).hexdigest()


CONTENT_HASH_SQL = "sha1(coalesce(title, '') || chr(31) || coalesce(body, ''))"
_encode_extra = msgspec.json.Encoder(enc_hook=str)


def normalise_records(config, records, run: RunInfo, key: bytes, *, start: int = 0,
                      pseudonyms: dict | None = None, origin: str | None = None) -> tuple[pa.Table, list[str]]:
    """Source records -> one Arrow table of warehouse rows (POST_SCHEMA without content_hash); a record that
    cannot be normalised becomes a warning, not a crash. The last record with an id wins.

    Per record only the source's own `normalise` and the cheap field checks run in Python; styled letters are
    folded (text.fold_styled_many) and redaction runs a column at a time (redaction.redact_many), and the content
    hash is computed by DuckDB when staging.
    `start` is the index of the first record (warnings' record numbers when called per chunk); `pseudonyms`
    caches one HMAC per handle across chunks. A record given as its JSON line (bytes) is decoded here; a line
    that is not JSON fails the load with a LandingError naming `origin` and the line.
    """
    module = source_module(config.kind)
    channel = channel_for(config)
    rows: list[tuple] = []  # in STAGED_SCHEMA order
    position: dict[str, int] = {}  # native id -> row (a repeated id overwrites its row in place)
    warnings: list[str] = []
    pseudonyms = {} if pseudonyms is None else pseudonyms
    future = run.fetched_at + dt.timedelta(days=1)
    for index, raw in enumerate(records, start=start):
        if isinstance(raw, bytes):
            raw = decode_landed(raw, origin or config.name, index + 1)
        try:
            post = module.normalise(config, raw)
        except Exception as exc:  # one bad record must not stop the others
            reason = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) and exc.args else exc
            warnings.append(f"{config.name}: record {index + 1} skipped: {reason}")
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
        if created is None and post.get("created_at") not in (None, ""):
            warnings.append(f"{config.name}: record {native}: created_at {str(post['created_at'])[:60]!r} is not a "
                            f"date (ISO 8601 expected); fetch time used")
        elif created is not None and created > future:
            warnings.append(f"{config.name}: record {native}: date {created.isoformat()} is in the future; "
                            f"fetch time used")
            created = None
        deleted = bool(post.get("is_deleted"))
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
        url = post.get("url")
        row = (
            f"{config.name}:{native}",
            config.name,
            channel,
            native,
            config.community or _text(post.get("community")) or config.name,
            kind,
            _prefixed(config.name, post.get("thread_id")),
            _prefixed(config.name, post.get("parent_id")),
            url if isinstance(url, str) and url.startswith(("http://", "https://")) else None,
            author_key,
            created or run.fetched_at,
            created is None,
            run.fetched_at,
            None if deleted else _text(post.get("title")),
            None if deleted else _text(post.get("body")),
            rating,
            _text(post.get("lang_hint")),
            deleted,
            _encode_extra.encode(post.get("extra") or {}).decode("utf-8"),
            run.run_id,
        )
        at = position.get(native)
        if at is None:
            position[native] = len(rows)
            rows.append(row)
        else:
            rows[at] = row
    columns = dict(zip(STAGED_SCHEMA.names, map(list, zip(*rows)))) if rows else {n: [] for n in STAGED_SCHEMA.names}
    columns["title"] = redact_many(fold_styled_many(columns["title"]))
    columns["body"] = redact_many(fold_styled_many(columns["body"]))
    return pa.table(columns, schema=STAGED_SCHEMA), warnings


_COLUMNS = ", ".join(POST_SCHEMA.names)
# A chunk holding stored posts: insert or update in place; what may change and what must not is spelled out here.
UPSERT_SQL = f"""
INSERT INTO core.posts ({_COLUMNS}, first_loaded_at)
SELECT {_COLUMNS}, fetched_at FROM staged_posts
ON CONFLICT (post_id) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in UPDATABLE if name not in {"author_key", "community"})},
    author_key = CASE WHEN excluded.is_deleted THEN NULL ELSE coalesce(excluded.author_key, posts.author_key) END,
    community = coalesce(excluded.community, posts.community),
    created_at = CASE WHEN excluded.created_at_estimated THEN posts.created_at ELSE excluded.created_at END,
    created_at_estimated = posts.created_at_estimated AND excluded.created_at_estimated,
    enriched_at = CASE WHEN posts.content_hash <> excluded.content_hash THEN NULL ELSE posts.enriched_at END,
    topic_assigned_at = CASE WHEN posts.content_hash <> excluded.content_hash THEN NULL
                             ELSE posts.topic_assigned_at END,
    changed_at = now()
"""
# A chunk of only new posts (most chunks of a big load): a plain INSERT, ~40% cheaper than the upsert.
INSERT_NEW_SQL = f"INSERT INTO core.posts ({_COLUMNS}, first_loaded_at) SELECT {_COLUMNS}, fetched_at FROM staged_posts"
# A chunk as the statements above read it: the registered Arrow table, its content hash computed by DuckDB
# (vectorised, cheaper than hashlib in the workers; equal to content_hash(), tested). A view, not a copy: the
# count of new posts never computes the hash, and a chunk of new posts computes it once, in the INSERT.
STAGE_SQL = (f"CREATE OR REPLACE TEMP VIEW staged_posts AS SELECT "
             f"{', '.join(CONTENT_HASH_SQL + ' AS content_hash' if n == 'content_hash' else n for n in POST_SCHEMA.names)}"
             f" FROM arrow_chunk")
LOAD_CHUNK = 25_000  # records normalised and staged at a time: memory stays flat however big the landed file
LOAD_WORKERS_ENV = "LISTEN_LOAD_WORKERS"
POOL_FROM_CHUNKS = 5  # workers pay off from here: on 4 chunks (100k posts) they were 0.92x one process, on 40 1.7x


def load_workers() -> int:
    """Processes that normalise a load of POOL_FROM_CHUNKS chunks or more: $LISTEN_LOAD_WORKERS, else one per core
    (max 4).
    0 or 1 normalises in the loading process itself."""
    value = os.environ.get(LOAD_WORKERS_ENV, "").strip()
    if not value:
        return min(4, os.cpu_count() or 1)
    if not value.isdigit():
        raise ValueError(f"{LOAD_WORKERS_ENV}={value!r} is not a whole number of processes (0 or 1: no workers)")
    return int(value)


def load_records(con, config, records, cursor: dict | None, run: RunInfo, key: bytes,
                 status: str = "ok", warnings: list[str] | None = None, error: str | None = None,
                 chunk_size: int | None = None, origin: str | None = None,
                 notes: list[str] | None = None) -> LoadResult:
    """Upsert a source's records, advance its cursor and record the source run, all in one transaction.

    `records` may be any iterable of records, or of their JSON lines (a landed file streamed with
    read_landed(raw=True); `origin` names that file in errors). It is normalised and staged in chunks of
    `chunk_size`, all inside the one transaction, so a crash at any point leaves nothing behind.
    """
    problems = list(warnings or [])
    fetched = new = loaded = 0
    try:
        with transaction(con):
            for rows, chunk_problems, count in _normalised_chunks(config, records, run, key,
                                                                  chunk_size or LOAD_CHUNK, origin):
                fetched += count
                problems += chunk_problems
                if rows.num_rows:
                    new += _upsert_rows(con, rows)
                    loaded += rows.num_rows
            if cursor is not None:
                con.execute(
                    """INSERT INTO core.source_cursors VALUES (?, ?, now())
                       ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at""",
                    [config.name, json.dumps(cursor)],
                )
            record_source_run(con, run, config.name, status=status, fetched=fetched, new=new, error=error,
                              warnings=problems, notes=notes)
    except Exception as exc:
        if isinstance(exc, (duckdb.IOException, OSError)):
            raise WarehouseError(f"{config.name}: could not write the warehouse ({str(exc).strip()[:300]}); nothing "
                                 f"of this load was stored and the cursor did not move: free disk space or fix the "
                                 f"data directory's permissions, then rerun (the landed file is replayed)") from exc
        raise
    return LoadResult(source=config.name, fetched=fetched, new=int(new), loaded=loaded, warnings=problems)


def _normalised_chunks(config, records, run: RunInfo, key: bytes, chunk_size: int, origin: str | None):
    """Yield (table, warnings, records read) per chunk, in order.

    Normalising and redacting is Python, one record at a time, and most of a load's time; so a load of at least
    POOL_FROM_CHUNKS chunks is normalised by spawned worker processes while this one reads ahead and upserts (the
    writer stays this one process). A daemonic process (some executors run tasks so) cannot have children: it
    normalises here.
    """
    iterator = iter(records)
    pending = [chunk for chunk in (list(itertools.islice(iterator, chunk_size)) for _ in range(POOL_FROM_CHUNKS))
               if chunk]
    chunks = itertools.chain(pending, iter(lambda: list(itertools.islice(iterator, chunk_size)), []))
    workers = load_workers()
    start = 0
    if len(pending) < POOL_FROM_CHUNKS or workers < 2 or multiprocessing.current_process().daemon:
        pseudonyms: dict = {}
        for chunk in chunks:
            yield *normalise_records(config, chunk, run, key, start=start, pseudonyms=pseudonyms, origin=origin), \
                len(chunk)
            start += len(chunk)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        in_flight: collections.deque = collections.deque()
        for chunk in chunks:
            in_flight.append((pool.submit(normalise_records, config, chunk, run, key, start=start, origin=origin),
                              len(chunk)))
            start += len(chunk)
            if len(in_flight) > workers:  # bounded read-ahead: memory stays at a few chunks
                future, count = in_flight.popleft()
                yield *future.result(), count
        while in_flight:
            future, count = in_flight.popleft()
            yield *future.result(), count


def _exit_with_parent(parent: int) -> None:
    """In a worker: exit when the loading process is gone (kill -9 leaves no one to shut the pool down)."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _upsert_rows(con, table: pa.Table) -> int:
    """Upsert an Arrow chunk (read in place, its content hashed by DuckDB) inside the caller's transaction;
    returns how many posts are new."""
    con.register("arrow_chunk", table)
    try:
        con.execute(STAGE_SQL)
        new = con.execute(
            "SELECT count(*) FROM staged_posts s WHERE NOT EXISTS (SELECT 1 FROM core.posts p WHERE p.post_id = s.post_id)"
        ).fetchone()[0]
        if new == table.num_rows:
            con.execute(INSERT_NEW_SQL)
        else:
            # Changed content invalidates the stored embedding; enrichment and topics will redo the post.
            con.execute(
                """DELETE FROM core.post_embeddings e USING staged_posts s, core.posts p
                   WHERE e.post_id = s.post_id AND p.post_id = s.post_id AND p.content_hash <> s.content_hash"""
            )
            con.execute(UPSERT_SQL)
    finally:
        con.execute("DROP VIEW IF EXISTS staged_posts")
        con.unregister("arrow_chunk")
    return int(new)


def record_source_run(con, run: RunInfo, source: str, *, status: str, fetched: int = 0, new: int = 0,
                      error: str | None = None, warnings: list[str] | None = None,
                      notes: list[str] | None = None) -> None:
    """Insert or replace this run's row for the source (a replayed load overwrites its own row)."""
    con.execute(
        """INSERT INTO core.source_runs (run_id, source, started_at, finished_at, status, fetched, new, error, warnings,
                                         landing_path, notes)
           VALUES (?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, source) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,
             fetched = excluded.fetched, new = excluded.new, error = excluded.error, warnings = excluded.warnings,
             landing_path = excluded.landing_path, notes = excluded.notes""",
        [run.run_id, source, run.started_at, status, fetched, new, error, stored_warnings(warnings), run.landing_path,
         list(notes or [])],
    )


MAX_STORED_WARNINGS = 100


def stored_warnings(warnings: list[str] | None) -> list[str]:
    """The warnings kept in source_runs: the first MAX_STORED_WARNINGS - 1 and a line saying how many more there were,
    so a count read back from the warehouse is never silently short."""
    warnings = list(warnings or [])
    if len(warnings) <= MAX_STORED_WARNINGS:
        return warnings
    kept = warnings[:MAX_STORED_WARNINGS - 1]
    return kept + [f"... and {len(warnings) - len(kept):,} more warnings, not stored (fix the ones above and rerun)"]


def read_cursor(con, source: str) -> dict:
    row = con.execute("SELECT cursor FROM core.source_cursors WHERE source = ?", [source]).fetchone()
    return json.loads(row[0]) if row else {}
