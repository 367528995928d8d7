"""Topic trends per day x channel x community, materialised incrementally, and a rising-topic score.

    >>> update_topic_trends(con)                       # days touched since the last call -> rows written
    >>> update_topic_trends(con, days=[date(2026, 5, 1)])
    >>> rising_topics(con, days=7)[:1]
    [{'topic_id': 4, 'label': 'login, password', 'keywords': [...], 'posts_now': 31, 'posts_before': 6,
      'score': 4.1, 'ratio': 4.7, 'channels': ['appstore', 'reddit']}]

Counting rules: a day is the UTC date of `created_at`; near-duplicates (`duplicate_of` set), deleted posts and
quarantined posts are not counted; posts without a topic count as topic -1; `share` is the topic's posts
over all counted posts of that channel that day, so shares of one channel-day sum to 1.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

from pipelines.warehouse import transaction

_DAY = "(p.created_at AT TIME ZONE 'UTC')::DATE"
PRIOR_POSTS = 1.0  # pseudo-count added to both windows: 1 vs 0 posts is not an infinite rise


def _touched_days(con) -> tuple[list[date], datetime, datetime]:
    state = con.execute("SELECT assigned_up_to, quarantined_up_to FROM core.topic_trends_state WHERE id = 1").fetchone()
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    assigned_since, quarantined_since = state if state else (epoch, epoch)
    new_assigned, new_quarantined = con.execute(
        "SELECT (SELECT max(topic_assigned_at) FROM core.posts), (SELECT max(quarantined_at) FROM core.quarantine)"
    ).fetchone()
    days = [r[0] for r in con.execute(
        f"""SELECT DISTINCT {_DAY} FROM core.posts p WHERE p.topic_assigned_at > ? AND p.created_at IS NOT NULL
            UNION
            SELECT DISTINCT {_DAY} FROM core.quarantine q JOIN core.posts p USING (post_id)
            WHERE q.quarantined_at > ? AND p.created_at IS NOT NULL""",
        [assigned_since, quarantined_since],
    ).fetchall()]
    return sorted(days), new_assigned or assigned_since, new_quarantined or quarantined_since


def update_topic_trends(con, days: list[date] | None = None) -> int:
    """Recompute core.topic_trends for `days` (None: days with posts assigned or quarantined since last call)."""
    watermark = None
    if days is None:
        days, assigned_to, quarantined_to = _touched_days(con)
        watermark = (assigned_to, quarantined_to)
    days = sorted(set(days))
    written = 0
    with transaction(con):
        if days:
            con.execute("CREATE OR REPLACE TEMP TABLE _trend_days AS SELECT unnest(?::DATE[]) AS day", [days])
            lo = datetime.combine(days[0], datetime.min.time(), tzinfo=timezone.utc)
            hi = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
            con.execute("DELETE FROM core.topic_trends WHERE day IN (SELECT day FROM _trend_days)")
            # the created_at range lets DuckDB skip row groups outside the touched days
            written = con.execute(
                f"""INSERT INTO core.topic_trends
                    SELECT day, channel, community, topic_id, count(*) AS posts,
                           count(*) / sum(count(*)) OVER (PARTITION BY day, channel) AS share,
                           avg(sentiment) AS sentiment
                    FROM (
                        SELECT {_DAY} AS day, p.channel, coalesce(p.community, '') AS community,
                               coalesce(p.topic_id, -1) AS topic_id, p.sentiment
                        FROM core.posts p
                        WHERE p.created_at >= ? AND p.created_at < ?
                          AND {_DAY} IN (SELECT day FROM _trend_days)
                          AND NOT p.is_deleted AND p.duplicate_of IS NULL
                          AND p.post_id NOT IN (SELECT post_id FROM core.quarantine)
                    )
                    GROUP BY day, channel, community, topic_id""",
                [lo, hi],
            ).fetchone()[0]
        if watermark is not None:
            con.execute(
                """INSERT INTO core.topic_trends_state VALUES (1, ?, ?, now())
                   ON CONFLICT (id) DO UPDATE SET assigned_up_to = excluded.assigned_up_to,
                     quarantined_up_to = excluded.quarantined_up_to, updated_at = excluded.updated_at""",
                list(watermark),
            )
    return int(written)


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
