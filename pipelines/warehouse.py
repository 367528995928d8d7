"""The DuckDB warehouse: one connection helper, migrations, views, the snapshot.

    >>> with open_warehouse(settings.paths.warehouse) as con:
    ...     con.execute("SELECT count(*) FROM posts").fetchone()

One process writes (`listen run` or the DAG's pool-of-one tasks). Analysts never open the warehouse: they
open the snapshot, an atomic copy published after each successful run (`publish_snapshot`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import Iterator

import duckdb

from pipelines.paths import SQL_DIR


class WarehouseError(Exception):
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


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
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
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseError(
                f"{path} is in use by another process (DuckDB allows one writer). Wait for the running job to "
                f"finish, or query the snapshot with `listen sql`."
            ) from exc
        raise WarehouseError(f"cannot open {path}: {text}") from exc


def initialise(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Migrations then views; safe to call on every open."""
    applied = apply_migrations(con)
    create_views(con)
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


def publish_snapshot(con: duckdb.DuckDBPyConnection, warehouse: Path, snapshot: Path) -> Path:
    """Copy the warehouse to `snapshot` atomically: readers see the old file or the new one, never half.

    DuckDB itself writes the copy (the schema with COPY FROM DATABASE, then every table's rows but those of
    SNAPSHOT_WITHOUT_ROWS, into a temp file, then rename). Copying the file with
    the OS would open and close a second descriptor on the warehouse, and closing any descriptor drops this
    process's POSIX lock on it: another process could then open the warehouse while we still write.
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.{int(time.time() * 1000)}.tmp")
    source = con.execute("SELECT current_database()").fetchone()[0]
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
                         "ORDER BY 1, 2", [source]).fetchall()
    try:
        con.execute("ATTACH '" + str(tmp).replace("'", "''") + "' AS listen_snapshot_out")
        try:
            con.execute(f'COPY FROM DATABASE "{source}" TO listen_snapshot_out (SCHEMA)')  # tables, views, macros
            for schema, table in tables:
                if (schema, table) not in SNAPSHOT_WITHOUT_ROWS:
                    con.execute(f'INSERT INTO listen_snapshot_out."{schema}"."{table}" '
                                f'SELECT * FROM "{source}"."{schema}"."{table}"')
        finally:
            con.execute("DETACH listen_snapshot_out")
        os.replace(tmp, snapshot)
    except (OSError, duckdb.Error) as exc:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise WarehouseError(f"could not publish snapshot {snapshot}: {exc}") from exc
    return snapshot


def query_snapshot(snapshot: Path, sql: str, params: list | None = None):
    """Run one read-only query on the snapshot; returns (column names, rows)."""
    con = connect(snapshot, read_only=True)
    try:
        cur = con.execute(sql, params or [])
        columns = [d[0] for d in cur.description] if cur.description else []
        return columns, cur.fetchall()
    finally:
        con.close()
