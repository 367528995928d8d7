-- quarantine: posts held back from the views because they failed a quality expectation.
-- Grain: one row per post x failed expectation x run; a quarantined post_id is absent from `posts`.
-- Columns: post_id, run_id, suite, expectation, quarantined_at, row_data (the row as it failed).
-- Example: SELECT expectation, count(*) FROM quarantine GROUP BY 1;
CREATE OR REPLACE VIEW quarantine AS
SELECT post_id, run_id, suite, expectation, quarantined_at, row_data
FROM core.quarantine;
