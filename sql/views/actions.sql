-- actions: decisions taken on a topic (`listen action add --topic ID "text"`).
-- Grain: one row per decision (action_id); decided_at is noon UTC of the decision date. Trends before/after: action_outcomes.
-- Columns: action_id, topic_id, decided_at, text, owner.
-- Example: SELECT a.*, t.label FROM actions a JOIN topics t USING (topic_id) ORDER BY decided_at DESC;
CREATE OR REPLACE VIEW actions AS
SELECT action_id, topic_id, decided_at, text, owner
FROM core.actions;
