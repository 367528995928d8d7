-- topic_trends is refreshed once per run by sql/refresh/topic_trends.sql, for the days that changed: those of posts
-- changed since the last refresh (core.posts.changed_at, set by every writer of posts: load, duplicates, enrich,
-- topics), of posts quarantined since then, and the days listed here because their posts were deleted
-- (forget, retention): a deleted post leaves no row to find its day by.
ALTER TABLE core.topic_trends_state RENAME COLUMN assigned_up_to TO posts_changed_up_to;
CREATE TABLE core.topic_trends_stale (
    day DATE PRIMARY KEY
);
