-- Alerts raised by the daily check after publish (pipelines/alerts) and their delivery to each configured
-- destination ([[alerts.send_to]] in listen.toml). Analysts read the `alerts` view.
--
-- alert_id is the alert's key: the same alert found again (a rerun of the same day) is the same row, so it is
-- stored and sent once. Topic alerts: '<day>:<kind>:<topic_id>:<channel>'; source alerts:
-- 'source_down:<source>:<first failed day>' (one alert per outage, however long it lasts).
CREATE TABLE core.alerts (
    alert_id         VARCHAR PRIMARY KEY,
    day              DATE NOT NULL,          -- the day the check ran for (`listen run --date`)
    run_id           VARCHAR NOT NULL,
    raised_at        TIMESTAMPTZ NOT NULL,
    kind             VARCHAR NOT NULL,       -- topic_volume | topic_negative_share | source_down
    topic_id         INTEGER,
    channel          VARCHAR,
    community        VARCHAR,                -- where most of the topic's recent posts were
    source           VARCHAR,                -- source_down only
    score            DOUBLE,                 -- pipelines.topics.trends.rising_score (NULL for source_down)
    message          VARCHAR NOT NULL,       -- in the [alerts] lang
    example_post_ids VARCHAR[] NOT NULL,
    detail           JSON NOT NULL           -- the counts behind the alert, for the report and listen status
);

CREATE TABLE core.alert_deliveries (
    alert_id        VARCHAR NOT NULL,
    destination     VARCHAR NOT NULL,        -- the name of an [[alerts.send_to]] block
    via             VARCHAR NOT NULL,        -- email | webhook
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,             -- NULL until delivered
    error           VARCHAR,                 -- the last failure (never a secret); NULL once sent
    PRIMARY KEY (alert_id, destination)
);
