-- Core storage. Analysts query the views in sql/views/ (schema main); these tables live in schema core.
CREATE SCHEMA IF NOT EXISTS core;

-- One row per post, comment or review, upserted on post_id.
CREATE TABLE core.posts (
    post_id            VARCHAR PRIMARY KEY,      -- '<source>:<native id>'
    source             VARCHAR NOT NULL,
    channel            VARCHAR NOT NULL,         -- reddit | feed | appstore | import
    native_id          VARCHAR NOT NULL,
    community          VARCHAR,
    kind               VARCHAR NOT NULL,         -- post | comment | review
    thread_id          VARCHAR,
    parent_id          VARCHAR,
    url                VARCHAR,
    author_key         VARCHAR,                  -- keyed pseudonym, never the handle
    created_at         TIMESTAMPTZ,
    created_at_estimated BOOLEAN NOT NULL DEFAULT false,  -- source gave no usable date: fetched time used
    fetched_at         TIMESTAMPTZ NOT NULL,
    first_loaded_at    TIMESTAMPTZ NOT NULL,
    title              VARCHAR,
    body               VARCHAR,                  -- personal data redacted before storage
    rating             DOUBLE,
    lang_hint          VARCHAR,                  -- language declared by the source, if any
    content_hash       VARCHAR NOT NULL,         -- of title+body; a change re-triggers enrichment
    is_deleted         BOOLEAN NOT NULL DEFAULT false,
    duplicate_of       VARCHAR,                  -- near-duplicate of an earlier post (cross-posts)
    extra              JSON,                     -- source-specific fields (score, version, ...)
    run_id             VARCHAR NOT NULL,
    -- enrichment (NULL until enriched)
    lang               VARCHAR,
    sentiment          DOUBLE,
    sentiment_label    VARCHAR,
    intent             VARCHAR,
    enriched_at        TIMESTAMPTZ,
    enrich_version     VARCHAR,
    -- topics
    topic_id           INTEGER,
    topic_model_version VARCHAR,
    topic_assigned_at  TIMESTAMPTZ
);

-- Each post embedded once; topics and classifiers reuse the vector.
CREATE TABLE core.post_embeddings (
    post_id   VARCHAR PRIMARY KEY,
    model     VARCHAR NOT NULL,
    vector    FLOAT[] NOT NULL,
    embedded_at TIMESTAMPTZ NOT NULL
);

-- Incremental cursor per source, written in the same transaction as the rows it covers.
CREATE TABLE core.source_cursors (
    source     VARCHAR PRIMARY KEY,
    cursor     JSON NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE core.source_runs (
    run_id      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      VARCHAR NOT NULL,      -- ok | partial | failed
    fetched     INTEGER NOT NULL DEFAULT 0,
    new         INTEGER NOT NULL DEFAULT 0,
    error       VARCHAR,
    warnings    VARCHAR[],
    landing_path VARCHAR,
    PRIMARY KEY (run_id, source)
);

-- One row per daily job (listen run / the DAG), with each stage's outcome.
CREATE TABLE core.pipeline_runs (
    run_id      VARCHAR PRIMARY KEY,
    run_date    DATE NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      VARCHAR NOT NULL,      -- running | ok | failed | partial
    stages      JSON,
    published   BOOLEAN NOT NULL DEFAULT false,
    message     VARCHAR
);

CREATE TABLE core.topics (
    topic_id     INTEGER PRIMARY KEY,  -- stable across refits
    label        VARCHAR NOT NULL,
    keywords     VARCHAR[] NOT NULL,
    size         INTEGER NOT NULL DEFAULT 0,
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    status       VARCHAR NOT NULL,     -- active | merged | split | retired
    model_version VARCHAR NOT NULL,
    representative_ids VARCHAR[]
);

CREATE TABLE core.topic_lineage (
    model_version     VARCHAR NOT NULL,
    topic_id          INTEGER NOT NULL,
    previous_topic_id INTEGER,
    relation          VARCHAR NOT NULL,  -- same | split | merged | new | retired
    similarity        DOUBLE
);

CREATE TABLE core.topic_models (
    model_version VARCHAR PRIMARY KEY,
    fitted_at     TIMESTAMPTZ NOT NULL,
    window_start  TIMESTAMPTZ,
    window_end    TIMESTAMPTZ,
    documents     INTEGER NOT NULL,
    path          VARCHAR NOT NULL,
    params        JSON,
    metrics       JSON
);

-- Materialised incrementally: only days touched by a run are recomputed.
CREATE TABLE core.topic_trends (
    day        DATE NOT NULL,
    channel    VARCHAR NOT NULL,
    community  VARCHAR NOT NULL,
    topic_id   INTEGER NOT NULL,
    posts      INTEGER NOT NULL,
    share      DOUBLE NOT NULL,
    sentiment  DOUBLE,
    PRIMARY KEY (day, channel, community, topic_id)
);

CREATE TABLE core.quality_results (
    run_id          VARCHAR NOT NULL,
    checked_at      TIMESTAMPTZ NOT NULL,
    suite           VARCHAR NOT NULL,
    expectation     VARCHAR NOT NULL,
    "column"        VARCHAR,
    success         BOOLEAN NOT NULL,
    critical        BOOLEAN NOT NULL DEFAULT false,
    unexpected_count INTEGER NOT NULL DEFAULT 0,
    details         VARCHAR
);

CREATE TABLE core.quarantine (
    post_id        VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    suite          VARCHAR NOT NULL,
    expectation    VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL,
    row_data       JSON
);

CREATE SEQUENCE core.action_ids START 1;
CREATE TABLE core.actions (
    action_id  INTEGER PRIMARY KEY DEFAULT nextval('core.action_ids'),
    topic_id   INTEGER NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    text       VARCHAR NOT NULL,
    owner      VARCHAR
);

CREATE TABLE core.follow_up_done (
    post_id VARCHAR PRIMARY KEY,
    done_at TIMESTAMPTZ NOT NULL,
    note    VARCHAR
);
