-- topic_trends also counts the posts labelled negative, so the negative-share alert (pipelines/alerts) reads the
-- same counted posts as every other trend number. Existing days are marked stale: the next refresh recounts them.
ALTER TABLE core.topic_trends ADD COLUMN negative INTEGER NOT NULL DEFAULT 0;
INSERT OR IGNORE INTO core.topic_trends_stale SELECT DISTINCT day FROM core.topic_trends;
