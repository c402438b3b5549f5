//! Response bodies of the orchestrator's task API (SPEC §6).
//!
//! The request body is [`crate::task::TaskContract`]; these are what comes
//! back, shared by the service and every client (the CLI, tests, other
//! services) so neither side re-declares the shapes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::exec::Provenance;
use crate::plan::Plan;
use crate::task::TaskStatus;

/// `POST /api/v1/tasks` answer (202).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskAccepted {
    pub task_id: String,
    pub status: TaskStatus,
    pub message: String,
    /// True when the result came from the result cache.
    #[serde(default)]
    pub cached: bool,
}

/// Lifecycle of one plan step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    /// Held until a person approves or rejects it (SPEC §9.1).
    AwaitingApproval,
    Running,
    Completed,
    Failed,
    Cancelled,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::AwaitingApproval => "awaiting_approval",
            StepStatus::Running => "running",
            StepStatus::Completed => "completed",
            StepStatus::Failed => "failed",
            StepStatus::Cancelled => "cancelled",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => StepStatus::Pending,
            "awaiting_approval" => StepStatus::AwaitingApproval,
            "running" => StepStatus::Running,
            "completed" => StepStatus::Completed,
            "failed" => StepStatus::Failed,
            "cancelled" => StepStatus::Cancelled,
            "skipped" => StepStatus::Skipped,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        !matches!(
            self,
            StepStatus::Pending | StepStatus::AwaitingApproval | StepStatus::Running
        )
    }
}

/// One step of a task as the API reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StepView {
    pub step: u32,
    pub action: String,
    pub required_arm: String,
    pub status: StepStatus,
    /// How many times the step was started (retries and resumptions included).
    pub attempts: u32,
    /// The step's output with PII and secrets redacted.
    #[serde(default)]
    pub output: Option<String>,
    /// What a completed step's command wrote to stderr, redacted the same
    /// way (a failed step's stderr is part of its `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub provenance: Option<Provenance>,
    /// Present when the step needed a person's approval: what was asked
    /// and, once made, the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<StepApproval>,
}

/// One artifact of a task: `GET /api/v1/tasks/{id}/artifacts/{name}`
/// serves its bytes.
/// `GET /api/v1/tasks/{id}/artifacts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ArtifactList {
    pub task_id: String,
    pub artifacts: Vec<ArtifactView>,
}

/// `DELETE /api/v1/tasks/{id}`: the task and everything derived from it
/// are gone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct EraseAnswer {
    pub task_id: String,
    pub erased: bool,
}

/// `POST /api/v1/tasks/purge` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Erase every task that ended more than this many seconds ago.
    pub older_than_seconds: u64,
}

/// `POST /api/v1/tasks/purge`: how many tasks were erased.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PurgeAnswer {
    pub erased: u64,
}

/// `POST /api/v1/tasks/{id}/cancel`: `cancelled` when the task had not
/// started, `cancelling` while its running step is stopped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CancelAnswer {
    pub task_id: String,
    pub status: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ArtifactView {
    pub name: String,
    pub size: u64,
    /// SHA-256 hex of the bytes as stored (after any redaction).
    pub sha256: String,
    /// `text/plain; charset=utf-8` for UTF-8 text, else `application/octet-stream`.
    pub media_type: String,
    /// Secrets or PII the reflex layer found were redacted in the stored text.
    #[serde(default)]
    pub redacted: bool,
    /// Why the bytes were not kept (too large, not a regular file, could
    /// not be screened); such an artifact cannot be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a person is asked to approve: the step exactly as it would run,
/// its references already resolved.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ApprovalRequest {
    pub step: u32,
    pub action: String,
    pub arm: String,
    /// `shell` or `http`.
    pub kind: String,
    /// The program, for a shell step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Where the command's standard input comes from.
    pub stdin: StdinSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The host an HTTP step fetches from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The capabilities its token will carry once approved.
    pub capabilities: Vec<String>,
    /// The policy entries that put it behind approval (`shell_write`,
    /// `command:rm`, `host:example.com`, or `always` from the task).
    pub because: Vec<String>,
    pub requested_at: String,
    /// When the request lapses and the task fails with `APPROVAL_TIMEOUT`.
    pub expires_at: String,
}

impl ApprovalRequest {
    /// The call it asks about (stdin left out: [`StdinSource`] describes it).
    pub fn call(&self) -> Option<crate::plan::ToolCall> {
        use crate::plan::ToolCall;
        match (&self.command, &self.method, &self.url) {
            (Some(command), _, _) => Some(ToolCall::Shell {
                command: command.clone(),
                args: self.args.clone(),
                stdin: None,
            }),
            (None, Some(method), Some(url)) => Some(ToolCall::Http {
                method: method.clone(),
                url: url.clone(),
            }),
            _ => None,
        }
    }
}

