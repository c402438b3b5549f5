-- Files a task was given and files its steps left behind (SPEC §9.2).
CREATE TABLE task_files (
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    content     BLOB NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    PRIMARY KEY (task_id, name)
);
-- content is NULL for an artifact whose bytes were not kept (skipped says why).
CREATE TABLE task_artifacts (
    task_id     TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    content     BLOB,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    redacted    INTEGER NOT NULL DEFAULT 0,
    skipped     TEXT,
    PRIMARY KEY (task_id, name)
);
