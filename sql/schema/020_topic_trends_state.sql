-- Watermark for incremental topic_trends: update_topic_trends() with no days recomputes only the days of
-- posts assigned (or quarantined) after this point, so the daily cost follows the day's new posts.
CREATE TABLE core.topic_trends_state (
    id              INTEGER PRIMARY KEY,       -- always 1
    assigned_up_to  TIMESTAMPTZ NOT NULL,      -- posts with topic_assigned_at <= this are counted
    quarantined_up_to TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