/// A shell step's standard input, as an approver needs to judge it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StdinSource {
    /// `none`, `text` (written in the plan) or `steps` (other steps' output).
    pub source: String,
    /// The steps whose output it carries, for `steps`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u32>,
    /// Its length once references are resolved.
    pub bytes: u64,
    /// Its first bytes once resolved (at most 512).
    #[serde(default)]
    pub preview: String,
}

/// How an approval request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Rejected,
    /// Nobody decided before `expires_at`.
    Expired,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
            Decision::Expired => "expired",
        }
    }
}

/// A decision on one step: who, when, why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ApprovalDecision {
    pub decision: Decision,
    /// The deciding API key's name, or `local` when the API has no keys.
    pub by: String,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One step's approval: the request, and the decision once made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StepApproval {
    pub request: ApprovalRequest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ApprovalDecision>,
}

/// `result.metadata`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ResultMetadata {
    pub steps_executed: u32,
    pub total_duration_ms: u64,
    pub tokens_used: u64,
    pub cost_usd: f64,
    #[serde(default)]
    pub cached: bool,
    /// For a cached answer: the task whose run it repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_from: Option<String>,
    /// For a cached answer: how old that run's result was when served, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_age_seconds: Option<f64>,
    /// Outcome of each acceptance criterion.
    #[serde(default)]
    pub criteria: Vec<CriterionOutcome>,
}

/// How one acceptance criterion was checked and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CriterionOutcome {
    pub criterion: String,
    /// `contains`, `regex`, `number`, `llm_judge` or `unchecked`.
    pub method: String,
    /// `None` when nothing could check it.
    pub passed: Option<bool>,
    #[serde(default)]
    pub reason: String,
}

/// `result`: the (redacted) output and what it cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskResult {
    pub output: String,
    pub metadata: ResultMetadata,
}

/// A task failure: a stable code and a sentence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskError {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

/// `GET /api/v1/tasks/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskView {
    pub task_id: String,
    pub status: TaskStatus,
    /// The goal exactly as submitted.
    pub goal: String,
    /// The goal as the planner saw it (PII redacted).
    pub screened_goal: String,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    pub priority: i32,
    pub budget: crate::task::Budget,
    /// The hosts the task narrowed its fetches to, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    pub plan: Option<Plan>,
    /// Every plan the task had, oldest first, with why each revision was
    /// made; one entry when it was never replanned.
    #[serde(default)]
    pub plan_history: Vec<PlanRevision>,
    /// Files the steps left in `/workspace/out/`, once the task ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<ArtifactView>,
    #[serde(default)]
    pub steps: Vec<StepView>,
    #[serde(default)]
    pub result: Option<TaskResult>,
    #[serde(default)]
    pub error: Option<TaskError>,
    pub tokens_used: u64,
    pub cost_usd: f64,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
}

/// One plan of a task's history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PlanRevision {
    /// 0 for the first plan.
    pub revision: u32,
    /// `builtin`, or the provider/model that wrote it.
    pub planner: String,
    /// Why the previous plan was replaced (`None` for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<TaskError>,
    /// Steps of the previous plan carried over without running again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_steps: Vec<u32>,
    pub plan: Plan,
    pub created_at: String,
}

/// One row of `GET /api/v1/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskSummary {
    pub task_id: String,
    pub status: TaskStatus,
    pub goal: String,
    pub priority: i32,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub error_code: Option<String>,
}

/// `GET /api/v1/tasks` answer; pass `next_cursor` back as `cursor` for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskSummary>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One server-sent event of `GET /api/v1/tasks/{id}/events` (the `data:` field).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskEvent {
    /// Position in the task's event sequence, from 1.
    pub seq: u64,
    pub task_id: String,
    /// `task.created`, `task.status`, `task.plan`, `step.started`,
    /// `step.retrying`, `step.completed`, `step.failed`, `task.completed`,
    /// `task.failed` or `task.cancelled`.
    pub kind: String,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    pub at: String,
}

impl TaskEvent {
    /// The events after which nothing more is sent.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "task.completed" | "task.failed" | "task.cancelled"
        )
    }
}

/// One arm of `GET /api/v1/arms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ArmView {
    pub name: String,
    pub url: String,
    /// `healthy`, `degraded` or `unreachable`.
    pub health: String,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub latency_ms: Option<f64>,
}
