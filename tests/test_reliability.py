"""Faults the daily job must survive: kill -9 mid-load, failing sources, readers during publishes, a full disk.

Each test runs the real code path (subprocesses where a crash or a resource limit is involved) and then proves
the warehouse is whole: no post lost, none duplicated, cursor and source_runs consistent, the rerun catches up.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from pipelines.daily import ingest, load_source, new_run_id, publish

from helpers import make_install, query

HTTP = "[http]\nmin_delay = 0\nretries = 1\nbackoff = 0.01\nread_timeout = 1\nconnect_timeout = 1\nmax_retry_after = 5\n"


def make(write_config, body=""):
    return make_install(write_config, body, HTTP)


def landed_file(path, count, prefix="n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as gz:
        for i in range(count):
            gz.write(json.dumps({"id": f"{prefix}{i}", "text": f"Post number {i} about the app", "author": f"u{i % 50}",
                                 "_file": "big.jsonl"}) + "\n")


def outcome(path, run_id, cursor):
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return {"source": "big", "run_id": run_id, "started_at": now, "fetched_at": now, "status": "ok",
            "landing_path": str(path), "cursor": cursor, "warnings": [], "error": None}


# -- kill -9 in the middle of a load -----------------------------------------------------------------------------
KILLED_LOAD = textwrap.dedent("""
    import json, sys
    import pipelines.load as load
    from pipelines.config import load_settings
    from pipelines.daily import load_source

    original = load._upsert_rows
    def announce(con, rows):
        new = original(con, rows)
        print("STAGED", len(rows), flush=True)   # the parent kills us here: mid-transaction
        return new
    load._upsert_rows = announce
    load.LOAD_CHUNK = 500
    settings = load_settings(sys.argv[1])
    load_source(settings, json.loads(sys.argv[2]))
    print("DONE", flush=True)
""")


def children(pid: int) -> list[int]:
    """Child process ids of `pid` (Linux /proc)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def test_kill_9_mid_load_then_rerun_loses_and_duplicates_nothing(write_config, tmp_path):
    settings = make(write_config, '[[sources]]\nname = "big"\nkind = "import"\npath = "big.jsonl"\n')
    # an earlier run left 300 posts and cursor A
    first = tmp_path / "landing" / "first.jsonl.gz"
    landed_file(first, 300)
    load_source(settings, outcome(first, "run-a", {"files": {"big.jsonl": ["A"]}}))
    # the big run: 20k posts (overlapping the first 300), cursor B; killed after a few chunks are staged
    big = tmp_path / "landing" / "big.jsonl.gz"
    landed_file(big, 20_000)
    item = outcome(big, "run-b", {"files": {"big.jsonl": ["B"]}})
    child = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(settings.file), json.dumps(item)],
                             stdout=subprocess.PIPE, text=True)
    staged = 0
    for line in child.stdout:
        if line.startswith("STAGED"):
            staged += 1
        if staged == 3 or line.startswith("DONE"):
            break
    workers = children(child.pid)  # the load normalises in spawned worker processes
    child.kill()  # SIGKILL: no cleanup, no rollback, the WAL holds whatever was written
    child.wait(timeout=30)
    assert staged == 3, "the load finished before it could be killed: make the landed file bigger"
    assert child.returncode == -9
    assert len(workers) >= 2
    deadline = time.monotonic() + 10  # orphaned workers notice and exit: nothing keeps running after a kill
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]

    assert query(settings, "SELECT count(*), count(DISTINCT post_id) FROM core.posts") == [(300, 300)]
    assert json.loads(query(settings, "SELECT cursor FROM core.source_cursors WHERE source = 'big'")[0][0]) == \
        {"files": {"big.jsonl": ["A"]}}
    assert query(settings, "SELECT run_id FROM core.source_runs ORDER BY 1") == [("run-a",)]

    # the rerun replays the landed file: everything once, cursor B, one ok row for the run
    result = load_source(settings, item)
    assert (result["fetched"], result["new"]) == (20_000, 19_700)
    assert query(settings, "SELECT count(*), count(DISTINCT post_id) FROM core.posts") == [(20_000, 20_000)]
    assert json.loads(query(settings, "SELECT cursor FROM core.source_cursors")[0][0]) == {"files": {"big.jsonl": ["B"]}}
    assert query(settings, "SELECT run_id, status, new FROM core.source_runs ORDER BY 1") == \
        [("run-a", "ok", 300), ("run-b", "ok", 19_700)]


