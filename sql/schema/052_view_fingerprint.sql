-- A fingerprint of the sql/views/ files the analyst views were last created from: opening the warehouse re-creates
-- the views only when the files changed (or a view is missing), not on every open of every stage.
CREATE TABLE core.view_fingerprint (
    fingerprint VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
