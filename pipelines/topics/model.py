"""A fitted topic model as the daily path uses it: a saved BERTopic model plus our stable ids, without bertopic.

    >>> model = fit_topics(texts, embeddings, langs, post_ids)             # pipelines.topics.fit (imports bertopic)
    >>> path = model.save(settings.paths.models)                           # <models>/<version>/
    >>> model = TopicModel.load(path)                                      # numpy + safetensors only
    >>> topic_ids, similarity = model.assign(new_embeddings, new_langs)    # stable ids, -1 = unassigned

A saved model folder is a BERTopic model saved with safetensors (`config.json`, `topics.json`,
`topic_embeddings.safetensors`, `ctfidf.safetensors`, `ctfidf_config.json`; `BERTopic.load(path)` works
offline) plus our layer: `listen.json` (stable topic ids, labels per language, parameters, metrics) and
`listen.safetensors` (the per-language mean vectors, the fine k-means centroids that seed the next refit).

Assignment is BERTopic's own `transform` for a safetensors model, on the inputs `inputs()` builds:
`cosine_similarity(inputs, topic_embeddings_)`, argmax, minus one when the model has an outlier topic
(`clustering.nearest_topic`). It runs on the very `topic_embeddings.safetensors` BERTopic wrote, so
    BERTopic.load(path).transform(docs, embeddings=model.inputs(vectors, langs))
gives the same topics, which `model.stable_ids(...)` maps to ours. Importing bertopic costs 13-40 s per
process here; the daily path does not need it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipelines.errors import ListenError
from pipelines.topics.clustering import nearest_topic, normalise, topic_inputs, topic_matrix

MANIFEST_FILE = "listen.json"
ARRAYS_FILE = "listen.safetensors"
BERTOPIC_EMBEDDINGS_FILE = "topic_embeddings.safetensors"
FORMAT_VERSION = 2
LABEL_LANGS = ("da", "de", "en")


class TopicModelError(ListenError):
    """A topic model cannot be fitted, saved or loaded; the message names the model and the cause."""


class OutdatedModelError(TopicModelError):
    """A model folder from an older release (or not ours): the next refit replaces it."""


def new_version(now: datetime | None = None) -> str:
    """A sortable model version such as '20260523T134501123456Z'."""
    return f"{(now or datetime.now(timezone.utc)):%Y%m%dT%H%M%S%fZ}"


@dataclass
class TopicModel:
    """Topic centroids (BERTopic's topic embeddings) with stable ids, language means and topic descriptions.

    Row i of `centroids` (and of every per-topic list) is BERTopic topic i; `topic_ids[i]` is our stable id."""

    version: str
    embedding: str
    dim: int
    lang_names: list[str]
    lang_means: np.ndarray  # (L, dim), row i for lang_names[i]
    global_mean: np.ndarray  # (dim,): posts in other languages
    centroids: np.ndarray  # (k, dim) L2-normalised, in the centred space
    threshold: float  # a post less similar than this to every centroid is an outlier
    outliers: bool  # whether the model has BERTopic's outlier topic -1
    topic_ids: np.ndarray  # (k,) stable ids
    keywords: list[list[str]]
    keyword_weights: list[list[float]]
    labels: list[dict[str, str]]  # per topic: {lang: label} for the languages present in it
    sizes: list[int]
    lang_sizes: list[dict[str, int]]
    representative_ids: list[list[str]]
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    window: dict = field(default_factory=dict)
    fine_centroids: np.ndarray | None = None  # k-means clusters before joining; seed the next refit
    bertopic: object | None = None  # the fitted BERTopic model (only in the process that fitted it)

    # ---- assignment (the one path used everywhere) ----
    def centre(self, embeddings: np.ndarray, langs: list[str | None]) -> np.ndarray:
        """Vectors minus their language's mean (or the overall mean for other languages), re-normalised."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or (len(embeddings) and embeddings.shape[1] != self.dim):
            raise TopicModelError(
                f"model {self.version}: expected embeddings of shape (n, {self.dim}) from {self.embedding!r}, "
                f"got {embeddings.shape}"
            )
        if len(langs) != len(embeddings):
            raise TopicModelError(f"model {self.version}: {len(embeddings)} vectors but {len(langs)} languages")
        index = {name: i for i, name in enumerate(self.lang_names)}
        means = np.vstack([self.lang_means.reshape(-1, self.dim), self.global_mean[None, :]])
        rows = np.array([index.get(lang or "", len(self.lang_names)) for lang in langs], dtype=np.int64)
        return normalise(embeddings - means[rows])

    def inputs(self, embeddings: np.ndarray, langs: list[str | None]) -> np.ndarray:
        """What to pass as `embeddings=` to this model's `BERTopic.transform`: centred vectors + threshold."""
        return topic_inputs(self.centre(embeddings, langs), self.threshold)

    @property
    def topic_embeddings(self) -> np.ndarray:
        """BERTopic's `topic_embeddings_` of this model (outlier row first when it has one)."""
        return topic_matrix(self.centroids, self.outliers)

    def bertopic_topics(self, embeddings: np.ndarray, langs: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(BERTopic topic per row, -1 = outlier; cosine to that topic's centroid, 0 for outliers)."""
        if len(embeddings) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        centred = self.centre(embeddings, langs)
        topics, _ = nearest_topic(topic_inputs(centred, self.threshold), self.topic_embeddings, self.outliers)
        similarity = np.zeros(len(topics), np.float32)
        placed = topics >= 0
        similarity[placed] = (centred[placed] * self.centroids[topics[placed]]).sum(axis=1)
        return topics, similarity

    def stable_ids(self, bertopic_topics) -> np.ndarray:
        """Our stable topic id for each BERTopic topic (-1 stays -1)."""
        topics = np.asarray(bertopic_topics, dtype=np.int64)
        lookup = np.append(self.topic_ids.astype(np.int64), -1)  # index -1 -> -1
        return lookup[np.where(topics >= 0, topics, -1)]

    def assign(self, embeddings: np.ndarray, langs: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """(stable topic id per row, -1 = unassigned; cosine to the topic's centroid)."""
        topics, similarity = self.bertopic_topics(embeddings, langs)
        return self.stable_ids(topics), similarity

    # ---- description ----
    def main_language(self, i: int) -> str | None:
        counted = {lang: n for lang, n in self.lang_sizes[i].items() if lang in self.labels[i]}
        if not counted:
            return None
        return sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]

    def label(self, i: int) -> str:
        """The label in the topic's main language (its keywords when no da/de/en post is in it)."""
        lang = self.main_language(i)
        if lang:
            return self.labels[i][lang]
        return ", ".join(self.keywords[i][:3]) or f"topic {int(self.topic_ids[i])}"

    def topics(self) -> list[dict]:
        """One dict per topic: topic_id, label, labels, keywords, size, lang_sizes, representative_ids."""
        return [
            {
                "topic_id": int(tid),
                "bertopic_topic": i,
                "label": self.label(i),
                "labels": dict(self.labels[i]),
                "keywords": list(self.keywords[i]),
                "size": int(self.sizes[i]),
                "lang_sizes": dict(self.lang_sizes[i]),
                "representative_ids": list(self.representative_ids[i]),
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
        """Write <models_dir>/<version>/ (BERTopic's safetensors files + ours); returns the directory.

        Written to a hidden temp folder and renamed, so a crash never leaves a half model that loads."""
        from safetensors.numpy import save_file

        if self.bertopic is None:
            raise TopicModelError(f"model {self.version} has no fitted BERTopic model to save (was it loaded?)")
        directory = Path(models_dir) / self.version
        tmp = directory.with_name(f".{self.version}.tmp")
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            bertopic_logger = logging.getLogger("BERTopic")
            level = bertopic_logger.level
            bertopic_logger.setLevel(logging.ERROR)  # "saved without an embedding model" is what we want
            try:
                self.bertopic.save(tmp, serialization="safetensors", save_ctfidf=True, save_embedding_model=False)
            finally:
                bertopic_logger.setLevel(level)
            fine = self.fine_centroids if self.fine_centroids is not None else np.zeros((0, self.dim))
            save_file(
                {
                    "lang_means": np.ascontiguousarray(self.lang_means.reshape(-1, self.dim), dtype=np.float32),
                    "global_mean": np.ascontiguousarray(self.global_mean, dtype=np.float32),
                    "fine_centroids": np.ascontiguousarray(fine, dtype=np.float32).reshape(-1, self.dim),
                },
                str(tmp / ARRAYS_FILE),
            )
            manifest = {
                "format": FORMAT_VERSION,
                "version": self.version,
                "embedding": self.embedding,
                "dim": self.dim,
                "lang_names": self.lang_names,
                "threshold": self.threshold,
                "outliers": self.outliers,
                "params": self.params,
                "metrics": self.metrics,
                "window": self.window,
                "topics": [{**t, "keyword_weights": self.keyword_weights[i]} for i, t in enumerate(self.topics())],
            }
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
            saved = TopicModel.load(tmp)
            if not np.array_equal(saved.topic_embeddings, self.topic_embeddings):
                raise TopicModelError(f"model {self.version}: BERTopic saved other topic embeddings than fitted")
            tmp.replace(directory)
        except OSError as exc:
            raise TopicModelError(f"could not save topic model {self.version} to {directory}: {exc}") from exc
        finally:
            if tmp.exists():
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> "TopicModel":
        """Read a model written by `save` (no bertopic import)."""
        from safetensors.numpy import load_file

        directory = Path(directory)
        if not (directory / MANIFEST_FILE).is_file():
            raise OutdatedModelError(f"{directory} has no {MANIFEST_FILE}: not a model of this release; refit")
        try:
            manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
            arrays = load_file(str(directory / ARRAYS_FILE))
            matrix = load_file(str(directory / BERTOPIC_EMBEDDINGS_FILE))["topic_embeddings"]
        except (OSError, ValueError, KeyError) as exc:
            raise TopicModelError(
                f"cannot load topic model from {directory}: {exc}. Run `listen topics --refit` to fit a new one."
            ) from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise OutdatedModelError(f"{directory}: model format {manifest.get('format')} is not {FORMAT_VERSION}; refit")
        dim, outliers = int(manifest["dim"]), bool(manifest["outliers"])
        topics = manifest["topics"]
        centroids = np.ascontiguousarray(matrix[int(outliers):, :dim], dtype=np.float32)
        if len(centroids) != len(topics) or matrix.shape[1] != dim + 1:
            raise TopicModelError(f"{directory}: {BERTOPIC_EMBEDDINGS_FILE} does not match {MANIFEST_FILE}; refit")
        return cls(
            version=manifest["version"],
            embedding=manifest["embedding"],
            dim=dim,
            lang_names=list(manifest["lang_names"]),
            lang_means=arrays["lang_means"].reshape(len(manifest["lang_names"]), dim),
            global_mean=arrays["global_mean"],
            centroids=centroids,
            threshold=float(manifest["threshold"]),
            outliers=outliers,
            topic_ids=np.array([t["topic_id"] for t in topics], dtype=np.int64),
            keywords=[t["keywords"] for t in topics],
            keyword_weights=[t["keyword_weights"] for t in topics],
            labels=[t["labels"] for t in topics],
            sizes=[t["size"] for t in topics],
            lang_sizes=[t["lang_sizes"] for t in topics],
            representative_ids=[t["representative_ids"] for t in topics],
            params=manifest.get("params", {}),
            metrics=manifest.get("metrics", {}),
            window=manifest.get("window", {}),
            fine_centroids=arrays["fine_centroids"].reshape(-1, dim),
        )
