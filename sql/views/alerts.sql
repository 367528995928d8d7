-- alerts: what moved, and whether people were told. Grain: one row per alert raised (alert_id is its key, so a
-- rerun of the same day raises nothing twice).
-- Columns: alert_id, raised_at, kind (topic_volume: a topic's share of a channel's posts jumped;
--   topic_negative_share: the share of a topic's posts labelled negative jumped; source_down: a source failed
--   on N days in a row), topic_id, channel, community, score (the report's rising score, a z-score with
--   small-count shrinkage; NULL for source_down), message, example_post_ids (join posts on post_id),
--   sent_at (first successful delivery; NULL = not sent), sent_to (destinations it reached), plus day (the day
--   checked), source (source_down), send_errors (destinations that failed, with the last error) and detail
--   (the counts behind the alert, JSON).
-- Example: SELECT a.raised_at, a.message, p.url FROM alerts a, unnest(a.example_post_ids) AS e(post_id)
--          JOIN posts p USING (post_id) WHERE a.raised_at >= now() - INTERVAL 7 DAY ORDER BY a.raised_at DESC;
CREATE OR REPLACE VIEW alerts AS
SELECT a.alert_id, a.raised_at, a.kind, a.topic_id, a.channel, a.community, a.score, a.message,
       a.example_post_ids, d.sent_at, coalesce(d.sent_to, []::VARCHAR[]) AS sent_to, a.day, a.source,
       coalesce(d.send_errors, []::VARCHAR[]) AS send_errors, a.detail
FROM core.alerts a
LEFT JOIN (
    SELECT alert_id,
           min(sent_at) AS sent_at,
           list(destination ORDER BY destination) FILTER (WHERE sent_at IS NOT NULL) AS sent_to,
           list(destination || ': ' || error ORDER BY destination) FILTER (WHERE sent_at IS NULL AND error IS NOT NULL)
             AS send_errors
    FROM core.alert_deliveries
    GROUP BY alert_id
) d USING (alert_id);
