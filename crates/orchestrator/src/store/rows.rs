//! Rows as stored. Plain scalar types so one definition decodes on both
//! backends; statuses are read through the typed accessors.

use octollm_types::orchestrator::StepStatus;
use octollm_types::task::TaskStatus;

/// A `tasks` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: String,
    pub goal: String,
    pub screened_goal: String,
    pub constraints: String,
    pub context: String,
    pub acceptance_criteria: String,
    pub priority: i64,
    pub max_tokens: i64,
    pub max_cost_usd: f64,
    pub max_time_seconds: i64,
    pub status: String,
    pub cache_key: String,
    pub tokens_used: i64,
    pub cost_usd: f64,
    pub result: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub lease_owner: String,
    pub lease_expires_at: i64,
    pub claims: i64,
    pub cancel_requested: i64,
    pub deadline_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub allowed_hosts: Option<String>,
    /// `always` when the task put every step behind approval.
    pub approval: Option<String>,
    /// When the task was parked waiting for a person.
    pub parked_at: Option<i64>,
    /// The reflex vault entry behind the goal's placeholders.
    pub vault_id: Option<String>,
    /// The W3C `traceparent` the task was submitted in, when traced.
    pub traceparent: Option<String>,
}

impl TaskRow {
    /// Whether the task asked for every step to be approved.
    pub fn approve_every_step(&self) -> bool {
        self.approval.as_deref() == Some("always")
    }

    /// The hosts the task narrowed its fetches to, if it did.
    pub fn narrowed_hosts(&self) -> Option<Vec<String>> {
        self.allowed_hosts
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok())
    }

    /// The status as a type. Only this crate writes the column, so an
    /// unknown value is a corrupted row; it reads as failed, never as open.
    pub fn status(&self) -> TaskStatus {
        TaskStatus::parse(&self.status).unwrap_or(TaskStatus::Failed)
    }
}

/// A `steps` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub task_id: String,
    pub step: i64,
    pub action: String,
    pub required_arm: String,
    pub tool_call: Option<String>,
    pub depends_on: String,
    pub status: String,
    pub attempts: i64,
    pub output: Option<String>,
    pub display_output: Option<String>,
    pub error: Option<String>,
    pub provenance: Option<String>,
    pub run_by: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    /// JSON `ApprovalRequest`, once a person was asked.
    pub approval_request: Option<String>,
    /// JSON `ApprovalDecision`, once decided (or expired).
    pub approval_decision: Option<String>,
    /// A completed step's stderr, redacted.
    pub stderr: Option<String>,
}

impl StepRow {
    pub fn status(&self) -> StepStatus {
        StepStatus::parse(&self.status).unwrap_or(StepStatus::Failed)
    }
}

/// An `events` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub task_id: String,
    pub seq: i64,
    pub kind: String,
    pub status: String,
    pub step: Option<i64>,
    pub data: String,
    pub created_at: i64,
}

/// A task as inserted by the API.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub id: String,
    pub goal: String,
    pub screened_goal: String,
    pub constraints: String,
    pub context: String,
    pub acceptance_criteria: String,
    pub priority: i64,
    pub max_tokens: i64,
    pub max_cost_usd: f64,
    pub max_time_seconds: i64,
    pub cache_key: String,
    pub created_at: i64,
    /// Set for a result-cache hit: the task is stored already completed.
    pub cached_result: Option<String>,
    /// The task's narrowed HTTP hosts, a JSON array; `None` when not narrowed.
    pub allowed_hosts: Option<String>,
    /// `always` when every step waits for approval.
    pub approval: Option<String>,
    /// Input files: (name, bytes), names checked.
    pub files: Vec<(String, Vec<u8>)>,
    /// The reflex vault entry behind the goal's placeholders.
    pub vault_id: Option<String>,
    /// The W3C `traceparent` of the submitting request, when traced.
    pub traceparent: Option<String>,
}

/// A step as inserted when a plan is saved.
#[derive(Debug, Clone)]
pub struct NewStep {
    pub step: i64,
    pub action: String,
    pub required_arm: String,
    pub tool_call: Option<String>,
    pub depends_on: String,
}

/// How a finished step is recorded.
#[derive(Debug, Clone)]
pub struct StepFinish {
    pub status: StepStatus,
    pub output: Option<String>,
    pub display_output: Option<String>,
    /// What the command wrote to stderr, redacted (completed steps).
    pub stderr: Option<String>,
    pub error: Option<String>,
    pub provenance: Option<String>,
    pub finished_at: i64,
    pub duration_ms: i64,
}

/// How a task ends.
#[derive(Debug, Clone)]
pub struct TaskFinish {
    pub status: TaskStatus,
    pub result: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub finished_at: i64,
}

/// What a decision on a waiting step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    Decided,
    NoTask,
    NoStep,
    /// The step exists but is not waiting for a decision (its status).
    NotWaiting(StepStatus),
}

/// What a cancel request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    NotFound,
    /// The task had already ended with this status.
    AlreadyFinished(TaskStatus),
    /// Nobody was running it: it is cancelled now.
    Cancelled,
    /// A worker holds it and will stop it.
    Requested,
}
