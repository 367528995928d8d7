"""The warehouse enrichment stage: only posts not yet enriched, embedded once, written back in bulk.

    >>> enrich_new_posts(con, settings)
    {'enriched': 1840, 'embedded': 1840, 'seconds': 21.3}
    >>> enrich_new_posts(con, settings)          # nothing new: touches no row
    {'enriched': 0, 'embedded': 0, 'seconds': 0.01}

Rows with ``enriched_at IS NULL`` are new or changed (the loader resets ``enriched_at`` when
``content_hash`` changes). A row is embedded when it has no vector yet, or when it was enriched before
(``enrich_version`` set) — its text changed, so its old vector is stale. Deleted posts get lang 'und',
sentiment 0 'neutral', intent 'other', no confidence, and lose any vector. Each batch of ``[enrich] batch_size`` rows is
written in one transaction: vectors via an Arrow table, enrichment columns via ``UPDATE ... FROM``.

``relabel_posts`` (``listen enrich --relabel``) marks the live posts that older rules or models labelled as not
enriched and with no enrich_version (so their stored vectors are reused) and runs the same stage on them.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.enrich.analyze import RESULT_FIELDS, Enricher, post_text
from pipelines.warehouse import transaction

SELECT_BATCH = """
SELECT p.post_id, core.post_text(p.title, p.body) AS text, p.lang_hint, p.is_deleted,
       e.post_id IS NULL OR e.model <> ? OR p.enrich_version IS NOT NULL AS needs_vector
FROM core.posts p LEFT JOIN core.post_embeddings e USING (post_id)
WHERE p.enriched_at IS NULL
ORDER BY p.post_id
LIMIT ?
"""
VECTORS_FOR = "SELECT post_id, vector FROM core.post_embeddings WHERE model = ? AND post_id IN (SELECT post_id FROM batch_ids)"
UPDATE_POSTS = """
UPDATE core.posts AS p
SET lang = u.lang, sentiment = u.sentiment, sentiment_label = u.sentiment_label, intent = u.intent,
    sentiment_confidence = u.sentiment_confidence, intent_confidence = u.intent_confidence,
    intent_rule = u.intent_rule, enriched_at = u.enriched_at, enrich_version = u.enrich_version, changed_at = now()
FROM enrich_updates AS u
WHERE p.post_id = u.post_id
"""
NUMERIC_FIELDS = ("sentiment", "sentiment_confidence", "intent_confidence")
UPSERT_VECTORS = """
INSERT OR REPLACE INTO core.post_embeddings (post_id, model, vector, embedded_at)
SELECT post_id, ?, vector, ? FROM enrich_vectors
"""


def _vectors_table(post_ids: list[str], vectors: np.ndarray) -> pa.Table:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    offsets = pa.array(np.arange(0, (len(post_ids) + 1) * vectors.shape[1], vectors.shape[1], dtype=np.int32))
    return pa.table({"post_id": pa.array(post_ids, pa.string()), "vector": pa.ListArray.from_arrays(offsets, flat)})


def enrich_new_posts(con, settings, progress: Callable[[int], None] | None = None) -> dict:
    """Enrich (and embed) every post with ``enriched_at IS NULL``; returns counts and seconds.

    ``progress(k)`` counts posts: it moves as the embedder finishes each of its length-sorted batches (embedding is
    most of the time), and the rest of a batch's posts count once they are written."""
    started = time.perf_counter()
    enrich_settings = settings.raw.enrich
    backend_name = settings.raw.topics.embedding
    enricher: Enricher | None = None
    backend = None
    enriched = embedded = 0
    reported = [0]  # posts of this batch counted while embedding

    def tick(n: int) -> None:
        if progress and n:
            reported[0] += n
            progress(n)

    while True:
        rows = con.execute(SELECT_BATCH, [backend_name, enrich_settings.batch_size]).df()
        if rows.empty:
            break
        enricher = enricher or Enricher(enrich_settings, backend_name)
        now = datetime.now(timezone.utc)
        texts = rows["text"].tolist()  # core.post_text: the one definition of a post's text (migration 050)
        deleted = rows["is_deleted"].to_numpy(dtype=bool)
        live = np.flatnonzero(~deleted)
        embed_idx = [i for i in live if enrich_settings.embed and rows["needs_vector"].iat[i]]
        new_vectors = None
        reported[0] = 0
        if embed_idx:
            if backend is None:
                from pipelines.embeddings import get_backend

                backend = get_backend(backend_name)
            new_vectors = backend.embed([texts[i] for i in embed_idx], progress=tick)

        # The classifiers reuse the warehouse vectors when they were fitted on this backend's (pipelines.enrich.
        # classifiers: a backend without its own shipped pair is labelled by the default kind's, which embed for
        # themselves).
        vectors = None
        if enricher.embedding_backend == backend_name and enrich_settings.embed and len(live):
            vectors = _live_vectors(con, rows, live, embed_idx, new_vectors, backend_name)
        live_texts = [texts[i] for i in live]
        hints = [rows["lang_hint"].iat[i] if isinstance(rows["lang_hint"].iat[i], str) else None for i in live]
        results = enricher.analyze(live_texts, hints, vectors, backend_name) if len(live) else []

        updates = pd.DataFrame({
            "post_id": rows["post_id"],
            "lang": "und", "sentiment": 0.0, "sentiment_label": "neutral", "intent": "other",
            "sentiment_confidence": np.nan, "intent_confidence": np.nan, "intent_rule": None,
            "enriched_at": now, "enrich_version": enricher.version,
        })
        for column in RESULT_FIELDS:
            values = [r[column] for r in results]
            if column in NUMERIC_FIELDS:  # a text in another language has no confidence: None -> NaN -> NULL
                values = np.array([np.nan if v is None else v for v in values], dtype=float)
            updates.loc[live, column] = values

        with transaction(con):
            if new_vectors is not None:
                con.register("enrich_vectors", _vectors_table([rows["post_id"].iat[i] for i in embed_idx], new_vectors))
                con.execute(UPSERT_VECTORS, [backend_name, now])
                con.unregister("enrich_vectors")
            if deleted.any():
                gone = rows.loc[deleted, ["post_id"]]
                con.register("deleted_ids", gone)
                con.execute("DELETE FROM core.post_embeddings WHERE post_id IN (SELECT post_id FROM deleted_ids)")
                con.unregister("deleted_ids")
            con.register("enrich_updates", updates)
            con.execute(UPDATE_POSTS)
            con.unregister("enrich_updates")
        enriched += len(rows)
        embedded += len(embed_idx)
        if progress:
            progress(len(rows) - reported[0])
    return {"enriched": enriched, "embedded": embedded, "seconds": round(time.perf_counter() - started, 2)}


