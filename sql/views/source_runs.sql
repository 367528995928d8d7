-- source_runs: one row per source per run (grain: run_id x source). status ok | partial (stopped early, e.g. request budget) | failed.
-- Columns: run_id, source, started_at, finished_at, status, fetched (records fetched), new (posts not seen
--   before), error (names the cause; never contains secrets), warnings (problems to look at: bad rows, unreadable
--   dates), notes (worth knowing, nothing to do: "feed not modified since the last run (HTTP 304)").
-- Example: SELECT source, max(finished_at) FILTER (WHERE status = 'ok') AS last_success FROM source_runs GROUP BY 1;
CREATE OR REPLACE VIEW source_runs AS
SELECT run_id, source, started_at, finished_at, status, fetched, new, error, warnings, notes
FROM core.source_runs;
