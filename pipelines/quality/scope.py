"""Which rows a quality run looks at: only what changed since the last check, so cost follows new data.

    >>> posts = posts_in_scope(con, run_id)        # pandas DataFrame, one row per post to check
    >>> trends = trends_of_days(con, days)          # the trend rows of the days a refresh recomputed

A post is in scope when this run loaded it, when a run that was never checked loaded it (`listen ingest`
then `listen check`), or when enrichment or topics changed it after the last check.
"""

from __future__ import annotations

POSTS_SQL = r"""
WITH last_check AS (
    SELECT max(checked_at) AS at FROM core.quality_results WHERE run_id <> $run_id
), checked_runs AS (
    SELECT DISTINCT run_id FROM core.quality_results WHERE run_id <> $run_id
)
SELECT p.post_id, p.channel, p.source, p.url, p.created_at, p.lang, p.sentiment, p.is_deleted,
       -- 'after cleaning': whitespace, NBSP and zero-width characters do not count as text
       regexp_replace(coalesce(p.body, ''), '[\s\x{00A0}\x{200B}\x{FEFF}]+', '', 'g') AS body_chars
FROM core.posts p, last_check
WHERE p.run_id = $run_id
   OR p.run_id NOT IN (SELECT run_id FROM checked_runs)
   OR p.enriched_at > last_check.at
   OR p.topic_assigned_at > last_check.at
ORDER BY p.post_id
"""

TOPICS_SQL = r"""
SELECT topic_id, label, regexp_replace(coalesce(label, ''), '[\s\x{00A0}\x{200B}\x{FEFF}]+', '', 'g') AS label_chars
FROM core.topics
ORDER BY topic_id
"""

TRENDS_SQL = """
SELECT day, channel, community, topic_id, posts, share
FROM core.topic_trends
WHERE day IN (SELECT unnest($days::DATE[]))
"""


def posts_in_scope(con, run_id: str):
    return con.execute(POSTS_SQL, {"run_id": run_id}).df()


def topics_in_scope(con):
    """All topics: the table holds one row per topic, so it stays small whatever the history."""
    return con.execute(TOPICS_SQL).df()


def trends_of_days(con, days):
    """Trend rows of `days` (the days the last topic_trends refresh recomputed)."""
    return con.execute(TRENDS_SQL, {"days": sorted(days)}).df()
