"""Rising and falling topics with a score that does not get excited about small counts.

    >>> scores, method = topic_scores(con, window)       # after connection.prepare(con, window)
    >>> scores[0]
    {'topic_id': 4, 'posts': 30, 'posts_prev': 10, 'expected': 10.0, 'score': 4.58}

When the topics package is importable its score is used (see `topic_scores`). Our own fallback score is a variance-stabilised
difference of Poisson counts: 2·(√(a+3/8) − √(e+3/8)), with a = the topic's posts in this period and
e = the posts expected from its share in the period before, scaled to this period's total. 1 → 3 posts
scores 1.3, 10 → 30 posts 4.6; |score| above 2 is unusual for noise.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

SCORE_SQL = """
WITH counts AS (
    SELECT topic,
           count(*) FILTER (WHERE period = 'current')  AS a,
           count(*) FILTER (WHERE period = 'previous') AS b
    FROM report_posts GROUP BY topic
),
totals AS (
    SELECT count(*) FILTER (WHERE period = 'current')  AS big_a,
           count(*) FILTER (WHERE period = 'previous') AS big_b
    FROM report_posts
)
SELECT topic AS topic_id, a AS posts, b AS posts_prev,
       b * big_a / big_b AS expected,
       round(2 * (sqrt(a + 0.375) - sqrt(b * big_a / big_b + 0.375)), 2) AS score
FROM counts, totals
WHERE topic >= 0 AND big_b > 0
ORDER BY score DESC, topic_id
"""


def own_scores(con) -> list[dict]:
    """Score every assigned topic in report_posts; empty when the previous period has no posts at all."""
    cur = con.execute(SCORE_SQL)
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def _rows_from(result) -> list[dict]:
    """Accept a DataFrame, a list of dicts or (columns, rows); anything else raises TypeError."""
    if hasattr(result, "to_dict"):
        return list(result.to_dict("records"))
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], (list, tuple)):
        return [dict(zip(result[0], row)) for row in result[1]]
    if isinstance(result, list) and all(isinstance(r, dict) for r in result):
        return result
    raise TypeError(f"unexpected rising_topics result {type(result).__name__}")


def topic_scores(con, window) -> tuple[list[dict], str]:
    """(rows with topic_id, posts, posts_prev, score; 'topics' | 'own'), best rising first.

    Preference: the topics package's `rising_score(a, A, b, B)` applied to the report's own counts (so every
    number on the page agrees and topics that fell to zero keep a score); else its `rising_topics(con, days,
    as_of)` merged onto our counts; else our SQL score.
    """
    rows = own_scores(con)
    try:
        trends = importlib.import_module("pipelines.topics.trends")
    except ImportError:
        return rows, "own"
    if rows and hasattr(trends, "rising_score"):
        total_now, total_before = con.execute(
            "SELECT count(*) FILTER (WHERE period = 'current'), count(*) FILTER (WHERE period = 'previous') "
            "FROM report_posts").fetchone()
        try:
            scored = [{**row, "score": round(float(trends.rising_score(row["posts"], total_now, row["posts_prev"],
                                                                       total_before)), 2)} for row in rows]
        except Exception as exc:  # a bug there must not cost the editors their report
            log.warning("rising_score failed (%s: %s); using the report's own score", exc.__class__.__name__, exc)
            return rows, "own"
        scored.sort(key=lambda r: (-r["score"], r["topic_id"]))
        return scored, "topics"
    if not hasattr(trends, "rising_topics"):
        return rows, "own"
    try:
        theirs = {int(r["topic_id"]): r for r in _rows_from(trends.rising_topics(con, window.days, window.as_of))
                  if r.get("topic_id") is not None and r.get("score") is not None}
    except Exception as exc:
        log.warning("rising_topics failed (%s: %s); using the report's own score", exc.__class__.__name__, exc)
        return rows, "own"
    if not theirs:
        return rows, "own"
    merged = [{**row, "score": round(float(theirs[row["topic_id"]]["score"]), 2)}
              for row in rows if row["topic_id"] in theirs]
    merged.sort(key=lambda r: (-r["score"], r["topic_id"]))
    return merged, "topics"
