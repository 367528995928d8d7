"""Migrations, views, the snapshot, and reading while a writer holds the warehouse."""

import subprocess
import sys

import pytest

from pipelines.warehouse import (WarehouseError, apply_migrations, connect, initialise, migration_files,
                                 publish_snapshot, query_snapshot)


def test_migrations_apply_once_in_order(warehouse):
    recorded = [r[0] for r in warehouse.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
    assert recorded == [v for v, _ in migration_files()]
    assert apply_migrations(warehouse) == []  # second run applies nothing
    assert initialise(warehouse) == []


def test_contract_views_exist_with_contract_columns(warehouse):
    columns = {r[0] for r in warehouse.execute("DESCRIBE posts").fetchall()}
    assert {"post_id", "channel", "source", "community", "kind", "thread_id", "parent_id", "url", "author_key",
            "created_at", "fetched_at", "title", "body", "rating", "lang", "sentiment", "sentiment_label", "intent",
            "topic_id", "is_regular"} <= columns
    views = {r[0] for r in warehouse.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'").fetchall()}
    assert {"posts", "topics", "topic_lineage", "topic_trends", "voices", "actions", "source_runs",
            "quality_results", "quarantine"} <= views


def test_a_failing_migration_rolls_back_and_names_the_file(tmp_path):
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "001_ok.sql").write_text("CREATE TABLE a (x INT);")
    (schema / "002_broken.sql").write_text("CREATE TABLE b (x INT); SELEC nonsense;")
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(WarehouseError, match="002_broken.sql"):
        apply_migrations(con, schema)
    assert con.execute("SELECT version FROM schema_migrations").fetchall() == [("001",)]
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'").fetchone()[0] == 0


def test_snapshot_is_readable_while_a_writer_holds_the_warehouse(settings, warehouse):
    warehouse.execute("CREATE TABLE main.marker AS SELECT 42 AS answer")
    publish_snapshot(warehouse, settings.paths.warehouse, settings.paths.snapshot)
    # the writer still holds the file: another process can neither write nor even read it ...
    code = ("import duckdb, sys\n"
            f"try:\n    duckdb.connect({str(settings.paths.warehouse)!r}, read_only=True)\n"
            "except duckdb.IOException:\n    sys.exit(3)\n")
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 3, probe.stdout + probe.stderr
    # ... but the snapshot answers, from another process, through the CLI
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "--config", str(settings.file), "sql",
                          "SELECT answer FROM marker", "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["answer", "42"]


def test_snapshot_replacement_is_atomic_for_open_readers(settings, warehouse):
    warehouse.execute("CREATE TABLE main.version AS SELECT 1 AS v")
    publish_snapshot(warehouse, settings.paths.warehouse, settings.paths.snapshot)
    reader = connect(settings.paths.snapshot, read_only=True)
    warehouse.execute("UPDATE main.version SET v = 2")
    publish_snapshot(warehouse, settings.paths.warehouse, settings.paths.snapshot)
    assert reader.execute("SELECT v FROM version").fetchone() == (1,)  # old file, still whole
    reader.close()
    assert query_snapshot(settings.paths.snapshot, "SELECT v FROM version")[1] == [(2,)]
    leftovers = [p for p in settings.paths.snapshot.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_snapshot_holds_every_table_and_view_with_rows_but_pipeline_vectors(settings, warehouse):
    """Analysts get every table's rows and every view; the post vectors and near-duplicate bands (most of the
    warehouse's bytes, read by no view or report) are there as empty tables."""
    from pipelines.warehouse import SNAPSHOT_WITHOUT_ROWS

    warehouse.execute("INSERT INTO core.post_embeddings VALUES ('a:1', 'm', [0.1, 0.2], now())")
    warehouse.execute("INSERT INTO core.post_signatures VALUES ('a:1', '7:99')")
    warehouse.execute("CREATE TABLE main.marker AS SELECT range AS n FROM range(5)")
    publish_snapshot(warehouse, settings.paths.warehouse, settings.paths.snapshot)
    tables = warehouse.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                               "WHERE database_name = current_database()").fetchall()
    snapshot = connect(settings.paths.snapshot, read_only=True)
    try:
        for schema, table in tables:
            expected = 0 if (schema, table) in SNAPSHOT_WITHOUT_ROWS else \
                warehouse.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            assert snapshot.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0] == expected, table
        assert snapshot.execute("SELECT count(*) FROM marker").fetchone() == (5,)
        views = "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        assert snapshot.execute(views).fetchall() == warehouse.execute(views).fetchall()
        for (view,) in snapshot.execute(views).fetchall():
            snapshot.execute(f'SELECT * FROM "{view}" LIMIT 1').fetchall()  # every view runs on the snapshot
    finally:
        snapshot.close()
    assert {("core", "post_embeddings"), ("core", "post_signatures")} == SNAPSHOT_WITHOUT_ROWS


def test_locked_warehouse_gives_a_message_with_a_way_out(settings, warehouse):
    code = (f"from pipelines.warehouse import connect, WarehouseError\n"
            f"try:\n    connect({str(settings.paths.warehouse)!r})\n"
            f"except WarehouseError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "in use by another process" in out.stdout and "listen sql" in out.stdout


def test_missing_snapshot_says_to_run_first(tmp_path):
    with pytest.raises(WarehouseError, match="listen run"):
        query_snapshot(tmp_path / "none.duckdb", "SELECT 1")


def test_transaction_rolls_back_and_keeps_the_real_error(warehouse):
    import duckdb

    from pipelines.warehouse import transaction

    warehouse.execute("CREATE TABLE main.t (id INTEGER PRIMARY KEY)")
    with pytest.raises(duckdb.ConstraintException):  # not the ROLLBACK's "no transaction is active"
        with transaction(warehouse):
            warehouse.execute("INSERT INTO main.t VALUES (1)")
            warehouse.execute("INSERT INTO main.t VALUES (1)")
    assert warehouse.execute("SELECT count(*) FROM main.t").fetchone() == (0,)
    with transaction(warehouse):
        warehouse.execute("INSERT INTO main.t VALUES (2)")
    assert warehouse.execute("SELECT id FROM main.t").fetchall() == [(2,)]


def test_views_are_recreated_only_when_their_files_change_or_one_is_missing(warehouse, tmp_path):
    import shutil

    from pipelines.paths import SQL_DIR

    views = tmp_path / "views"
    shutil.copytree(SQL_DIR / "views", views)
    initialise(warehouse, views)
    created = warehouse.execute("SELECT created_at FROM core.view_fingerprint").fetchall()
    initialise(warehouse, views)
    assert warehouse.execute("SELECT created_at FROM core.view_fingerprint").fetchall() == created, "nothing changed"
    (views / "voices.sql").write_text((views / "voices.sql").read_text() + "\n-- edited\n")
    initialise(warehouse, views)
    assert warehouse.execute("SELECT created_at FROM core.view_fingerprint").fetchall() != created
    warehouse.execute("DROP VIEW follow_ups")
    initialise(warehouse, views)
    assert warehouse.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'follow_ups'").fetchone()[0] == 1