# -- a failing source: that source fails clearly, others load, the next run catches up --------------------------
@pytest.mark.parametrize("fault, message", [
    ("status:500", r"HTTP 500 after 2 attempts"),
    ("slow:3", r"timed out"),
    ("status:429:retry_after=3600", r"retry after 3600s, longer than the allowed 5s"),
    ("html", r"not a readable RSS/Atom feed"),
    ("empty", r"bad: "),
    ("truncate", r"truncated|not a readable|not well-formed"),
])
def test_failing_source_is_isolated_and_the_next_run_catches_up(write_config, sandbox, fault, message):
    import re

    sandbox.clear_faults()
    sandbox.set_fault("/feeds/heise.atom", fault)
    settings = make(write_config, f'[[sources]]\nname = "bad"\nkind = "feed"\nurl = "{sandbox.url("/feeds/heise.atom")}"\n'
                                  f'[[sources]]\nname = "good"\nkind = "feed"\nurl = "{sandbox.url("/feeds/hnrss-newest.rss")}"\n')
    try:
        results = {r["source"]: r for r in ingest(settings, new_run_id())}
    finally:
        sandbox.clear_faults()
    bad = results["bad"]
    if fault == "truncate" and bad["status"] != "failed":  # a cut feed may parse partially: then it warns
        assert any(re.search(message, w) for w in bad["warnings"]), bad
    else:
        assert bad["status"] == "failed" and bad["error"].startswith("bad: ") and re.search(message, bad["error"]), bad
        assert query(settings, "SELECT status, error FROM core.source_runs WHERE source = 'bad'")[0][0] == "failed"
        assert query(settings, "SELECT count(*) FROM core.source_cursors WHERE source = 'bad'")[0][0] == 0
    assert results["good"]["status"] == "ok" and results["good"]["new"] == 20
    # the server recovers: the next run loads the failed source in full, the other has nothing new
    again = {r["source"]: r for r in ingest(settings, new_run_id())}
    assert again["bad"]["status"] == "ok" and query(settings, "SELECT count(*) FROM posts WHERE source = 'bad'")[0][0] == 15
    assert again["good"]["new"] == 0
    assert query(settings, "SELECT count(*), count(DISTINCT post_id) FROM core.posts") == [(35, 35)]


# -- analysts read the snapshot while runs publish ---------------------------------------------------------------
READER = textwrap.dedent("""
    import sys, time, json
    from pipelines.warehouse import query_snapshot
    path, stop = sys.argv[1], sys.argv[2]
    import os
    seen, errors, last = 0, [], 0
    while True:
        done = os.path.exists(stop)  # one last read after the final publish
        try:
            _, rows = query_snapshot(__import__('pathlib').Path(path),
                "SELECT (SELECT count(*) FROM core.posts), (SELECT coalesce(sum(new), 0) FROM core.source_runs), "
                "(SELECT count(*) FROM posts)")
            posts, new, view = rows[0]
            if posts != new or posts != view or posts < last:
                errors.append(f"inconsistent: posts={posts} sum(new)={new} view={view} last={last}")
            last = posts
            seen += 1
        except Exception as exc:
            errors.append(f"{exc.__class__.__name__}: {exc}")
        if done:
            break
    print(json.dumps({"reads": seen, "errors": errors[:5], "last": last}))
""")


