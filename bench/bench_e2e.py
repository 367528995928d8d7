"""End to end: `listen demo` wall time after install (sandbox, init, fetch, load, enrich, topics, check, publish, report).

    .venv/bin/python bench/bench_e2e.py

Three runs of the installed `listen` command, each a fresh process: `listen --help` (interpreter and CLI start-up,
the baseline), `listen demo` into an empty directory (cold: everything is new, the topic model is fitted), and
`listen demo` again into the same directory (warm: the sources answer 304 or nothing new, no refit is due).
Peak RSS is the child process's maximum resident set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, write_result  # noqa: E402

LISTEN = Path(sys.executable).with_name("listen")


def run_child(args: list[str], timeout: float) -> dict:
    """Run one `listen` command in a child that reports its own peak RSS (ru_maxrss of RUSAGE_CHILDREN)."""
    command = [str(LISTEN) if LISTEN.exists() else sys.executable, *([] if LISTEN.exists() else ["-m", "pipelines.cli"]),
               *args]
    wrapper = ("import resource, subprocess, sys, time\n"
               "t = time.perf_counter(); p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])\n"
               "print(p.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"})
    code, seconds, rss = proc.stdout.split()
    result = {"command": "listen " + " ".join(args), "seconds": float(seconds), "peak_rss_mb": float(rss),
              "exit_code": int(code)}
    if int(code) != 0:
        result["output_tail"] = proc.stderr[-2000:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        demo = Path(tmp) / "demo"
        runs = [dict(run_child(["--help"], args.timeout), label="baseline: listen --help")]
        runs.append(dict(run_child(["demo", "--dir", str(demo)], args.timeout), label="listen demo (cold)"))
        runs.append(dict(run_child(["demo", "--dir", str(demo)], args.timeout), label="listen demo (again)"))
        from pipelines.config import load_settings
        from pipelines.warehouse import WarehouseError, connect

        settings = load_settings(demo / "listen.toml")
        try:
            con = connect(settings.paths.snapshot, read_only=True)
            posts = con.execute("SELECT count(*) FROM posts").fetchone()[0]
            con.close()
        except WarehouseError:
            posts = 0
    base = runs[0]["seconds"]
    rows = [[r["label"], posts if "demo" in r["label"] else 0, r["seconds"],
             posts / r["seconds"] if "demo" in r["label"] else 0.0, r["peak_rss_mb"], r["seconds"] / base,
             "ok" if r["exit_code"] == 0 else f"exit {r['exit_code']}"]
            for r in runs]
    print_table("end to end: `listen demo` after install (baseline: CLI start-up in the same run)",
                ["run", "posts", "wall s", "posts/s", "peak RSS MB", "x baseline", "status"], rows)
    for r in runs:
        if r["exit_code"]:
            print(f"  {r['label']} failed; last output:\n" + "\n".join("    " + line for line in
                                                                      r["output_tail"].splitlines()[-15:]))
    path = write_result("bench_e2e", {"runs": runs, "posts": posts})
    print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
