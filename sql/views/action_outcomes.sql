-- action_outcomes: each decision recorded with `listen action add --topic ID "text"`, with the topic's
--   volume and sentiment in the 28 days before the decision and the (up to) 28 days after it.
-- Grain: one row per action (action_id). Built on topic_trends (day x channel x community x topic).
-- Columns: action_id, topic_id, label (topic label, NULL if the topic is unknown), decided_at, text, owner,
--   posts_before / posts_after (topic posts in the window), days_after (days observed so far, 0..28),
--   per_day_before / per_day_after (posts per day: compare these, the after-window may still be filling),
--   share_before / share_after (topic posts / all posts in the window, unassigned included),
--   sentiment_before / sentiment_after (post-weighted mean sentiment of the topic, NULL without posts),
--   volume_change (per_day_after / per_day_before - 1; NULL when there was nothing before or nothing yet after).
-- Example: SELECT label, text, per_day_before, per_day_after, sentiment_before, sentiment_after
--          FROM action_outcomes ORDER BY decided_at DESC;
CREATE OR REPLACE VIEW action_outcomes AS
WITH a AS (
    SELECT action_id, topic_id, decided_at, text, owner, CAST(decided_at AS DATE) AS d,
           greatest(0, least(28, date_diff('day', CAST(decided_at AS DATE), current_date) + 1)) AS days_after
    FROM core.actions
),
windows AS (
    SELECT
        a.action_id,
        sum(t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day <  a.d) AS posts_before,
        sum(t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day >= a.d) AS posts_after,
        sum(t.posts) FILTER (WHERE t.day <  a.d) AS all_before,
        sum(t.posts) FILTER (WHERE t.day >= a.d) AS all_after,
        sum(t.sentiment * t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day <  a.d AND t.sentiment IS NOT NULL)
          / nullif(sum(t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day <  a.d AND t.sentiment IS NOT NULL), 0)
          AS sentiment_before,
        sum(t.sentiment * t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day >= a.d AND t.sentiment IS NOT NULL)
          / nullif(sum(t.posts) FILTER (WHERE t.topic_id = a.topic_id AND t.day >= a.d AND t.sentiment IS NOT NULL), 0)
          AS sentiment_after
    FROM a
    LEFT JOIN core.topic_trends t ON t.day >= a.d - 28 AND t.day < a.d + 28
    GROUP BY a.action_id
)
SELECT
    a.action_id, a.topic_id, tp.label, a.decided_at, a.text, a.owner,
    coalesce(w.posts_before, 0) AS posts_before,
    coalesce(w.posts_after, 0) AS posts_after,
    a.days_after,
    round(coalesce(w.posts_before, 0) / 28.0, 3) AS per_day_before,
    CASE WHEN a.days_after > 0 THEN round(coalesce(w.posts_after, 0) / a.days_after, 3) END AS per_day_after,
    round(coalesce(w.posts_before, 0) / nullif(w.all_before, 0), 4) AS share_before,
    round(coalesce(w.posts_after, 0) / nullif(w.all_after, 0), 4) AS share_after,
    round(w.sentiment_before, 3) AS sentiment_before,
    round(w.sentiment_after, 3) AS sentiment_after,
    CASE WHEN coalesce(w.posts_before, 0) > 0 AND a.days_after > 0
         THEN round((coalesce(w.posts_after, 0) / a.days_after) / (w.posts_before / 28.0) - 1, 3) END AS volume_change
FROM a
JOIN windows w USING (action_id)
LEFT JOIN core.topics tp ON tp.topic_id = a.topic_id
ORDER BY a.decided_at DESC, a.action_id DESC;
