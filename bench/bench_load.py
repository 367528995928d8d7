"""Load benchmark: a landed file of N realistic posts -> DuckDB upsert (the path `listen ingest` takes after fetch).

    .venv/bin/python bench/bench_load.py                      # 100k and 1M posts, baseline on 5k
    .venv/bin/python bench/bench_load.py --sizes 20k --baseline-size 2k

Each size runs in its own subprocess on a fresh warehouse, so peak RSS is that load's alone. The timed path is
exactly `daily.load_source`: stream the gzipped landed file, decode and normalise (pseudonymise, redact) chunks in
worker processes (LISTEN_LOAD_WORKERS, default one per core), stage Arrow chunks, upsert, advance the cursor,
record the source run, in one transaction. A replay of the same file (every row already there) is timed for sizes
up to --replay-max. The largest size is also loaded in one process (LISTEN_LOAD_WORKERS=1), which gives the
workers' ratio and lets redaction (load.redact_many: one vectorised RE2 scan, then redact() on the texts it picks)
be timed by wrapping it, so its share is visible.

Baseline, measured in the same run: the same normalised rows inserted with row-wise `executemany` (INSERT ... ON
CONFLICT per row) on --baseline-size posts; its rate is extrapolated to the big sizes, and each result is given
as a ratio to it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (TextPool, children_peak_rss_mb, current_hwm_mb, measure, parse_sizes, print_table, reset_peak_rss,  # noqa: E402
                    synthetic_import_records, write_result)

CONFIG = '[warehouse]\npath = "data/warehouse.duckdb"\n[[sources]]\nname = "bench"\nkind = "import"\npath = "x.jsonl"\n'


def write_landed_file(path: Path, count: int, seed: int = 7, chunk: int = 50_000) -> None:
    """The landing file format (gzipped JSONL of raw import records), written in chunks to keep memory flat."""
    pool = TextPool.from_shared_data()
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=6) as gz:
        for offset in range(0, count, chunk):
            records = synthetic_import_records(pool, min(chunk, count - offset), seed=seed + offset,
                                               id_prefix=f"c{offset}-")
            gz.write(b"".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                              for r in records))


def _settings(workdir: Path):
    from pipelines.config import load_settings

    (workdir / "listen.toml").write_text(CONFIG, encoding="utf-8")
    return load_settings(workdir / "listen.toml")


def run_one(landed: Path, workdir: Path, replay: bool) -> dict:
    """In a fresh process: load the landed file into a fresh warehouse through daily.load_source."""
    import pipelines.load as load
    from pipelines.daily import init_install, load_source

    settings = _settings(workdir)
    init_install(settings)
    redact_seconds = [0.0, 0]
    original = load.redact_many

    def timed_redact(texts):
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            redact_seconds[0] += time.perf_counter() - started
            redact_seconds[1] += len(texts)

    load.redact_many = timed_redact
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    outcome = {"source": "bench", "run_id": "bench-1", "started_at": now, "fetched_at": now, "status": "ok",
               "landing_path": str(landed), "cursor": {"files": {"x.jsonl": [1, 1]}}, "warnings": [], "error": None}
    with measure() as first:
        result = load_source(settings, outcome)
    out = {"posts": result["fetched"], "new": result["new"], "seconds": first.seconds,
           "peak_rss_mb": first.peak_rss_mb, "worker_peak_rss_mb": children_peak_rss_mb(),
           "redact_seconds": redact_seconds[0], "redact_calls": redact_seconds[1],
           # workers start only for a load of POOL_FROM_CHUNKS chunks or more
           "workers": load.load_workers() if result["fetched"] > (load.POOL_FROM_CHUNKS - 1) * load.LOAD_CHUNK
           else 1}
    if replay:
        redact_seconds[:] = [0.0, 0]
        with measure() as again:
            second = load_source(settings, dict(outcome, run_id="bench-2"))
        out.update(replay_seconds=again.seconds, replay_new=second["new"], replay_peak_rss_mb=again.peak_rss_mb)
    from pipelines.warehouse import connect

    con = connect(settings.paths.warehouse, read_only=True)
    out["rows_in_warehouse"] = con.execute("SELECT count(*) FROM core.posts").fetchone()[0]
    con.close()
    out["warehouse_mb"] = settings.paths.warehouse.stat().st_size / 2**20
    return out


def run_baseline(count: int, workdir: Path) -> dict:
    """Row-wise executemany of the same normalised rows (the naive way), in a fresh process."""
    from pipelines.daily import init_install
    from pipelines.load import POST_SCHEMA, RunInfo, UPSERT_SQL, content_hash, normalise_records
    from pipelines.warehouse import open_warehouse

    settings = _settings(workdir)
    init_install(settings)
    records = synthetic_import_records(TextPool.from_shared_data(), count, seed=99)
    now = dt.datetime.now(dt.timezone.utc)
    run = RunInfo("baseline", now, now)
    names = POST_SCHEMA.names
    row_sql = UPSERT_SQL.replace(f"SELECT {', '.join(names)}, fetched_at FROM staged_posts",
                                 f"VALUES ({', '.join('?' for _ in names)}, ?)")
    assert "staged_posts" not in row_sql
    reset_peak_rss()
    with open_warehouse(settings.paths.warehouse) as con:
        started = time.perf_counter()
        table, _ = normalise_records(settings.source("bench"), records, run, b"k" * 32)
        rows = [dict(row, content_hash=content_hash(row["title"], row["body"])) for row in table.to_pylist()]
        normalised = time.perf_counter()
        con.execute("BEGIN TRANSACTION")
        con.executemany(row_sql, [[row[n] for n in names] + [row["fetched_at"]] for row in rows])
        con.execute("COMMIT")
        ended = time.perf_counter()
    return {"posts": count, "seconds": ended - started, "normalise_seconds": normalised - started,
            "insert_seconds": ended - normalised, "peak_rss_mb": current_hwm_mb()}


def _subprocess(args: list[str], workers: int | None = None) -> dict:
    env = dict(os.environ, **({"LISTEN_LOAD_WORKERS": str(workers)} if workers is not None else {}))
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"bench_load subprocess {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1M", help="comma-separated post counts (k/M suffixes)")
    parser.add_argument("--baseline-size", default="2k", help="row-wise executemany runs ~50 posts/s: keep it small")
    parser.add_argument("--replay-max", default="100k", help="also time a replay for sizes up to this")
    parser.add_argument("--one", nargs=3, metavar=("LANDED", "WORKDIR", "REPLAY"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-one", nargs=2, metavar=("COUNT", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one[0]), Path(args.one[1]), args.one[2] == "1")))
        return 0
    if args.baseline_one:
        print(json.dumps(run_baseline(int(args.baseline_one[0]), Path(args.baseline_one[1]))))
        return 0

    sizes = parse_sizes(args.sizes)
    replay_max = parse_sizes(args.replay_max)[0]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        tmp = Path(tmp)
        base_n = parse_sizes(args.baseline_size)[0]
        (tmp / "baseline").mkdir()
        baseline = _subprocess(["--baseline-one", str(base_n), str(tmp / "baseline")])
        base_rate = base_n / baseline["seconds"]
        results = []
        for index, size in enumerate(sizes):
            landed = tmp / f"landing/bench/2026-11-21/run-{size}.jsonl.gz"
            started = time.perf_counter()
            write_landed_file(landed, size)
            generate = time.perf_counter() - started
            runs = [(None, size <= replay_max)] + ([(1, False)] if index == len(sizes) - 1 else [])  # largest
            for workers, replay in runs:
                work = tmp / f"w{size}-{workers}"
                work.mkdir()
                one = _subprocess(["--one", str(landed), str(work), "1" if replay else "0"], workers)
                one.update(size=size, generate_seconds=generate, landed_mb=landed.stat().st_size / 2**20,
                           forced_workers=workers)
                results.append(one)
            landed.unlink()

    rows = [["baseline executemany (1 process)", base_n, baseline["seconds"], base_rate, baseline["peak_rss_mb"], "-",
             1.0, "-"]]
    for r in results:
        rate = r["posts"] / r["seconds"]
        share = f"{100 * r['redact_seconds'] / r['seconds']:.0f}%" if r["redact_calls"] else "in workers"
        label = "arrow upsert, 1 process" if r["workers"] < 2 else f"arrow upsert, {r['workers']} workers"
        rows.append([label, r["posts"], r["seconds"], rate, r["peak_rss_mb"], r["worker_peak_rss_mb"] or "-",
                     rate / base_rate, share])
        if "replay_seconds" in r:
            replay_rate = r["posts"] / r["replay_seconds"]
            rows.append(["  replay (all rows exist)", r["posts"], r["replay_seconds"], replay_rate,
                         r["replay_peak_rss_mb"], "-", replay_rate / base_rate, "-"])
    print_table(f"load: landed gzipped JSONL -> core.posts through daily.load_source (baseline: row-wise executemany "
                f"on {base_n:,} posts, normalise {baseline['normalise_seconds']:.1f}s + insert "
                f"{baseline['insert_seconds']:.1f}s)",
                ["path", "posts", "wall s", "posts/s", "peak RSS MB", "worker RSS MB", "x baseline", "redact share"],
                rows)
    for single in (r for r in results if r["forced_workers"] == 1):  # the same file, workers forced off
        parallel = next((r for r in results if r["posts"] == single["posts"] and r["forced_workers"] is None), None)
        if parallel and parallel["workers"] >= 2:
            print(f"  workers: {single['seconds'] / parallel['seconds']:.2f}x one process on {single['posts']:,} posts")
        without = single["posts"] / max(1e-9, single["seconds"] - single["redact_seconds"])
        print(f"  one process, {single['posts']:,} posts: redaction {single['redact_seconds']:.1f}s over "
              f"{single['redact_calls']:,} texts; without it {without:,.0f} posts/s")
    for r in results:
        if r["workers"] >= 2:
            print(f"  {r['posts']:,} posts: landed file {r['landed_mb']:.0f} MB; warehouse {r['warehouse_mb']:.0f} MB")
    path = write_result("bench_load", {"baseline": dict(baseline, posts_per_s=base_rate), "results": results,
                                       "goal_posts_per_s": 50_000})
    print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
