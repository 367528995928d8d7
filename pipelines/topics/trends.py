"""Topic trends per day x channel x community, refreshed incrementally by SQL, and a rising-topic score.

    >>> update_topic_trends(con)                       # the days changed since the last refresh
    {'days': [datetime.date(2026, 5, 1), datetime.date(2026, 5, 2)], 'rows': 41}
    >>> update_topic_trends(con, days=[date(2026, 4, 1)])     # and these days, whatever changed
    >>> rising_topics(con, days=7)[:1]
    [{'topic_id': 4, 'label': 'login, password', 'keywords': [...], 'posts_now': 31, 'posts_before': 6,
      'score': 4.1, 'ratio': 4.7, 'channels': ['appstore', 'reddit']}]

What a trend row counts, and which days a refresh recomputes, is SQL an analyst can read:
sql/refresh/topic_trends.sql (the counting rules are in its header).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from pipelines.paths import SQL_DIR
from pipelines.warehouse import transaction

REFRESH_SQL = SQL_DIR / "refresh" / "topic_trends.sql"
PRIOR_POSTS = 1.0  # pseudo-count added to both windows: 1 vs 0 posts is not an infinite rise


def update_topic_trends(con, days: list[date] | None = None) -> dict:
    """Recompute core.topic_trends for the days that changed since the last call, plus `days`:
    {'days': the days recomputed, 'rows': trend rows they now hold}."""
    with transaction(con):
        if days:
            con.execute("INSERT OR IGNORE INTO core.topic_trends_stale SELECT unnest(?::DATE[])", [sorted(set(days))])
        con.execute(REFRESH_SQL.read_text(encoding="utf-8"))
        refreshed = [row[0] for row in con.execute("SELECT day FROM trend_days ORDER BY day").fetchall()]
        rows = con.execute("SELECT count(*) FROM core.topic_trends WHERE day IN (SELECT day FROM trend_days)"
                           ).fetchone()[0]
    return {"days": refreshed, "rows": int(rows)}


def rising_score(posts_now: int, total_now: int, posts_before: int, total_before: int,
                 prior: float = PRIOR_POSTS) -> float:
    """z-score of the log rate ratio (now vs before) with `prior` pseudo-posts in each window.

    Rates are per counted post, so a channel that simply got busier does not make every topic rise; the
    standard error sqrt(1/a + 1/b) of a Poisson log ratio shrinks small counts towards 0:
    rising_score(3, 100, 0, 100) ~ 1.2 while rising_score(60, 1000, 10, 1000) ~ 5.2.
    """
    if total_now <= 0 or total_before <= 0:
        return 0.0
    a, b = posts_now + prior, posts_before + prior
    log_ratio = math.log(a / total_now) - math.log(b / total_before)
    return log_ratio / math.sqrt(1.0 / a + 1.0 / b)


def rising_topics(con, days: int = 7, as_of: date | None = None, limit: int | None = None) -> list[dict]:
    """Topics ranked by `rising_score` of the last `days` days (ending `as_of`, default the latest trend day)
    against the `days` before; only topics with posts in the recent window."""
    if as_of is None:
        as_of = con.execute("SELECT max(day) FROM core.topic_trends").fetchone()[0]
        if as_of is None:
            return []
    start_now = as_of - timedelta(days=days - 1)
    start_before = start_now - timedelta(days=days)
    rows = con.execute(
        """SELECT topic_id,
                  sum(posts) FILTER (WHERE day >= ?) AS now,
                  sum(posts) FILTER (WHERE day < ?) AS before,
                  list(DISTINCT channel ORDER BY channel) FILTER (WHERE day >= ?) AS channels
           FROM core.topic_trends WHERE day BETWEEN ? AND ? GROUP BY topic_id""",
        [start_now, start_now, start_now, start_before, as_of],
    ).fetchall()
    total_now = sum(r[1] or 0 for r in rows)
    total_before = sum(r[2] or 0 for r in rows)
    topics = {r[0]: r[1:] for r in con.execute("SELECT topic_id, label, keywords FROM core.topics").fetchall()}
    out = []
    for topic_id, now, before, channels in rows:
        now, before = int(now or 0), int(before or 0)
        if topic_id < 0 or now == 0:
            continue
        label, keywords = topics.get(topic_id, (f"topic {topic_id}", []))
        out.append({
            "topic_id": int(topic_id), "label": label, "keywords": list(keywords or []),
            "posts_now": now, "posts_before": before,
            "score": round(rising_score(now, total_now, before, total_before), 3),
            "ratio": round(((now + PRIOR_POSTS) / max(total_now, 1)) / ((before + PRIOR_POSTS) / max(total_before, 1)), 3),
            "channels": list(channels or []),
        })
    out.sort(key=lambda r: (-r["score"], -r["posts_now"], r["topic_id"]))
    return out[:limit] if limit else out
