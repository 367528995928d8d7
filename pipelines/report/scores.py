"""Rising and falling topics, scored on the counts of the topic_trends contract.

    >>> topic_scores(con)[0]                   # after connection.prepare(con, window)
    {'topic_id': 4, 'posts': 30, 'posts_prev': 10, 'score': 2.95}

The counts are the topic_trends rows of the period and the period before (`report_trends`; what a trend counts
is in sql/refresh/topic_trends.sql), the score is `pipelines.topics.trends.rising_score`: the z-score of the log
ratio of the topic's share now and before, with one pseudo-post in each period, so small counts stay near 0
(1 -> 3 posts of 100 scores about 0.8, 10 -> 30 about 3.0). A topic that fell to zero keeps a (negative) score.
"""

from __future__ import annotations

from pipelines.topics.trends import rising_score

COUNTS_SQL = """
SELECT topic_id,
       coalesce(sum(posts) FILTER (WHERE period = 'current'), 0) AS posts,
       coalesce(sum(posts) FILTER (WHERE period = 'previous'), 0) AS posts_prev
FROM report_trends
GROUP BY topic_id
"""


def topic_scores(con) -> list[dict]:
    """Each assigned topic with posts in either period: topic_id, posts, posts_prev, score; best rising first.
    Scores are 0 when the period before has no posts at all (nothing to compare with)."""
    cur = con.execute(COUNTS_SQL)
    columns = [d[0] for d in cur.description]
    counts = [dict(zip(columns, row)) for row in cur.fetchall()]
    total_now = sum(row["posts"] for row in counts)
    total_before = sum(row["posts_prev"] for row in counts)
    scored = [{**row, "score": round(rising_score(row["posts"], total_now, row["posts_prev"], total_before), 2)}
              for row in counts if row["topic_id"] >= 0]
    return sorted(scored, key=lambda row: (-row["score"], row["topic_id"]))
