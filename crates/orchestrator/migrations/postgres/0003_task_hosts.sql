-- The hosts a task narrowed the executor's HTTP allowlist to (a JSON
-- array); NULL when it did not narrow it.
ALTER TABLE tasks ADD COLUMN allowed_hosts TEXT;
