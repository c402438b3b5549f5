-- Times are Unix milliseconds; JSON documents are TEXT.
CREATE TABLE tasks (
    id                  TEXT PRIMARY KEY NOT NULL,
    goal                TEXT NOT NULL,
    screened_goal       TEXT NOT NULL,
    constraints         TEXT NOT NULL DEFAULT '[]',
    context             TEXT NOT NULL DEFAULT '{}',
    acceptance_criteria TEXT NOT NULL DEFAULT '[]',
    priority            INTEGER NOT NULL DEFAULT 5,
    max_tokens          INTEGER NOT NULL,
    max_cost_usd        REAL NOT NULL,
    max_time_seconds    INTEGER NOT NULL,
    status              TEXT NOT NULL,
    cache_key           TEXT NOT NULL DEFAULT '',
    tokens_used         INTEGER NOT NULL DEFAULT 0,
    cost_usd            REAL NOT NULL DEFAULT 0.0,
    result              TEXT,
    error               TEXT,
    error_code          TEXT,
    lease_owner         TEXT NOT NULL DEFAULT '',
    lease_expires_at    INTEGER NOT NULL DEFAULT 0,
    claims              INTEGER NOT NULL DEFAULT 0,
    cancel_requested    INTEGER NOT NULL DEFAULT 0,
    deadline_at         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    started_at          INTEGER,
    finished_at         INTEGER
);

-- The queue's claim scans only unfinished tasks.
CREATE INDEX tasks_claim_idx ON tasks (priority DESC, created_at)
    WHERE status IN ('pending', 'planning', 'executing');
-- Listing, newest first, with and without a status filter.
CREATE INDEX tasks_created_idx ON tasks (created_at DESC, id DESC);
CREATE INDEX tasks_status_created_idx ON tasks (status, created_at DESC, id DESC);
-- Result-cache lookups.
CREATE INDEX tasks_cache_idx ON tasks (cache_key, finished_at) WHERE status = 'completed';

CREATE TABLE plans (
    task_id    TEXT PRIMARY KEY NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    plan       TEXT NOT NULL,
    planner    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE steps (
    task_id        TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    action         TEXT NOT NULL,
    required_arm   TEXT NOT NULL,
    tool_call      TEXT,
    depends_on     TEXT NOT NULL DEFAULT '[]',
    status         TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    output         TEXT,
    display_output TEXT,
    error          TEXT,
    provenance     TEXT,
    run_by         TEXT NOT NULL DEFAULT '',
    started_at     INTEGER,
    finished_at    INTEGER,
    duration_ms    INTEGER,
    PRIMARY KEY (task_id, step)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    step       INTEGER,
    data       TEXT NOT NULL DEFAULT 'null',
    created_at INTEGER NOT NULL,
    UNIQUE (task_id, seq)
);
