-- topics: one row per topic id; ids are stable across refits (see topic_lineage).
-- Grain: topic_id. Posts without a topic have topic_id NULL or -1 in posts and no row here.
-- Columns: topic_id, label (in the topic's main language), labels (MAP language -> label, for each of da/de/en
--   present in the topic), keywords (VARCHAR[], all languages), size, languages (MAP language -> posts at fit),
--   first_seen, last_seen, status (active/merged/split/retired), model_version, representative_ids (post ids
--   closest to the topic at fit).
-- Example: SELECT topic_id, coalesce(labels['da'], label) AS label_da, size FROM topics
--          WHERE status = 'active' ORDER BY size DESC;
CREATE OR REPLACE VIEW topics AS
SELECT topic_id, label, labels, keywords, size, languages, first_seen, last_seen, status, model_version,
       representative_ids
FROM core.topics;
