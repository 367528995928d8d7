-- What a source run did that is worth knowing but needs nothing done, e.g. "feed not modified since the last run
-- (HTTP 304)": a quiet day is normal, so it is no warning (warnings are problems someone should look at).
ALTER TABLE core.source_runs ADD COLUMN notes VARCHAR[];
