"""The code paths docs/scaling.md relies on: the landing zone behind an fsspec URL (memory://, file://) through a
real ingest, replay and forget; chunked streaming loads; the redaction short-cut the load's speed depends on."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid

import pytest

from pipelines.config import load_settings
from pipelines.daily import fetch_source, ingest, init_install, load_source, new_run_id, plan_sources
from pipelines.landing import LandingError, list_landed, read_landed
from pipelines.warehouse import connect

from helpers import query

HTTP = "[http]\nmin_delay = 0\nretries = 0\nread_timeout = 5\nconnect_timeout = 2\n"



@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_landing_zone_on_an_fsspec_url_through_ingest_replay_and_forget(write_config, tmp_path, sandbox, scheme):
    """The same code path as s3:// (fsspec): land, list, replay without duplicates, forget rewrites the object."""
    import fsspec

    landing = (f"memory://listen-{uuid.uuid4().hex}/landing" if scheme == "memory"
               else f"file://{tmp_path}/object-store/landing")
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "Bitte Dark Mode", "author": "Forgettable99"})
                                      + "\n" + json.dumps({"id": "2", "text": "Other", "author": "stays"}) + "\n")
    settings = load_settings(write_config(
        f'[warehouse]\npath = "data/w.duckdb"\nlanding = "{landing}"\n{HTTP}'
        f'[[sources]]\nname = "hn"\nkind = "feed"\nurl = "{sandbox.url("/feeds/hnrss-newest.rss")}"\n'
        f'[[sources]]\nname = "a"\nkind = "import"\npath = "a.jsonl"\n'))
    init_install(settings)
    day = dt.date(2026, 11, 21)
    results = {r["source"]: r for r in ingest(settings, new_run_id(day), day=day)}
    assert results["hn"]["new"] == 20 and results["a"]["new"] == 2
    files = list_landed(settings.paths.landing)
    assert len(files) == 2 and all(f.startswith(f"{scheme}://") for f in files)
    assert any("/hn/2026-11-21/" in f for f in files)
    assert not (settings.paths.data_dir / "landing").exists()  # nothing fell back to the local disk
    # replay the landed object (what a rerun of the DAG's load task does): nothing new, nothing doubled
    paths = query(settings, "SELECT landing_path FROM core.source_runs WHERE source = 'hn'")
    assert paths[0][0].startswith(f"{scheme}://")
    replay = {"source": "hn", "run_id": "replay", "started_at": dt.datetime.now(dt.timezone.utc).isoformat(),
              "status": "ok", "landing_path": paths[0][0], "cursor": None, "warnings": [], "error": None}
    assert load_source(settings, replay)["new"] == 0
    assert query(settings, "SELECT count(*), count(DISTINCT post_id) FROM core.posts") == [(22, 22)]
    # forget reaches into the object store too
    from pipelines.cli import main

    assert main(["--config", str(settings.file), "forget", "--author", "forgettable99", "--source", "a"]) == 0
    fs, _ = fsspec.core.url_to_fs(landing)
    blob = b"".join(gzip.decompress(fs.cat_file(fsspec.core.url_to_fs(f)[1])) for f in list_landed(settings.paths.landing))
    assert b"Bitte Dark Mode" not in blob and b"Forgettable99" not in blob and b"stays" in blob


