-- Revised plans, one row per revision (1, 2, …); the first plan stays in
-- `plans`. `reason` is the failure that asked for the revision (a task
-- error document), `kept_steps` the finished steps carried over unrun.
CREATE TABLE plan_revisions (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    revision   BIGINT NOT NULL,
    plan       TEXT NOT NULL,
    planner    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL,
    kept_steps TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, revision)
);