def test_snapshot_readers_never_see_half_a_run_or_a_lock_error(write_config, tmp_path):
    settings = make(write_config, '[[sources]]\nname = "big"\nkind = "import"\npath = "big.jsonl"\n')
    publish(settings)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.paths.snapshot), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        for run in range(6):
            path = tmp_path / "landing" / f"r{run}.jsonl.gz"
            landed_file(path, 2_000, prefix=f"r{run}-")
            load_source(settings, outcome(path, f"run-{run}", {"run": run}))
            publish(settings)
    finally:
        stop.write_text("stop")
        out, _ = reader.communicate(timeout=60)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == [], report
    assert report["reads"] > 0 and report["last"] == 12_000


# -- disk full / unwritable data directory ----------------------------------------------------------------------
LIMITED_INGEST = textwrap.dedent("""
    import resource, signal, sys, json
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # writes past the limit fail with EFBIG, as on a full disk
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from pipelines.cli import main
    sys.exit(main(["--config", sys.argv[1], "ingest"]))
""")


def _limited_ingest(settings, limit):
    return subprocess.run([sys.executable, "-c", LIMITED_INGEST, str(settings.file), str(limit)],
                          capture_output=True, text=True, timeout=300)


def _many_posts(path, count, start=0):
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(start, start + count):
            handle.write(json.dumps({"id": str(i), "text": f"{i} " + os.urandom(60).hex()}) + "\n")


def test_full_disk_during_load_fails_clearly_and_corrupts_nothing(write_config, tmp_path):
    """RLIMIT_FSIZE in a child caps every file it writes (SIGXFSZ ignored, so write() fails with EFBIG, the
    same path as ENOSPC): the landing file fits, the warehouse cannot grow by the 20k new posts."""
    _many_posts(tmp_path / "a.jsonl", 200)
    settings = make(write_config, '[[sources]]\nname = "a"\nkind = "import"\npath = "a.jsonl"\n')
    ingest(settings, new_run_id())
    before = query(settings, "SELECT cursor FROM core.source_cursors")
    _many_posts(tmp_path / "a.jsonl", 20_000)
    limit = settings.paths.warehouse.stat().st_size + 1_000_000
    proc = _limited_ingest(settings, limit)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "File too large" in proc.stdout + proc.stderr or "No space" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    # nothing corrupted: the warehouse opens, holds exactly the earlier posts and cursor
    assert query(settings, "SELECT count(*) FROM core.posts") == [(200,)]
    assert query(settings, "SELECT cursor FROM core.source_cursors") == before
    # with space again, the next run loads everything
    result = ingest(settings, new_run_id())[0]
    assert result["status"] == "ok" and result["new"] == 19_800
    assert query(settings, "SELECT count(*), count(DISTINCT post_id) FROM core.posts") == [(20_000, 20_000)]


def test_full_disk_while_landing_fails_the_source_and_leaves_no_temp_file(write_config, tmp_path):
    _many_posts(tmp_path / "a.jsonl", 20_000)
    settings = make(write_config, '[[sources]]\nname = "a"\nkind = "import"\npath = "a.jsonl"\n')
    proc = _limited_ingest(settings, 200_000)  # the warehouse exists already; the landed file is ~1.5 MB
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "a: " in proc.stderr and "cannot write landing file" in proc.stderr and "File too large" in proc.stderr
    assert query(settings, "SELECT count(*) FROM core.posts") == [(0,)]
    assert query(settings, "SELECT status FROM core.source_runs") == [("failed",)]
    assert [p.name for p in settings.paths.data_dir.rglob("*.tmp")] == []


def test_unwritable_data_directory_is_a_clear_error(write_config, tmp_path, capsys):
    """The data directory's parent is a regular file (ENOTDIR): a real OS refusal even for root, unlike chmod."""
    from pipelines.cli import main

    (tmp_path / "blocker").write_text("not a directory")
    config = write_config('[warehouse]\npath = "blocker/data/w.duckdb"\n')
    code = main(["--config", str(config), "init"])
    err = capsys.readouterr().err
    assert code in (1, 2) and "blocker" in err and "Traceback" not in err
    assert (tmp_path / "blocker").read_text() == "not a directory"
