"""What `listen forget` does to topic models: nothing learnt from a forgotten post survives it.

    >>> forgotten = forgotten_posts(con, ["forum:1", "forum:2"])        # before the posts are deleted
    >>> ... delete the posts ...
    >>> forget_in_topics(con, settings, forgotten)
    {'models_affected': ['20261201T...Z'], 'refit': '20261202T...Z', 'models_removed': [...], 'topics_scrubbed': 2, ...}

A saved model folder holds what its window's posts taught it: BERTopic's c-TF-IDF vocabulary (every word of
every post), topic words and labels, representative post ids, centroids and language means. Pruning words out
of BERTopic's files by hand would leave the rest (c-TF-IDF weights, centroids) computed with the post, so:

1. A model is affected when a forgotten post's `created_at` lies in its window (the posts a refit reads; a post
   loaded after the fit counts too: the window is all we know without storing post ids in the model).
2. When the model in use is affected, the topic model is refitted now, exactly as `listen topics --refit` does, on
   what remains: everything in the new folder is computed from the remaining posts. The affected model serves
   only as the start of the clustering and to keep topic ids stable (numbers, no words or ids).
3. Every affected model folder is deleted (the one in use and older ones kept for history).
4. Topics last described by an affected model that the refit did not describe again (retired, merged or split
   topics; all of them when too few posts remain to refit) keep only the words of their label and keywords that a
   remaining post of that model's window still uses.
5. Alerts drop the forgotten posts from their examples, and the message of an alert whose topic label changed is
   written again with the label of now.

Cost: one refit on the window (the bertopic import and a fit: about 30 s for 50k posts, see bench/bench_topics.py)
when the model in use is affected, nothing when no model holds the posts.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from pipelines.errors import ListenError
from pipelines.topics.vocabulary import lemmas

_TEXT = "core.post_text(p.title, p.body)"


def forgotten_posts(con, post_ids: list[str]) -> list[dict]:
    """What forget must know about posts before deleting them: id, created_at, text and language."""
    if not post_ids:
        return []
    rows = con.execute(f"SELECT p.post_id, p.created_at, {_TEXT}, p.lang FROM core.posts p "
                       f"WHERE list_contains(?::VARCHAR[], p.post_id)", [post_ids]).fetchall()
    return [{"post_id": r[0], "created_at": r[1], "text": r[2] or "", "lang": r[3]} for r in rows]


def affected_models(con, forgotten: list[dict]) -> list[dict]:
    """The recorded models whose window holds a forgotten post (a window not recorded counts as holding it)."""
    created = [p["created_at"] for p in forgotten if p["created_at"] is not None]
    if not created:
        return []
    models = con.execute("SELECT model_version, path, window_start, window_end FROM core.topic_models "
                         "ORDER BY fitted_at, model_version").fetchall()
    return [{"version": version, "path": path, "start": start, "end": end}
            for version, path, start, end in models
            if any((start is None or t > start) and (end is None or t <= end) for t in created)]


def forget_in_topics(con, settings, forgotten: list[dict]) -> dict:
    """Refit the model in use if a forgotten post is in its window, delete every model folder that learnt from one,
    and scrub the words only those posts gave to topic descriptions (see the module docstring)."""
    from pipelines.topics.stage import current_model, refit

    affected = affected_models(con, forgotten)
    summary: dict = {"models_affected": [m["version"] for m in affected]}
    if not affected:
        return summary
    versions = {m["version"] for m in affected}
    labels_before = _labels(con)
    in_use = current_model(con, settings)
    if in_use is not None and in_use.version in versions:
        began = time.perf_counter()
        try:
            result = refit(con, settings, force=True, reason="forget")
        except ListenError as exc:  # the posts are gone already: remove what learnt from them, refit next run
            result = {"refit": False, "reason": str(exc)}
        summary["refit_seconds"] = round(time.perf_counter() - began, 1)
        summary["refit"] = result["model_version"] if result.get("refit") else None
        if not result.get("refit"):
            summary["refit_skipped"] = result.get("reason")
    removed = []
    for model in affected:
        folder = Path(model["path"])
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(model["version"])
    summary["models_removed"] = removed
    summary["topics_scrubbed"] = _scrub_topics(con, affected, forgotten)
    summary["alerts_rewritten"] = _rewrite_alerts(con, settings, forgotten, labels_before)
    return summary


def _labels(con) -> dict[int, str]:
    return dict(con.execute("SELECT topic_id, label FROM core.topics").fetchall())


def _words(term: str) -> list[str]:
    return [word.lower() for word in term.split()]


def _scrub_topics(con, affected: list[dict], forgotten: list[dict]) -> int:
    """Drop label and keyword words that only forgotten posts used, from topics an affected model described last."""
    windows = {m["version"]: (m["start"], m["end"]) for m in affected}
    rows = con.execute("SELECT topic_id, label, keywords, labels, model_version FROM core.topics "
                       "WHERE list_contains(?::VARCHAR[], model_version)", [sorted(windows)]).fetchall()
    if not rows:
        return 0
    theirs = {word.lower() for post in forgotten for word in lemmas(post["text"], post["lang"])}
    gone: dict[tuple[str, str], bool] = {}  # (model version, word) -> no remaining post of the window uses it

    def kept(term: str, version: str) -> bool:
        for word in _words(term):
            if word in theirs:
                key = (version, word)
                if key not in gone:
                    gone[key] = not _still_used(con, word, *windows[version])
                if gone[key]:
                    return False
        return True

    changed = 0
    for topic_id, label, keywords, labels, version in rows:
        keywords = list(keywords or [])
        labels = dict(labels or {})
        new_keywords = [k for k in keywords if kept(k, version)]
        new_labels = {}
        for lang, text in labels.items():
            parts = [part for part in text.split(", ") if kept(part, version)]
            if parts:
                new_labels[lang] = ", ".join(parts)
        parts = [part for part in label.split(", ") if kept(part, version)]
        new_label = (", ".join(parts) if parts else None) or next(iter(new_labels.values()), None) \
            or ", ".join(new_keywords[:3]) or f"topic {topic_id}"
        if (new_label, new_keywords, new_labels) == (label, keywords, labels):
            continue
        con.execute("UPDATE core.topics SET label = ?, keywords = ?, labels = MAP(?::VARCHAR[], ?::VARCHAR[]) "
                    "WHERE topic_id = ?", [new_label, new_keywords, list(new_labels), list(new_labels.values()),
                                           topic_id])
        changed += 1
    return changed


def _still_used(con, word: str, start, end) -> bool:
    """Whether a remaining post of the window (start, end] has `word` among its lemmas. A LIKE on the text finds
    candidates; a lemma the text does not contain as written ('went' -> 'go') is not found, so such a word goes."""
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cursor = con.execute(
        f"""SELECT {_TEXT}, p.lang FROM core.posts p
            WHERE (?::TIMESTAMPTZ IS NULL OR p.created_at > ?) AND (?::TIMESTAMPTZ IS NULL OR p.created_at <= ?)
              AND lower({_TEXT}) LIKE ? ESCAPE '\\'""", [start, start, end, end, pattern])
    while batch := cursor.fetchmany(500):
        if any(word in {lemma.lower() for lemma in lemmas(text, lang)} for text, lang in batch):
            return True
    return False


def _rewrite_alerts(con, settings, forgotten: list[dict], labels_before: dict[int, str]) -> int:
    """Forgotten posts leave alerts' examples; an alert whose topic label changed gets its message written again."""
    from pipelines.alerts.messages import describe
    from pipelines.report.i18n import Strings

    ids = [p["post_id"] for p in forgotten]
    con.execute("""UPDATE core.alerts SET example_post_ids = list_filter(example_post_ids,
                                                          lambda x: NOT list_contains(?::VARCHAR[], x))
                   WHERE len(list_intersect(example_post_ids, ?::VARCHAR[])) > 0""", [ids, ids])
    labels_now = _labels(con)
    relabelled = sorted(t for t, label in labels_before.items() if labels_now.get(t) != label)
    if not relabelled:
        return 0
    t = Strings(settings.raw.alerts.lang or settings.raw.report.lang)
    rows = con.execute("SELECT alert_id, kind, topic_id, channel, community, source, score, detail FROM core.alerts "
                       "WHERE list_contains(?::INTEGER[], topic_id)", [relabelled]).fetchall()
    for alert_id, kind, topic_id, channel, community, source, score, detail in rows:
        fields = {"kind": kind, "topic_id": topic_id, "channel": channel, "community": community, "source": source,
                  "score": score, "label": labels_now.get(topic_id),
                  "detail": json.loads(detail) if isinstance(detail, str) else (detail or {})}
        con.execute("UPDATE core.alerts SET message = ? WHERE alert_id = ?", [describe(fields, t), alert_id])
    return len(rows)
