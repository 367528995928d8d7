"""The clustering step of our BERTopic model: a deterministic, sklearn-style clusterer (`hdbscan_model=`).

    >>> clusterer = CentroidClusterer(min_cluster_size=10)
    >>> BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=clusterer, ...)
    >>> clusterer.labels_, clusterer.topic_embeddings_      # after fit: one label per post, -1 = outlier

It receives the language-centred, L2-normalised post vectors (no further reduction: BERTopic's
`BaseDimensionalityReduction`) and:
1. projects them with PCA (`n_components`) and over-clusters with k-means;
2. joins fine clusters into topics (see `_join_fine_clusters`);
3. refines: every post to its nearest centroid, centroids recomputed, topics below `min_cluster_size`
   dissolved, until nothing moves (at most `refine_rounds`);
4. turns each topic into a centroid, and labels every post with the **same rule** a saved BERTopic model
   uses in `transform()`: the highest cosine similarity among the topic embeddings, where row 0 is the
   outlier topic (see `nearest_topic`). A post whose best centroid similarity is below `threshold_`
   (a low quantile of the fitted posts' best similarity) is an outlier.

`warm_start` (the previous model's fine centroids) seeds k-means, so a refit on an overlapping window
rebuilds the same clusters where the data did not change, and stable ids match one to one.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


# ---- the assignment rule shared by the fit, the daily path and BERTopic.transform ----
def topic_inputs(centred: np.ndarray, threshold: float) -> np.ndarray:
    """What `BERTopic.transform(docs, embeddings=...)` gets: each centred unit vector plus one last
    coordinate holding the outlier threshold. Against topic rows [centroid, 0] and the outlier row [0, ..., 1]
    the cosine ranks topics by centroid similarity and puts the outlier row first exactly when no centroid
    reaches the threshold."""
    centred = np.asarray(centred, dtype=np.float32)
    return np.hstack([centred, np.full((len(centred), 1), threshold, dtype=np.float32)])


def topic_matrix(centroids: np.ndarray, outliers: bool) -> np.ndarray:
    """BERTopic's `topic_embeddings_`: [outlier row,] then one row per topic, in topic-id order."""
    k, dim = centroids.shape
    rows = np.hstack([centroids.astype(np.float32), np.zeros((k, 1), np.float32)])
    if not outliers:
        return rows
    outlier = np.zeros((1, dim + 1), np.float32)
    outlier[0, -1] = 1.0
    return np.vstack([outlier, rows])


def nearest_topic(inputs: np.ndarray, topic_embeddings: np.ndarray, outliers: bool) -> tuple[np.ndarray, np.ndarray]:
    """(topic index per row, -1 = outlier; similarity) computed as BERTopic 0.17's `transform` does for a
    model without UMAP/HDBSCAN parts (every model loaded from safetensors): argmax of
    `cosine_similarity(embeddings, topic_embeddings_)` minus one when the model has an outlier topic."""
    if len(inputs) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    sims = cosine_similarity(inputs, np.array(topic_embeddings))
    best = np.argmax(sims, axis=1)
    return (best - int(outliers)).astype(np.int64), sims[np.arange(len(best)), best].astype(np.float32)


