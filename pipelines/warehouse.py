"""The DuckDB warehouse: one connection helper, migrations, views, the snapshot.

    >>> with open_warehouse(settings.paths.warehouse) as con:
    ...     con.execute("SELECT count(*) FROM posts").fetchone()

One process writes (`listen run` or the DAG's pool-of-one tasks). Analysts never open the warehouse: they
open the snapshot, an atomic copy published by each run whose quality gate passed (`publish_snapshot`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.errors import ListenError
from pipelines.paths import SQL_DIR


class WarehouseError(ListenError):
    """The warehouse cannot be opened or written; the message says what to do."""


MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error, re-raising the error that caused it.

        >>> with transaction(con):
        ...     con.execute("DELETE FROM core.posts WHERE post_id = ?", [post_id])

    A failed write can leave DuckDB with the transaction already aborted; the ROLLBACK then fails too, and
    that second error must not hide the first.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # already rolled back by DuckDB: keep the real error
        raise


def migration_files(schema_dir: Path = SQL_DIR / "schema") -> list[tuple[str, Path]]:
    """The migrations in apply order: [('001', Path('.../001_core.sql')), ...]."""
    found = []
    for path in sorted(schema_dir.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise WarehouseError(f"{path}: migration files must be named NNN_description.sql")
        found.append((match.group(1), path))
    versions = [v for v, _ in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"{schema_dir}: two migrations share a number: {sorted(versions)}")
    return found


def apply_migrations(con: duckdb.DuckDBPyConnection, schema_dir: Path = SQL_DIR / "schema") -> list[str]:
    """Apply each migration not yet recorded in schema_migrations, in order, each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, path in migration_files(schema_dir):
        if version in done:
            continue
        try:
            with transaction(con):
                con.execute(path.read_text(encoding="utf-8"))
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, path.name])
        except duckdb.Error as exc:
            raise WarehouseError(f"migration {path.name} failed: {exc}") from exc
        applied.append(path.name)
    return applied


def create_views(con: duckdb.DuckDBPyConnection, views_dir: Path = SQL_DIR / "views") -> list[str]:
    """(Re)create every analyst view; views that depend on others are retried until all resolve."""
    pending = sorted(views_dir.glob("*.sql"))
    created: list[str] = []
    while pending:
        failed, errors = [], {}
        for path in pending:
            try:
                con.execute(path.read_text(encoding="utf-8"))
                created.append(path.stem)
            except duckdb.CatalogException as exc:
                failed.append(path)
                errors[path.name] = exc
        if len(failed) == len(pending):
            detail = "; ".join(f"{name}: {exc}" for name, exc in errors.items())
            raise WarehouseError(f"views could not be created: {detail}")
        pending = failed
    return created


def connect(path: Path | str, *, read_only: bool = False, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file with a message that names the file and the way out when it is locked."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path} does not exist yet: run `listen run` (or `listen demo`) first")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseError(f"cannot create data directory {path.parent}: {exc.strerror}") from exc
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"{path} is in use by another process (DuckDB allows one writer). Wait for the running job to "
                f"finish, or query the snapshot with `listen sql`."
            ) from exc
        raise WarehouseError(f"cannot open {path}: {text}") from exc


def initialise(con: duckdb.DuckDBPyConnection, views_dir: Path = SQL_DIR / "views") -> list[str]:
    """Migrations, then the views if their files changed since they were created (or one is missing); safe and
    cheap on every open (re-creating every view costs each stage's open about 0.1 s)."""
    applied = apply_migrations(con)
    files = sorted(views_dir.glob("*.sql"))
    fingerprint = hashlib.sha256(b"".join(path.name.encode() + path.read_bytes() for path in files)).hexdigest()
    stored = con.execute("SELECT max(fingerprint) FROM core.view_fingerprint").fetchone()[0]
    present = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    if applied or stored != fingerprint or not {path.stem for path in files} <= present:
        create_views(con, views_dir)  # not in a transaction: create_views retries views whose dependencies come later
        with transaction(con):
            con.execute("DELETE FROM core.view_fingerprint")
            con.execute("INSERT INTO core.view_fingerprint VALUES (?, now())", [fingerprint])
    return applied


