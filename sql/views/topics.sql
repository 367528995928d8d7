-- topics: one row per topic id; ids are stable across refits (see topic_lineage).
-- Grain: topic_id. Posts without a topic have topic_id NULL or -1 in posts and no row here.
-- Columns: topic_id, label, keywords (VARCHAR[]), size, first_seen, last_seen,
--   status (active/merged/split/retired), plus model_version and representative_ids (post ids).
-- Example: SELECT topic_id, label, size FROM topics WHERE status = 'active' ORDER BY size DESC;
CREATE OR REPLACE VIEW topics AS
SELECT topic_id, label, keywords, size, first_seen, last_seen, status, model_version, representative_ids
FROM core.topics;
