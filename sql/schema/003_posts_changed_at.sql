-- When each post row last changed (insert by default; every UPDATE of core.posts sets it to now()), so the
-- analyst snapshot can be brought up to date with the day's changed posts instead of copying all of them.
-- Existing rows count as changed now: the next publish copies them once (a schema change forces a full copy).
ALTER TABLE core.posts ADD COLUMN changed_at TIMESTAMPTZ DEFAULT now();