# live posts labelled by other rules or models than the version given: what status counts and relabel marks
_LABELLED_BY_OTHERS = "enriched_at IS NOT NULL AND NOT is_deleted AND enrich_version IS DISTINCT FROM ?"
MARK_FOR_RELABEL = f"""
UPDATE core.posts SET enriched_at = NULL, enrich_version = NULL, changed_at = now()
WHERE {_LABELLED_BY_OTHERS}
"""
OLDER_LABELS = f"""
SELECT coalesce(enrich_version, 'unknown') AS version, count(*) AS posts FROM core.posts
WHERE {_LABELLED_BY_OTHERS}
GROUP BY 1 ORDER BY posts DESC, version
"""


def older_labels(con, settings) -> list[tuple[str, int]]:
    """(enrich_version, live posts) labelled by other rules or models than the configured ones, most first."""
    return _labelled_by_others(con, _configured_version(settings))


def _configured_version(settings) -> str:
    from pipelines.enrich.analyze import current_labelling_version

    return current_labelling_version(settings.raw.enrich, settings.raw.topics.embedding)


def _labelled_by_others(con, version: str) -> list[tuple[str, int]]:
    return [(v, int(n)) for v, n in con.execute(OLDER_LABELS, [version]).fetchall()]


def relabel_posts(con, settings, progress: Callable[[int], None] | None = None) -> dict:
    """Label every live post that older rules or models labelled again with the configured ones (`listen enrich
    --relabel`), so the warehouse, `listen analyze` and the report count one set of labels.

    The posts are marked as not enriched, with no enrich_version, in one transaction: that tells the enrich
    stage their text did not change, so their stored vectors are reused and nothing is embedded again unless a
    vector of the configured kind is missing. The enrich stage then labels them batch by batch; an interrupted
    run leaves the rest marked, and the next `listen enrich` or daily run finishes them. Their changed_at moves,
    so the quality check and the trend refresh see the new labels."""
    version = _configured_version(settings)
    before = dict(_labelled_by_others(con, version))
    with transaction(con):
        con.execute(MARK_FOR_RELABEL, [version])
    result = enrich_new_posts(con, settings, progress=progress)
    return {**result, "relabelled_from": before, "version": version}


def _live_vectors(con, rows: pd.DataFrame, live: np.ndarray, embed_idx: list[int], new_vectors, backend_name: str):
    """Vectors for the live rows, in row order: fresh ones from this batch, the rest from the warehouse.
    Returns None if any live row has no vector (then the Enricher embeds what it needs itself)."""
    by_id: dict[str, np.ndarray] = {}
    if new_vectors is not None:
        by_id.update({rows["post_id"].iat[i]: v for i, v in zip(embed_idx, new_vectors)})
    missing = [rows["post_id"].iat[i] for i in live if rows["post_id"].iat[i] not in by_id]
    if missing:
        con.register("batch_ids", pd.DataFrame({"post_id": missing}))
        stored = con.execute(VECTORS_FOR, [backend_name]).fetchall()
        con.unregister("batch_ids")
        by_id.update({post_id: np.asarray(vector, dtype=np.float32) for post_id, vector in stored})
    if any(rows["post_id"].iat[i] not in by_id for i in live):
        return None
    return np.stack([by_id[rows["post_id"].iat[i]] for i in live])
