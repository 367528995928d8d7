-- quality_results: one row per expectation evaluated per run (Great Expectations suites in pipelines/quality.py).
-- Grain: run_id x suite x expectation (x column). critical = a failure blocks publishing the snapshot.
-- Columns: run_id, suite, expectation, success, unexpected_count, plus checked_at, column, critical, details.
-- Example: SELECT * FROM quality_results WHERE NOT success ORDER BY checked_at DESC;
CREATE OR REPLACE VIEW quality_results AS
SELECT run_id, suite, expectation, success, unexpected_count, checked_at, "column", critical, details
FROM core.quality_results;
