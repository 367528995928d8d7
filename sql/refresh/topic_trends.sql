-- topic_trends refresh: recompute the trend rows of every day that changed since the last refresh. The daily job
-- runs it once, after the quality check (quarantined posts are not counted); `listen forget` after deleting.
-- Grain and columns: sql/views/topic_trends.sql. Counting rules: a day is the UTC date of created_at; deleted
-- posts, near-duplicates (duplicate_of set) and quarantined posts are not counted; a post without a topic counts
-- as topic -1 and a post without a community under ''; share = the topic's posts over all counted posts of that
-- channel that day, so the shares of one channel-day sum to 1; sentiment = the mean of the posts' sentiment;
-- negative = how many of the posts are labelled negative (sentiment_label).
-- Days recomputed: see sql/schema/051_topic_trends_refresh.sql. Run in one transaction by
-- pipelines.topics.trends.update_topic_trends, which reads trend_days afterwards.

CREATE OR REPLACE TEMP TABLE trend_days AS
WITH mark AS (
    SELECT coalesce(max(posts_changed_up_to), TIMESTAMPTZ '1970-01-01 00:00:00+00') AS posts_changed,
           coalesce(max(quarantined_up_to), TIMESTAMPTZ '1970-01-01 00:00:00+00') AS quarantined
    FROM core.topic_trends_state
)
SELECT (p.created_at AT TIME ZONE 'UTC')::DATE AS day
FROM core.posts p, mark
WHERE p.changed_at > mark.posts_changed AND p.created_at IS NOT NULL
UNION
SELECT (p.created_at AT TIME ZONE 'UTC')::DATE
FROM core.quarantine q JOIN core.posts p USING (post_id), mark
WHERE q.quarantined_at > mark.quarantined AND p.created_at IS NOT NULL
UNION
SELECT day FROM core.topic_trends_stale;

-- The range of the days as constants, so DuckDB skips the row groups of every other day (cost follows the days).
SET VARIABLE trend_from = (SELECT timezone('UTC', min(day)::TIMESTAMP) FROM trend_days);
SET VARIABLE trend_until = (SELECT timezone('UTC', (max(day) + 1)::TIMESTAMP) FROM trend_days);

DELETE FROM core.topic_trends WHERE day IN (SELECT day FROM trend_days);

INSERT INTO core.topic_trends
SELECT day, channel, community, topic_id, count(*) AS posts,
       count(*) / sum(count(*)) OVER (PARTITION BY day, channel) AS share,
       avg(sentiment) AS sentiment,
       count(*) FILTER (WHERE sentiment_label = 'negative') AS negative
FROM (
    SELECT (p.created_at AT TIME ZONE 'UTC')::DATE AS day, p.channel, coalesce(p.community, '') AS community,
           coalesce(p.topic_id, -1) AS topic_id, p.sentiment, p.sentiment_label
    FROM core.posts p
    WHERE p.created_at >= getvariable('trend_from') AND p.created_at < getvariable('trend_until')
      AND (p.created_at AT TIME ZONE 'UTC')::DATE IN (SELECT day FROM trend_days)
      AND NOT p.is_deleted AND p.duplicate_of IS NULL
      AND p.post_id NOT IN (SELECT post_id FROM core.quarantine)
)
GROUP BY day, channel, community, topic_id;

INSERT INTO core.topic_trends_state
SELECT 1,
       greatest((SELECT max(changed_at) FROM core.posts), (SELECT max(posts_changed_up_to) FROM core.topic_trends_state),
                TIMESTAMPTZ '1970-01-01 00:00:00+00'),
       greatest((SELECT max(quarantined_at) FROM core.quarantine),
                (SELECT max(quarantined_up_to) FROM core.topic_trends_state), TIMESTAMPTZ '1970-01-01 00:00:00+00'),
       now()
ON CONFLICT (id) DO UPDATE SET posts_changed_up_to = excluded.posts_changed_up_to,
    quarantined_up_to = excluded.quarantined_up_to, updated_at = excluded.updated_at;

DELETE FROM core.topic_trends_stale;
