-- topic_trends: what customers talk about where. Grain: day x channel x community x topic_id.
-- Columns: day, channel, community, topic_id (-1 = unassigned), posts, share (of that channel's posts that day),
--   sentiment (mean), negative (posts labelled negative: negative / posts is the negative share). Near-duplicates,
--   deleted and quarantined posts are not counted; the daily job refreshes the days that changed
--   with sql/refresh/topic_trends.sql (its header has the counting rules).
-- Example: SELECT topic_id, sum(posts) FROM topic_trends WHERE day >= current_date - 7 GROUP BY 1 ORDER BY 2 DESC;
CREATE OR REPLACE VIEW topic_trends AS
SELECT day, channel, community, topic_id, posts, share, sentiment, negative
FROM core.topic_trends;
