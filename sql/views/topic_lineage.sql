-- topic_lineage: how each fitted model's topics relate to the previous model's.
-- Grain: one row per model_version x topic_id (retired topics appear with relation 'retired').
-- Columns: model_version, topic_id, previous_topic_id, relation (same/split/merged/new/retired), similarity.
-- Example: SELECT * FROM topic_lineage WHERE relation <> 'same' ORDER BY model_version DESC;
CREATE OR REPLACE VIEW topic_lineage AS
SELECT model_version, topic_id, previous_topic_id, relation, similarity
FROM core.topic_lineage;
