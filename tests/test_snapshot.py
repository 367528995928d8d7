"""The analyst snapshot brought up to date with the day's changes equals a full copy, table by table, row by row;
and a full copy is made when an incremental one would be wrong (deleted posts, a schema change)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from pipelines.daily import assign_topics, enrich, ingest, new_run_id, publish
from pipelines.forget import forget_author
from pipelines.loop import mark_follow_up_done
from pipelines.warehouse import SNAPSHOT_META, connect, open_warehouse, publish_snapshot

from helpers import make_install

CONFIG = ('[enrich]\nsentiment = "lexicon"\n[topics]\nembedding = "tfidf"\nmin_posts_to_fit = 5\n'
          'min_topic_size = 2\nrefit_unassigned_share = 1.0\n'
          '[[sources]]\nname = "forum"\nkind = "import"\npath = "forum*.jsonl"\n')
THEMES = ["The app crashes when I open the camera", "Please add a dark mode to the reader",
          "Delivery was late again this week", "Lieferung kam wieder zu spät", "Appen lukker ned når jeg åbner kameraet"]


def posts(first: int, count: int, day: dt.date, edited: int | None = None) -> list[dict]:
    out = []
    for i in range(first, first + count):
        text = f"{THEMES[i % len(THEMES)]} (note {i})" + (" – edited: still broken" if i == edited else "")
        out.append({"id": f"p{i}", "text": text, "author": f"person{i % 7}",
                    "created_at": f"{day - dt.timedelta(days=i % 3)}T10:{i % 60:02d}:00Z",
                    "url": f"https://forum.example/t/{i}"})
    return out


def write(settings, records: list[dict], name: str = "forum.jsonl") -> None:
    Path(settings.file).with_name(name).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def day_run(settings, day: dt.date) -> None:
    ingest(settings, new_run_id(day), day=day)
    enrich(settings)
    assign_topics(settings)
    publish(settings)


def contents(path: Path) -> dict[str, list]:
    """Every table's rows (sorted) of a snapshot file, its bookkeeping table left out."""
    con = connect(path, read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name <> ? "
                             "ORDER BY 1, 2", [SNAPSHOT_META]).fetchall()
        return {f"{s}.{t}": sorted(con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall(), key=repr)
                for s, t in tables}
    finally:
        con.close()


def meta(settings) -> tuple:
    con = connect(settings.paths.snapshot, read_only=True)
    try:
        return con.execute(f"SELECT mode, posts_copied FROM {SNAPSHOT_META}").fetchall()[0]
    finally:
        con.close()


def full_copy(settings, tmp_path) -> Path:
    target = tmp_path / "full.duckdb"
    target.unlink(missing_ok=True)
    with open_warehouse(settings.paths.warehouse) as con:
        publish_snapshot(con, settings.paths.warehouse, target, full=True)
    return target


def test_incremental_snapshot_equals_a_full_copy_and_deletions_force_a_full_one(write_config, tmp_path,
                                                                                 monkeypatch):
    import pipelines.warehouse

    # days are seconds apart here: without the margin for clock steps, only what really changed is copied
    monkeypatch.setattr(pipelines.warehouse, "CLOCK_MARGIN", dt.timedelta(0))
    monkeypatch.setattr(pipelines.warehouse, "INCREMENTAL_AT_MOST", 0.5)  # a small install: a third changes daily
    settings = make_install(write_config, CONFIG)
    today = dt.datetime.now(dt.timezone.utc).date()
    write(settings, posts(0, 40, today))
    day_run(settings, today)
    assert meta(settings)[0] == "full (no snapshot yet)"  # the first publish has nothing to build on

    # the next day's export: 15 new posts, one post edited (enrichment and topic redone), a repost
    records = posts(3, 1, today, edited=3) + posts(40, 15, today)
    records.append(dict(posts(7, 1, today)[0], id="repost-7"))  # a near-duplicate: dedupe marks it
    write(settings, records, "forum-2.jsonl")
    day_run(settings, today)
    mode, copied = meta(settings)
    assert mode == "incremental"
    assert 17 <= copied < 30, copied  # the day's posts and the edited one, not the history
    assert contents(settings.paths.snapshot) == contents(full_copy(settings, tmp_path))

    # when most posts changed (a refit, a backfill), replacing rows costs more than a full copy
    monkeypatch.setattr(pipelines.warehouse, "INCREMENTAL_AT_MOST", 0.1)
    write(settings, posts(60, 20, today), "forum-3.jsonl")
    day_run(settings, today)
    assert meta(settings)[0] == "full (20 of 76 posts changed)"
    assert contents(settings.paths.snapshot) == contents(full_copy(settings, tmp_path))

    # another writer between runs (a follow-up answered) republishes incrementally, still equal
    mark_follow_up_done(settings, "forum:p41", note="answered in thread")
    assert meta(settings)[0] == "incremental"
    assert contents(settings.paths.snapshot) == contents(full_copy(settings, tmp_path))

    # deleting posts (forget) must not leave their text in the old snapshot's free pages: a full copy
    forget_author(settings, "person3", "forum")
    assert meta(settings)[0] == "full (posts were deleted)"
    assert contents(settings.paths.snapshot) == contents(full_copy(settings, tmp_path))


def test_a_changed_schema_or_a_foreign_snapshot_file_gets_a_full_copy(write_config, tmp_path):
    settings = make_install(write_config, CONFIG)
    today = dt.datetime.now(dt.timezone.utc).date()
    write(settings, posts(0, 10, today))
    ingest(settings, new_run_id(today), day=today)
    publish(settings)
    with open_warehouse(settings.paths.warehouse) as con:
        con.execute("CREATE TABLE main.added_later AS SELECT 1 AS x")  # as a new migration would
    publish(settings)
    assert meta(settings)[0] == "full (schema or views changed)"
    # a snapshot file that is not ours (restored from elsewhere, no bookkeeping): rebuilt whole
    settings.paths.snapshot.unlink()
    other = connect(settings.paths.snapshot)
    other.execute("CREATE TABLE t AS SELECT 1 AS x")
    other.close()
    publish(settings)
    assert meta(settings)[0] == "full (no record of the previous publish)"
    assert contents(settings.paths.snapshot) == contents(full_copy(settings, tmp_path))
    asked = connect(full_copy(settings, tmp_path), read_only=True)
    assert asked.execute(f"SELECT mode FROM {SNAPSHOT_META}").fetchall() == [("full (asked for)",)]
    asked.close()


def test_every_update_of_posts_sets_changed_at():
    """The incremental snapshot finds changed posts by changed_at: a writer that forgets it leaves stale rows."""
    root = Path(__file__).resolve().parents[1] / "pipelines"
    statements = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"UPDATE\s+core\.posts\b(.{0,600})", text, re.S | re.I):
            statements.append((path.name, match.group(1).split('"""')[0].split("\")")[0]))
    assert len(statements) >= 4, statements  # load's upsert sets it in ON CONFLICT; these are the UPDATEs
    missing = [(name, body[:80]) for name, body in statements if "changed_at" not in body]
    assert not missing, missing
