"""The warehouse stage: embed once, refit on a window, assign new posts with the current model.

    >>> refit(con, settings, force=True)          # {'refit': True, 'model_version': ..., 'topics': 12, ...}
    >>> assign_new_posts(con, settings)           # {'assigned': 180, 'unassigned': 9, 'embedded': 180, ...}

Daily path (`assign_new_posts`): only posts with `topic_assigned_at IS NULL` are read, embedded if their
vector is missing, and assigned with the latest saved model (BERTopic's transform rule without importing
bertopic, see `model.py`). Refit path: posts of the last `window_days` (up to the newest post) are fitted
as a BERTopic model (`fit.py`), the new topics are matched to the previous model's (`stable_ids.py`), and
every post in the window is reassigned with the new model.

A new install with too few posts is a state, not a failure: the stage returns `{"state": "waiting", ...}`,
records the attempt in core.topic_fit_attempts (shown by `listen status` and the report) and assigns
nothing until `min_posts_to_fit` posts exist. A model folder is written only once its topics exist, and
removed again if recording it fails, so no run leaves an orphan folder behind.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from pipelines.embeddings import require_vector_kind, vector_kind
from pipelines.topics.model import MANIFEST_FILE, OutdatedModelError, TopicModel, TopicModelError
from pipelines.topics.stable_ids import match_topics
from pipelines.warehouse import transaction

BATCH = 5000
_TEXT = "core.post_text(p.title, p.body)"  # the text of a post, defined once (sql/schema/050_post_text.sql)
_ELIGIBLE = "p.enriched_at IS NOT NULL AND NOT p.is_deleted"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _tick(progress, n: int) -> None:
    if progress is not None and n:
        progress(n)


# ---- embeddings: one vector per post, reused by every refit ----
def embed_missing(con, post_ids: list[str], embedding: str) -> int:
    """Embed and store the posts in `post_ids` that have no vector from `embedding` yet; returns how many."""
    if not post_ids:
        return 0
    from pipelines.embeddings import get_backend

    backend = get_backend(embedding)
    con.execute("CREATE OR REPLACE TEMP TABLE _topic_ids AS SELECT unnest(?::VARCHAR[]) AS post_id", [post_ids])
    todo = con.execute(
        f"""SELECT p.post_id, {_TEXT} FROM _topic_ids t JOIN core.posts p USING (post_id)
            LEFT JOIN core.post_embeddings e ON e.post_id = p.post_id AND e.model = ?
            WHERE e.post_id IS NULL""",
        [backend.name],
    ).fetchall()
    if not todo:
        return 0
    vectors = backend.embed([text or " " for _, text in todo])
    import pyarrow as pa

    table = pa.table({
        "post_id": [pid for pid, _ in todo],
        "model": [backend.name] * len(todo),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]),
    })
    con.register("_new_vectors", table)
    try:
        with transaction(con):
            con.execute("DELETE FROM core.post_embeddings WHERE post_id IN (SELECT post_id FROM _new_vectors)")
            con.execute("INSERT INTO core.post_embeddings SELECT post_id, model, vector::FLOAT[], now() FROM _new_vectors")
    finally:
        con.unregister("_new_vectors")
    return len(todo)


def load_posts(con, where: str, params: list, embedding: str) -> dict:
    """post_ids, texts, langs, created_at and stored vectors of the eligible posts matching `where`."""
    from pipelines.embeddings import get_backend

    model_name = get_backend(embedding).name
    join = f"""FROM core.posts p JOIN core.post_embeddings e ON e.post_id = p.post_id AND e.model = ?
               WHERE {_ELIGIBLE} AND ({where})"""
    # DuckDB reads the vector column of every row group it scans, matched or not: bounding embedded_at by the
    # batch's oldest vector (found on two narrow columns) lets zone maps skip the history's row groups, so a
    # day's batch costs the same on 10k or 1M stored vectors.
    oldest = con.execute(f"SELECT min(e.embedded_at) {join}", [model_name, *params]).fetchall()[0][0]
    if oldest is None:
        oldest = datetime.max.replace(tzinfo=timezone.utc)
    table = con.sql(
        f"SELECT p.post_id, {_TEXT} AS text, p.lang, p.created_at, e.vector {join} AND e.embedded_at >= ? "
        f"ORDER BY p.post_id",
        params=[model_name, *params, oldest],
    ).to_arrow_table()
    n = table.num_rows
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False) if n else np.zeros(0)
    dim = len(flat) // n if n else 0
    return {
        "post_id": table.column("post_id").to_pylist(),
        "text": table.column("text").to_pylist(),
        "lang": table.column("lang").to_pylist(),
        "created_at": table.column("created_at").to_pylist(),
        "vectors": flat.astype(np.float32).reshape(n, dim) if n else np.zeros((0, 0), np.float32),
    }


def _write_assignments(con, post_ids: list[str], topic_ids: np.ndarray, similarity: np.ndarray, version: str) -> None:
    import pyarrow as pa

    con.register("_assigned", pa.table({"post_id": post_ids, "topic_id": pa.array(topic_ids.astype(np.int32)),
                                        "similarity": pa.array(np.asarray(similarity, np.float32))}))
    try:
        con.execute(
            """UPDATE core.posts SET topic_id = a.topic_id, topic_similarity = a.similarity,
                                     topic_model_version = ?, topic_assigned_at = now(), changed_at = now()
               FROM _assigned a WHERE core.posts.post_id = a.post_id""",
            [version],
        )
    finally:
        con.unregister("_assigned")


def _assign(model: TopicModel, posts: dict) -> tuple[np.ndarray, np.ndarray]:
    """(stable topic ids, similarity) for loaded posts; posts without text stay unassigned."""
    if not posts["post_id"]:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    topics, similarity = model.assign(posts["vectors"], posts["lang"])
    empty = np.array([not (t or "").strip() for t in posts["text"]], dtype=bool)
    topics[empty], similarity[empty] = -1, 0.0
    return topics, similarity


# ---- models on disk ----
_VERSION_DIR = re.compile(r"^\.?\d{8}T\d{12}Z(?:\.tmp)?$")


def current_model(con, settings) -> TopicModel | None:
    """The latest fitted model recorded in core.topic_models that loads, or None: no model yet, or the latest
    is from an older release (the next refit replaces it). A folder that is gone falls back to the one before."""
    for _, path in con.execute(
        "SELECT model_version, path FROM core.topic_models ORDER BY fitted_at DESC, model_version DESC LIMIT 3"
    ).fetchall():
        if not Path(path).is_dir():
            continue
        try:
            return TopicModel.load(path)
        except OutdatedModelError:
            return None
    return None


def _prune_models(con, models_dir: Path, keep: int) -> list[str]:
    """Keep the `keep` newest recorded models; remove older ones, unrecorded (orphan) and half-written folders."""
    if not models_dir.is_dir():
        return []
    recorded = [Path(p) for (p,) in con.execute(
        "SELECT path FROM core.topic_models ORDER BY fitted_at DESC, model_version DESC").fetchall()]
    loadable = [p.name for p in recorded if (p / MANIFEST_FILE).is_file()]  # newest first
    kept = set(loadable[:keep])  # an older release's folder does not load: it goes too
    removed = []
    for folder in sorted(models_dir.iterdir()):
        if folder.is_dir() and _VERSION_DIR.match(folder.name) and folder.name not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


# ---- refit ----
def refit_due(con, settings, now: datetime | None = None) -> str | None:
    """Why a refit is due ('no model', 'schedule', 'unassigned share 0.41'), or None."""
    cfg = settings.raw.topics
    last = con.execute("SELECT model_version, fitted_at FROM core.topic_models ORDER BY fitted_at DESC LIMIT 1").fetchone()
    if last is None:
        return "no model"
    model = current_model(con, settings)
    if model is None:
        return "no loadable model (fitted by an older release, or its folder is gone)"
    version, fitted_at = last
    if model.embedding != vector_kind(cfg.embedding):
        return f"[topics] embedding is now {vector_kind(cfg.embedding)!r}, the model was fitted on {model.embedding!r}"
    if (now or _now()) - fitted_at >= timedelta(days=cfg.refit_every_days):
        return "schedule"
    # drift: posts assigned by this model since it was fitted that no topic claims
    total, unassigned = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE topic_id = -1) FROM core.posts "
        "WHERE topic_model_version = ? AND topic_assigned_at > ?",
        [version, fitted_at],
    ).fetchone()
    if total >= cfg.min_posts_to_fit and unassigned / total >= cfg.refit_unassigned_share:
        return f"unassigned share {unassigned / total:.2f}"
    return None


def _record_attempt(con, outcome: str, posts: int, needed: int, min_topic_size: int | None = None,
                    version: str | None = None, reason: str | None = None) -> None:
    con.execute("INSERT INTO core.topic_fit_attempts VALUES (now(), ?, ?, ?, ?, ?, ?)",
                [outcome, posts, needed, min_topic_size, version, reason])


def _waiting(con, posts: int, needed: int, reason: str, outcome: str = "waiting", min_topic_size: int | None = None) -> dict:
    """The 'no topics yet' result: recorded for status and report, never an error."""
    _record_attempt(con, outcome, posts, needed, min_topic_size, reason=reason)
    return {"refit": False, "state": outcome, "reason": reason, "posts": posts, "needed": needed}


def _unchanged_since_last_attempt(con) -> dict | None:
    """The last attempt's result when it found no topics and no post was enriched since: the same window
    would give the same answer, so the daily run does not fit again (a forced refit always does)."""
    last = con.execute("SELECT attempted_at, outcome, posts, needed, reason FROM core.topic_fit_attempts "
                       "ORDER BY attempted_at DESC LIMIT 1").fetchone()
    if last is None or last[1] not in ("waiting", "no_topics"):
        return None
    newer = con.execute("SELECT count(*) FROM core.posts WHERE enriched_at >= ?", [last[0]]).fetchone()[0]
    if newer:
        return None
    return {"refit": False, "state": last[1], "reason": last[4], "posts": last[2], "needed": last[3]}


def refit(con, settings, force: bool = False, progress=None) -> dict:
    """Fit a new model on the recent window when forced or due; keep ids, record lineage, reassign the window."""
    cfg = settings.raw.topics
    reason = "forced" if force else refit_due(con, settings)
    if reason is None:
        return {"refit": False, "reason": "not due"}
    if reason == "no model":
        unchanged = _unchanged_since_last_attempt(con)
        if unchanged:
            return unchanged
    newest = con.execute(
        f"SELECT max(p.created_at) FROM core.posts p WHERE {_ELIGIBLE} AND p.duplicate_of IS NULL"
    ).fetchone()[0]
    if newest is None:
        return _waiting(con, 0, cfg.min_posts_to_fit, "not enough posts yet: no enriched posts")
    window_start = newest - timedelta(days=cfg.window_days)
    in_window = (
        "p.created_at > ? AND p.duplicate_of IS NULL "
        "AND p.post_id NOT IN (SELECT post_id FROM core.quarantine)"
    )
    ids = [r[0] for r in con.execute(
        f"SELECT p.post_id FROM core.posts p WHERE {_ELIGIBLE} AND {in_window} AND {_TEXT} <> ''", [window_start]
    ).fetchall()]
    if len(ids) < cfg.min_posts_to_fit:
        return _waiting(con, len(ids), cfg.min_posts_to_fit,
                        f"not enough posts yet: {len(ids)} of the {cfg.min_posts_to_fit} needed to find topics "
                        f"(min_posts_to_fit) in the last {cfg.window_days} days")
    embedded = 0
    for i in range(0, len(ids), BATCH):
        n = embed_missing(con, ids[i : i + BATCH], cfg.embedding)
        embedded += n
        _tick(progress, n)
    posts = load_posts(con, f"{in_window} AND {_TEXT} <> ''", [window_start], cfg.embedding)
    from pipelines.embeddings import get_backend
    from pipelines.topics.fit import auto_min_topic_size, fit_topics

    min_topic_size = cfg.min_topic_size or auto_min_topic_size(len(posts["post_id"]))
    previous = current_model(con, settings)
    try:
        model = fit_topics(
            posts["text"], posts["vectors"], posts["lang"], posts["post_id"],
            embedding=get_backend(cfg.embedding).name, min_topic_size=cfg.min_topic_size,
            window={"start": window_start.isoformat(), "end": newest.isoformat(), "days": cfg.window_days},
            previous=previous,
        )
    except TopicModelError as exc:
        return _waiting(con, len(posts["post_id"]), cfg.min_posts_to_fit, f"no topics yet: {exc}", "no_topics",
                        min_topic_size)
    if not len(model.topic_ids):
        return _waiting(con, len(posts["post_id"]), cfg.min_posts_to_fit,
                        f"no topics yet: no {min_topic_size} of the {len(posts['post_id'])} posts are similar enough "
                        f"to form a topic (min_topic_size)", "no_topics", min_topic_size)
    next_id = int(con.execute("SELECT coalesce(max(topic_id) + 1, 0) FROM core.topics").fetchone()[0])
    if previous is not None:
        next_id = max(next_id, int(previous.topic_ids.max(initial=-1)) + 1)
    matched = match_topics(previous, model, next_id)
    model = model.with_topic_ids(matched.topic_ids)
    relations = {}
    for row in matched.lineage:
        relations[row["relation"]] = relations.get(row["relation"], 0) + 1
    model.metrics["lineage"] = relations
    path = model.save(settings.paths.models)
    try:
        window_ids, window_topics, window_similarity = _reassign_window(con, model, window_start, cfg.embedding)
        _tick(progress, len(window_ids))
        with transaction(con):
            # now() is the transaction's start: the reassigned window then counts as "at fit", not as drift
            fitted_at = con.execute("SELECT now()").fetchone()[0]
            con.execute(
                "INSERT INTO core.topic_models VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [model.version, fitted_at, window_start, newest, len(posts["post_id"]), str(path),
                 json.dumps(model.params), json.dumps(model.metrics)],
            )
            con.executemany(
                "INSERT INTO core.topic_lineage VALUES (?, ?, ?, ?, ?)",
                [[model.version, r["topic_id"], r["previous_topic_id"], r["relation"], r["similarity"]]
                 for r in matched.lineage],
            )
            _write_assignments(con, window_ids, window_topics, window_similarity, model.version)
            _write_topics(con, model, fitted_at, matched)
            _record_attempt(con, "fitted", len(posts["post_id"]), cfg.min_posts_to_fit,
                            int(model.params["min_topic_size"]), model.version, reason)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # nothing refers to it: no orphan folder
        raise
    removed = _prune_models(con, Path(settings.paths.models), cfg.keep_models)
    return {
        "refit": True,
        "state": "fitted",
        "reason": reason,
        "model_version": model.version,
        "documents": len(posts["post_id"]),
        "embedded": embedded,
        "topics": len(model.topic_ids),
        "min_topic_size": int(model.params["min_topic_size"]),
        "unassigned_share": model.metrics["unassigned_share"],
        "reassigned": len(window_ids),
        "lineage": relations,
        "pruned_models": removed,
        "seconds": model.metrics["fit_seconds"],
    }


def _reassign_window(con, model: TopicModel, window_start, embedding: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Assign every eligible post of the window (duplicates and quarantined posts included) with `model`."""
    ids = [r[0] for r in con.execute(
        f"SELECT p.post_id FROM core.posts p WHERE {_ELIGIBLE} AND p.created_at > ?", [window_start]
    ).fetchall()]
    for i in range(0, len(ids), BATCH):
        embed_missing(con, ids[i : i + BATCH], embedding)
    posts = load_posts(con, "p.created_at > ?", [window_start], embedding)
    topics, similarity = _assign(model, posts)
    return posts["post_id"], topics, similarity


