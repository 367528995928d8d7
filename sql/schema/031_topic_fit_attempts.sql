-- Every attempt to fit a topic model and how it ended, so `listen status` and the report can say "not enough
-- posts yet (12 of 30)" instead of showing a failed run: outcome fitted | waiting (too few posts) |
-- no_topics (the fit found no group of min_topic_size similar posts).
CREATE TABLE core.topic_fit_attempts (
    attempted_at  TIMESTAMPTZ NOT NULL,
    outcome       VARCHAR NOT NULL,
    posts         INTEGER NOT NULL,   -- posts in the window
    needed        INTEGER NOT NULL,   -- min_posts_to_fit
    min_topic_size INTEGER,
    model_version VARCHAR,
    reason        VARCHAR
);