def test_a_landed_object_with_a_bad_line_rolls_the_whole_load_back(write_config, tmp_path):
    settings = load_settings(write_config('[warehouse]\npath = "data/w.duckdb"\n'
                                          '[[sources]]\nname = "a"\nkind = "import"\npath = "a.jsonl"\n'))
    init_install(settings)
    path = tmp_path / "bad.jsonl.gz"
    lines = [json.dumps({"id": str(i), "text": f"t{i}"}) for i in range(1200)] + ["{broken"]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    outcome = {"source": "a", "run_id": "r1", "started_at": dt.datetime.now(dt.timezone.utc).isoformat(),
               "status": "ok", "landing_path": str(path), "cursor": {"files": {"a.jsonl": [1, 1]}}, "warnings": [],
               "error": None}
    import pipelines.load as load

    original = load.LOAD_CHUNK
    load.LOAD_CHUNK = 500  # the bad line arrives after two chunks were already staged in the transaction
    try:
        with pytest.raises(LandingError, match=r"bad.jsonl.gz, line 1201: not valid JSON"):
            load_source(settings, outcome)
    finally:
        load.LOAD_CHUNK = original
    assert query(settings, "SELECT count(*) FROM core.posts") == [(0,)]
    assert query(settings, "SELECT count(*) FROM core.source_cursors") == [(0,)]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_chunked_load_equals_one_batch_and_counts_new_once(write_config, monkeypatch, workers):
    """Chunks normalised in this process or in spawned workers store the same rows, warnings and counts."""
    from pipelines.load import RunInfo, content_hash, load_records

    monkeypatch.setenv("LISTEN_LOAD_WORKERS", workers)
    settings = load_settings(write_config('[warehouse]\npath = "data/w.duckdb"\n'
                                          '[[sources]]\nname = "a"\nkind = "import"\npath = "a.jsonl"\n'))
    init_install(settings)
    now = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
    records = [{"id": str(i % 37), "text": f"version {i} – søg på jens@mail.dk", "author": f"p{i % 5}",
                "rating": "x" if i == 50 else None} for i in range(100)]
    records[60] = {"text": "no id"}
    lines = [json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records]  # as read_landed(raw=True) gives
    columns = "post_id, body, author_key, content_hash"
    con = connect(settings.paths.warehouse)
    try:
        result = load_records(con, settings.source("a"), iter(lines), {"c": 1}, RunInfo("r", now, now), b"k" * 32,
                              chunk_size=7)
        chunked = con.execute(f"SELECT {columns} FROM core.posts ORDER BY 1").fetchall()
        con.execute("DELETE FROM core.posts")
        whole = load_records(con, settings.source("a"), records, {"c": 1}, RunInfo("r2", now, now), b"k" * 32)
        single = con.execute(f"SELECT {columns} FROM core.posts ORDER BY 1").fetchall()
    finally:
        con.close()
    assert chunked == single and len(single) == 37
    assert (result.fetched, result.new, whole.new) == (100, 37, 37)
    assert result.warnings == whole.warnings == ["a: record 13: rating 'x' is not a number; ignored",
                                                 "a: record 61 skipped: no 'id' field"]
    rows = {r[0]: r for r in single}
    assert rows["a:0"][1] == "version 74 – søg på [email]"  # the last version of a post wins, redacted
    assert rows["a:0"][3] == content_hash(None, "version 74 – søg på [email]")  # DuckDB's sha1 = Python's


def test_vectorised_redaction_gives_exactly_redact_output(shared_data):
    """load redacts a column at a time: an RE2 scan picks the texts redact() could change. On real texts, and on
    texts built to hold personal data with Unicode digits and spaces RE2 reads differently, the result must be
    redact()'s, text by text."""
    import csv

    from pipelines.redaction import may_hold_personal_data, redact, redact_many

    texts = []
    for path in sorted(shared_data.glob("*/*.shared.csv"))[:8]:
        with open(path, newline="", encoding="utf-8") as handle:
            texts += [row["text"] for _, row in zip(range(400), csv.DictReader(handle))]
    built = ["Skriv til jens.hansen@mail.dk", "ring 20 30 40 50", "ask u/someone", "Karte 4111 1111 1111 1111",
             "Hauptstraße 5, 10115 Berlin", "@anna_k danke", "no personal data at all", "", None, "²³ superscripts",
             "call ٠١٢٣٤٥٦٧٨٩ now", "tel\u00a0030\u00a012345678", "Hauptstraße\u00a05, 10115 Berlin",
             "Vestergade\u20035, 2. th.", "12\u200834\u200856\u200878", "ring ２０３０４０５０", "10 Downing Street",
             "IBAN DE89 3704 0044 0532 0130 00", "Tlf.: +45 12 34 56 78", "mail: a.b@c.de, www.x.dk/a@b.dk"]
    texts += built
    assert redact_many(texts) == [redact(text) for text in texts]
    gate = may_hold_personal_data(built)
    changed = [text for text in built if text and redact(text) != text]
    assert len(changed) >= 14 and all(g for text, g in zip(built, gate) if text in changed)
    assert gate[built.index("no personal data at all")] is False


def test_fetch_and_load_are_separate_steps_for_mapped_tasks(write_config, sandbox):
    """What the CeleryExecutor/KubernetesExecutor layout relies on: fetch on any worker returns a small JSON-able
    outcome naming the landed object; load (the pool-of-one writer) needs nothing else."""
    settings = load_settings(write_config(
        f'[warehouse]\npath = "data/w.duckdb"\nlanding = "memory://listen-{uuid.uuid4().hex}/landing"\n{HTTP}'
        f'[[sources]]\nname = "hn"\nkind = "feed"\nurl = "{sandbox.url("/feeds/hnrss-newest.rss")}"\n'))
    init_install(settings)
    outcome = fetch_source(settings, plan_sources(settings)[0], new_run_id())
    wire = json.loads(json.dumps(outcome))  # XCom: serialised between workers
    assert len(json.dumps(wire)) < 2_000
    assert len(list(read_landed(wire["landing_path"]))) == 20
    assert load_source(settings, wire)["new"] == 20