class CentroidClusterer:
    """k-means over-clustering, joined into topics, with nearest-centroid labels and an outlier threshold."""

    def __init__(self, min_cluster_size: int = 10, n_components: int = 50, fine_clusters_per_doc: float = 0.5,
                 max_fine_clusters: int = 400, merge_at: float = 0.45, outlier_quantile: float = 0.05,
                 refine_rounds: int = 20, seed: int = 42, warm_start: np.ndarray | None = None,
                 previous_topics: np.ndarray | None = None):
        self.min_cluster_size = min_cluster_size
        self.n_components = n_components
        self.fine_clusters_per_doc = fine_clusters_per_doc
        self.max_fine_clusters = max_fine_clusters
        self.merge_at = merge_at
        self.outlier_quantile = outlier_quantile
        self.refine_rounds = refine_rounds
        self.seed = seed
        self.warm_start = warm_start
        self.previous_topics = previous_topics

    def get_params(self, deep: bool = False) -> dict:
        """The parameters as sklearn reports them (BERTopic and our method text read these)."""
        return {name: getattr(self, name) for name in ("min_cluster_size", "n_components", "fine_clusters_per_doc",
                                                       "max_fine_clusters", "merge_at", "outlier_quantile",
                                                       "refine_rounds", "seed")}

    # ---- sklearn interface ----
    def fit(self, X: np.ndarray, y=None) -> "CentroidClusterer":
        vectors = normalise(np.asarray(X, dtype=np.float32))
        n = len(vectors)
        joined, self.fine_centroids_ = self._fine_clusters(vectors)
        centroids = self._continue_previous(_centroids(vectors, joined, self.min_cluster_size))
        # refine: every post to its nearest centroid, centroids from their posts, topics below the minimum size
        # dissolve; until nothing moves (a refit on unchanged posts then reproduces its start exactly)
        for _ in range(int(self.refine_rounds)):
            if not len(centroids):
                break
            nearest = np.argmax(vectors @ centroids.T, axis=1)
            moved = _centroids(vectors, nearest, self.min_cluster_size)
            if moved.shape == centroids.shape and np.array_equal(moved, centroids):
                break
            centroids = moved
        self.centroids_ = centroids
        self.outliers_ = True  # without a centroid every post is an outlier
        self.threshold_ = 0.0
        if len(centroids) and n:
            best = (vectors @ centroids.T).max(axis=1)
            self.threshold_ = float(np.quantile(best, self.outlier_quantile))
            self.outliers_ = bool(self.outlier_quantile > 0)
        labels = self.predict(vectors)
        # the labels are what predict() gives with self.centroids_; a centroid nobody is nearest to goes
        # (dropping it changes no post's nearest topic)
        used = np.unique(labels[labels >= 0])
        remap = np.full(len(self.centroids_) + 1, -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        self.centroids_ = self.centroids_[used]
        self.labels_ = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
        self.outliers_ = bool((self.labels_ < 0).any())
        if not self.outliers_:
            self.threshold_ = 0.0  # no outlier row: the threshold coordinate then changes no ranking
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        labels, _ = nearest_topic(topic_inputs(normalise(np.asarray(X, np.float32)), self.threshold_),
                                  self.topic_embeddings_, self.outliers_)
        return labels

    def fit_predict(self, X: np.ndarray, y=None) -> np.ndarray:
        return self.fit(X).labels_

    @property
    def topic_embeddings_(self) -> np.ndarray:
        return topic_matrix(self.centroids_, self.outliers_)

    def _continue_previous(self, candidates: np.ndarray) -> np.ndarray:
        """Start from the previous model's topics, plus the candidates none of them covers.

        The refinement rounds then move each previous topic to where its posts are now (one that lost them
        drops out below min_cluster_size), so a refit on an overlapping window keeps its topics where the
        data did not change, instead of re-drawing every boundary."""
        previous = self.previous_topics
        if previous is None or not len(previous) or previous.shape[1] != candidates.shape[1]:
            return candidates
        if not len(candidates):
            return normalise(previous)
        covered = (candidates @ normalise(previous).T).max(axis=1) >= self.merge_at
        return np.vstack([normalise(previous), candidates[~covered]])

    # ---- clustering ----
    def _fine_clusters(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(topic label per row from k-means + joining, fine centroids in the input space)."""
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        n, seed = len(vectors), int(self.seed)
        self.n_components_ = 0
        if n < 2:
            return np.zeros(n, dtype=np.int64), vectors.copy()
        k = int(np.clip(round(n * float(self.fine_clusters_per_doc) / max(int(self.min_cluster_size), 1)), 2,
                        int(self.max_fine_clusters)))
        k = min(k, n)
        n_components = max(1, min(int(self.n_components), vectors.shape[1], n - 1))
        self.n_components_ = n_components
        pca = PCA(n_components=n_components, random_state=seed).fit(vectors)
        reduced = normalise(pca.transform(vectors))
        init: str | np.ndarray = "k-means++"
        warm = self.warm_start
        if warm is not None and len(warm) and warm.shape[1] == vectors.shape[1]:
            seeds = normalise(pca.transform(warm))[:k]
            if len(seeds) < k:  # the window grew: new clusters start from data points
                extra = np.random.default_rng(seed).choice(n, size=k - len(seeds), replace=False)
                seeds = np.vstack([seeds, reduced[extra]])
            init = seeds
        fine = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed).fit_predict(reduced)
        present = np.unique(fine)
        fine_centroids = normalise(np.vstack([vectors[fine == c].mean(axis=0) for c in present]))
        joined = _join_fine_clusters(fine_centroids, float(self.merge_at))
        mapping = dict(zip(present.tolist(), joined.tolist()))
        return np.array([mapping[c] for c in fine.tolist()], dtype=np.int64), fine_centroids


def _join_fine_clusters(fine_centroids: np.ndarray, merge_at: float) -> np.ndarray:
    """Topic label per fine cluster: average-linkage merging of centroids whose cosine exceeds `merge_at`."""
    from sklearn.cluster import AgglomerativeClustering

    if len(fine_centroids) < 2:
        return np.zeros(len(fine_centroids), dtype=np.int64)
    merge = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=1.0 - merge_at).fit(fine_centroids)
    return merge.labels_.astype(np.int64)


def _centroids(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    clusters = [c for c in np.unique(labels) if c >= 0 and (labels == c).sum() >= min_size]
    if not clusters:
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    return normalise(np.vstack([vectors[labels == c].mean(axis=0) for c in clusters]))
