-- Topics per language (issue 13): each topic's label in every language present in it (da/de/en), how many of
-- its posts at fit were in each language, and each post's cosine to its topic's centroid (the report quotes
-- the posts closest to a topic, in the reader's language first).
ALTER TABLE core.topics ADD COLUMN labels MAP(VARCHAR, VARCHAR);
ALTER TABLE core.topics ADD COLUMN languages MAP(VARCHAR, INTEGER);
ALTER TABLE core.posts ADD COLUMN topic_similarity REAL;