def _write_topics(con, model: TopicModel, fitted_at, matched) -> None:
    """Upsert the model's topics (first_seen kept for continued ids); mark old ids merged/split/retired."""
    continued = {int(t) for t in model.topic_ids}
    span = {
        int(t): (first, last)
        for t, first, last in con.execute(
            "SELECT topic_id, min(created_at), max(created_at) FROM core.posts "
            "WHERE topic_model_version = ? AND topic_id >= 0 GROUP BY topic_id", [model.version]
        ).fetchall()
    }
    for topic in model.topics():
        first_post, last_post = span.get(topic["topic_id"], (fitted_at, fitted_at))
        labels, languages = topic["labels"], topic["lang_sizes"]
        con.execute(
            """INSERT INTO core.topics (topic_id, label, keywords, size, first_seen, last_seen, status, model_version,
                                        representative_ids, labels, languages)
               VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, MAP(?::VARCHAR[], ?::VARCHAR[]), MAP(?::VARCHAR[], ?::INTEGER[]))
               ON CONFLICT (topic_id) DO UPDATE SET label = excluded.label, keywords = excluded.keywords,
                 first_seen = least(core.topics.first_seen, excluded.first_seen),
                 size = excluded.size, last_seen = greatest(core.topics.last_seen, excluded.last_seen),
                 status = 'active', model_version = excluded.model_version,
                 representative_ids = excluded.representative_ids, labels = excluded.labels,
                 languages = excluded.languages""",
            [topic["topic_id"], topic["label"], topic["keywords"], topic["size"], first_post or fitted_at,
             last_post or fitted_at, model.version, topic["representative_ids"], list(labels), list(labels.values()),
             list(languages), list(languages.values())],
        )
    for old_id, status in [(i, "merged") for i in matched.merged] + [(i, "retired") for i in matched.retired]:
        if old_id not in continued:
            con.execute("UPDATE core.topics SET status = ?, size = 0 WHERE topic_id = ?", [status, old_id])
    for old_id in matched.split:
        if old_id not in continued:
            con.execute("UPDATE core.topics SET status = 'split', size = 0 WHERE topic_id = ?", [old_id])


