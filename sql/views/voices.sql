-- voices: one row per pseudonymous author (author_key) across every channel.
-- Grain: author_key (a keyed pseudonym; the handle is never stored). Built from posts, so quarantined rows are excluded.
-- Columns: author_key, first_seen, last_seen, posts, channels (list), is_regular (seen on more than one day).
-- Example: SELECT * FROM voices WHERE is_regular ORDER BY posts DESC LIMIT 20;
CREATE OR REPLACE VIEW voices AS
SELECT
    author_key,
    min(created_at) AS first_seen,
    max(created_at) AS last_seen,
    count(*) AS posts,
    list_sort(list_distinct(list(channel))) AS channels,
    count(DISTINCT CAST(created_at AS DATE)) > 1 AS is_regular
FROM posts
WHERE author_key IS NOT NULL
GROUP BY author_key;
