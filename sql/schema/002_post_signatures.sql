-- MinHash band keys of each post's text, so a new post finds its near-duplicates by lookup, not by rescanning.
CREATE TABLE IF NOT EXISTS core.post_signatures (
    post_id VARCHAR NOT NULL,
    band    VARCHAR NOT NULL
);
CREATE INDEX IF NOT EXISTS post_signatures_band ON core.post_signatures (band);