# ---- daily ----
def assign_new_posts(con, settings, progress=None) -> dict:
    """Assign topics to enriched posts that have none yet (fit first if there is no model and enough posts).

    Without a model and with too few posts the result says so (`state` 'waiting' or 'no_topics', `reason`)
    and the posts stay in the queue for the day a model exists."""
    cfg = settings.raw.topics
    result = {"assigned": 0, "unassigned": 0, "embedded": 0, "model_version": None, "fitted": False}
    model = current_model(con, settings)
    if model is None:
        fitted = refit(con, settings, progress=progress)
        if not fitted.get("refit"):
            result.update(state=fitted.get("state", "waiting"), reason=fitted.get("reason"))
            return result
        result["fitted"] = True
        result["refit"] = fitted
        model = current_model(con, settings)
        if model is None:  # pragma: no cover - refit just saved one
            raise TopicModelError(f"model {fitted.get('model_version')} was fitted but cannot be loaded")
    require_vector_kind(model.embedding, vector_kind(cfg.embedding), f"topic model {model.version}",
                        "its topics cannot place these vectors. Run `listen topics --refit` (it embeds the recent "
                        "window with the configured backend) or set [topics] embedding back")
    result["model_version"] = model.version
    while True:
        ids = [r[0] for r in con.execute(
            f"SELECT p.post_id FROM core.posts p WHERE {_ELIGIBLE} AND p.topic_assigned_at IS NULL "
            f"ORDER BY p.post_id LIMIT {BATCH}"
        ).fetchall()]
        if not ids:
            break
        result["embedded"] += embed_missing(con, ids, cfg.embedding)
        con.execute("CREATE OR REPLACE TEMP TABLE _batch AS SELECT unnest(?::VARCHAR[]) AS post_id", [ids])
        posts = load_posts(con, "p.post_id IN (SELECT post_id FROM _batch)", [], cfg.embedding)
        topics, similarity = _assign(model, posts)
        # posts whose vector could not be loaded still leave the queue, as unassigned
        missing = sorted(set(ids) - set(posts["post_id"]))
        all_ids = posts["post_id"] + missing
        all_topics = np.concatenate([topics, np.full(len(missing), -1, dtype=np.int64)])
        all_similarity = np.concatenate([similarity, np.zeros(len(missing), np.float32)])
        with transaction(con):
            _write_assignments(con, all_ids, all_topics, all_similarity, model.version)
        result["assigned"] += int((all_topics >= 0).sum())
        result["unassigned"] += int((all_topics < 0).sum())
        _tick(progress, len(all_ids))
    return result