@contextlib.contextmanager
def open_warehouse(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The writer's connection, migrated and with current views; closed on exit."""
    con = connect(path)
    try:
        initialise(con)
        yield con
    finally:
        con.close()


# Pipeline internals the snapshot carries empty: post vectors and near-duplicate bands are most of the warehouse's
# bytes (a 384-float vector per post outweighs its text), no view or report reads them, and copying them made
# publishing grow with history far faster than the posts analysts query.
SNAPSHOT_WITHOUT_ROWS = {("core", "post_embeddings"), ("core", "post_signatures")}
SNAPSHOT_META = "listen_snapshot"  # main.listen_snapshot in the snapshot: when it was published, and how
FULL_COPY_EVERY = timedelta(days=7)  # an incremental snapshot keeps freed pages; a weekly full copy drops them
CLOCK_MARGIN = timedelta(hours=1)  # posts changed this long before the last publish are copied again
INCREMENTAL_AT_MOST = 0.1  # share of posts changed above which a full copy is cheaper (measured: 26 vs 3.3 us/post)


def publish_snapshot(con: duckdb.DuckDBPyConnection, warehouse: Path, snapshot: Path, *,
                     full: bool = False) -> Path:
    """Bring the analyst snapshot up to date atomically: readers see the old file or the new one, never half.

    Daily, the previous snapshot file is copied (by the OS: it is not the warehouse) and brought up to date in
    DuckDB: the posts changed since it was published (core.posts.changed_at, set by every writer of that
    table) are replaced, every other table is copied whole (they are small). A full copy is made instead
    (schema by COPY FROM DATABASE, then every table's rows but those of SNAPSHOT_WITHOUT_ROWS) when asked, when
    there is no readable previous snapshot, when its schema or views differ from the warehouse's, when posts
    were deleted (forget, retention: their text must not survive in the old file's free pages), when more than
    INCREMENTAL_AT_MOST of the posts changed (a refit, a backfill), or when the last full copy is older than
    FULL_COPY_EVERY. Either way the result is written to a temp file and renamed.

    The warehouse itself is never copied by the OS: opening and closing a second descriptor on it would drop
    this process's POSIX lock, and another process could open the warehouse while we still write.
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.{int(time.time() * 1000)}.tmp")
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    started = con.execute("SELECT now()").fetchall()[0][0]  # every change committed so far started before this
    try:
        plan = _plan(con, source, snapshot, started) if not full and snapshot.exists() else "full"
        incremental = isinstance(plan, datetime)  # posts changed since then are replaced in a copy of the old file
        if incremental:
            shutil.copyfile(snapshot, tmp)
        with _attached(con, tmp, "listen_snapshot_out"):
            if incremental:
                _update_in_place(con, source, started, plan)
            else:
                _copy_whole(con, source, started, plan)
        os.replace(tmp, snapshot)
    except (OSError, duckdb.Error) as exc:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise WarehouseError(f"could not publish snapshot {snapshot}: {exc}") from exc
    return snapshot


@contextlib.contextmanager
def _attached(con, path: Path, alias: str, read_only: bool = False) -> Iterator[None]:
    """`path` attached to `con` as `alias` for the block (ATTACH errors raise before it), detached after."""
    con.execute("ATTACH '" + str(path).replace("'", "''") + f"' AS {alias}" + (" (READ_ONLY)" if read_only else ""))
    try:
        yield
    finally:
        con.execute(f"DETACH {alias}")


def _copy_rows(con, source: str, skip: set, replace: bool = False) -> None:
    """Every table's rows from `source` into the attached snapshot, but those in `skip` (emptied first if replace)."""
    for schema, table in _tables(con, source):
        if (schema, table) in skip:
            continue
        if replace:
            con.execute(f'DELETE FROM listen_snapshot_out."{schema}"."{table}"')
        con.execute(f'INSERT INTO listen_snapshot_out."{schema}"."{table}" '
                    f'SELECT * FROM "{source}"."{schema}"."{table}"')


def _tables(con, database: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                       "AND NOT (schema_name = 'main' AND table_name = ?) ORDER BY 1, 2",
                       [database, SNAPSHOT_META]).fetchall()


def _shape(con, database: str) -> tuple[list, list]:
    """Every column (with type) and every view (with its SQL) of a database, to tell whether two agree."""
    columns = con.execute("SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
                          "WHERE database_name = ? AND NOT (schema_name = 'main' AND table_name = ?) "
                          "ORDER BY 1, 2, column_index", [database, SNAPSHOT_META]).fetchall()
    views = con.execute("SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = ? "
                        "AND NOT internal ORDER BY 1, 2", [database]).fetchall()
    return columns, views


def _copy_whole(con, source: str, started, reason: str) -> None:
    con.execute(f'COPY FROM DATABASE "{source}" TO listen_snapshot_out (SCHEMA)')  # tables, views, macros
    _copy_rows(con, source, SNAPSHOT_WITHOUT_ROWS)
    con.execute(f"CREATE TABLE listen_snapshot_out.main.{SNAPSHOT_META} (published_at TIMESTAMPTZ, mode VARCHAR, "
                f"full_at TIMESTAMPTZ, posts_copied BIGINT)")
    con.execute(f"INSERT INTO listen_snapshot_out.main.{SNAPSHOT_META} VALUES (?, ?, ?, "
                f'(SELECT count(*) FROM "{source}".core.posts))', [started, f"full ({reason})", started])


def _plan(con, source: str, snapshot: Path, started) -> datetime | str:
    """Read the previous snapshot (read-only; readers may have it open): the time from which changed posts must
    be copied into it, or why a full copy is needed instead."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_attached(con, snapshot, "listen_snapshot_prev", read_only=True))
        except duckdb.Error:
            return "previous snapshot unreadable"
        try:
            published_at, full_at = con.execute(
                f"SELECT published_at, full_at FROM listen_snapshot_prev.main.{SNAPSHOT_META}").fetchall()[0]
        except (duckdb.Error, IndexError):
            return "no record of the previous publish"
        if started - full_at > FULL_COPY_EVERY:
            return "weekly full copy"
        if _shape(con, "listen_snapshot_prev") != _shape(con, source):
            return "schema or views changed"
        deleted = con.execute(f'SELECT count(*) FROM listen_snapshot_prev.core.posts o WHERE NOT EXISTS '
                              f'(SELECT 1 FROM "{source}".core.posts p WHERE p.post_id = o.post_id)').fetchall()[0][0]
        if deleted:
            return "posts were deleted"
        since = published_at - CLOCK_MARGIN
        changed, total = con.execute(f'SELECT count(*) FILTER (changed_at >= ?), count(*) FROM "{source}".core.posts',
                                     [since]).fetchall()[0]
        if changed > INCREMENTAL_AT_MOST * total:
            return f"{changed:,} of {total:,} posts changed"  # replacing rows costs ~8x copying them afresh
        return since


def _update_in_place(con, source: str, started, since: datetime) -> None:
    """Bring the attached copy of the previous snapshot up to date: posts changed since `since`, other tables whole."""
    with transaction(con):
        _copy_rows(con, source, SNAPSHOT_WITHOUT_ROWS | {("core", "posts")}, replace=True)
        changed = f'FROM "{source}".core.posts WHERE changed_at >= ?'
        con.execute(f"DELETE FROM listen_snapshot_out.core.posts WHERE post_id IN (SELECT post_id {changed})", [since])
        copied = con.execute(f"INSERT INTO listen_snapshot_out.core.posts SELECT * {changed}", [since]).fetchall()[0][0]
        con.execute(f"UPDATE listen_snapshot_out.main.{SNAPSHOT_META} SET published_at = ?, mode = 'incremental', "
                    f"posts_copied = ?", [started, copied])


# What makes a query connection read-only in every sense, not only for the database file: no other file can be
# read or written (COPY ... TO, EXPORT DATABASE, ATTACH, INSTALL/LOAD, read_csv('/etc/...') are refused) and the
# settings are locked, so SET/RESET cannot undo that. Temp tables and macros still work: they live in memory.
QUERY_ONLY = {"enable_external_access": False, "lock_configuration": True}


def query_snapshot(snapshot: Path, sql: str, params: list | None = None):
    """Run one query on the snapshot, opened read-only with QUERY_ONLY; returns (column names, rows). A query that
    tries to write anything fails with DuckDB's own error (a duckdb.Error subclass)."""
    con = connect(snapshot, read_only=True, config=QUERY_ONLY)
    try:
        cur = con.execute(sql, params or [])
        columns = [d[0] for d in cur.description] if cur.description else []
        return columns, cur.fetchall()
    finally:
        con.close()
