-- What a completed step's command wrote to stderr, redacted like its
-- output (a failed step's stderr goes into its error instead).
ALTER TABLE steps ADD COLUMN stderr TEXT;