# ---- state, for `listen status` and the report ----
def topics_state(con) -> dict:
    """Where topic modelling stands: the model in use, or why there is none yet.

    {'state': 'fitted', 'model_version', 'fitted_at', 'documents', 'topics'} or
    {'state': 'waiting' | 'no_topics', 'reason', 'posts', 'needed', 'min_topic_size', 'attempted_at'} or
    {'state': 'none'}."""
    model = con.execute("""SELECT m.model_version, m.fitted_at, m.documents,
                                  (SELECT count(*) FROM core.topics t WHERE t.model_version = m.model_version)
                           FROM core.topic_models m ORDER BY m.fitted_at DESC LIMIT 1""").fetchone()
    if model:
        return {"state": "fitted", "model_version": model[0], "fitted_at": model[1], "documents": model[2],
                "topics": model[3]}
    import duckdb

    try:
        last = con.execute("SELECT attempted_at, outcome, posts, needed, reason, min_topic_size "
                           "FROM core.topic_fit_attempts ORDER BY attempted_at DESC LIMIT 1").fetchone()
    except duckdb.CatalogException:  # a warehouse or snapshot from before migration 031
        last = None
    if last is None:
        return {"state": "none"}
    return {"state": last[1], "attempted_at": last[0], "posts": last[2], "needed": last[3], "reason": last[4],
            "min_topic_size": last[5]}
