-- Human approval of steps (SPEC §9.1).
-- The task's own approval mode ("always"); NULL follows the server's policy.
ALTER TABLE tasks ADD COLUMN approval TEXT;
-- When the task was parked waiting for a person: the time it spends there
-- is added to its deadline when a worker takes it up again.
ALTER TABLE tasks ADD COLUMN parked_at BIGINT;
-- What a person was asked (JSON ApprovalRequest) and what they decided
-- (JSON ApprovalDecision); NULL until each happens.
ALTER TABLE steps ADD COLUMN approval_request TEXT;
ALTER TABLE steps ADD COLUMN approval_decision TEXT;
