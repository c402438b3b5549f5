//! The task contract accepted by the orchestrator (SPEC §6).

use serde::{Deserialize, Serialize};

/// Limits a task must stay within.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Budget {
    #[serde(default = "Budget::default_tokens")]
    pub max_tokens: u64,
    #[serde(default = "Budget::default_cost")]
    pub max_cost_usd: f64,
    #[serde(default = "Budget::default_time")]
    pub max_time_seconds: u64,
}

impl Budget {
    fn default_tokens() -> u64 {
        20_000
    }
    fn default_cost() -> f64 {
        1.0
    }
    fn default_time() -> u64 {
        300
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_tokens: Self::default_tokens(),
            max_cost_usd: Self::default_cost(),
            max_time_seconds: Self::default_time(),
        }
    }
}

/// `POST /api/v1/tasks` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TaskContract {
    /// What should be done, in words (not blank).
    #[schema(min_length = 1, pattern = r"\S")]
    pub goal: String,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    #[serde(default)]
    pub budget: Budget,
    #[serde(default = "TaskContract::default_priority")]
    pub priority: i32,
    /// Narrows the executor's HTTP allowlist for this task: every entry
    /// must fall within the server's list; the narrowed list is carried in
    /// each step's capability token and enforced by the executor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    /// `"always"` puts every step behind a person's approval; absent, the
    /// server's `approval_required` policy decides. A task can only make
    /// the server's policy stricter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalMode>,
    /// Input files, read-only at `/workspace/in/<name>` in every step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<InputFile>,
    /// `false` opts out of placeholders: personal data in the goal is then
    /// redacted for good (`[EMAIL]`) instead of replaced by a placeholder
    /// (`[EMAIL_1]`) that the planner works with and the executor receives
    /// the value for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize_pii: Option<bool>,
}

/// A file attached to a task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputFile {
    /// A plain file name: no `/`, no `..`, no control characters.
    pub name: String,
    pub content_base64: String,
}

impl InputFile {
    pub fn new(name: impl Into<String>, bytes: &[u8]) -> InputFile {
        use base64::Engine;
        InputFile {
            name: name.into(),
            content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// The file's bytes; the reason when `content_base64` is not base64.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(self.content_base64.trim())
            .map_err(|e| format!("{:?}: content_base64 is not base64: {e}", self.name))
    }
}

/// How a task asks for approval of its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalMode {
    /// Every step waits for a person.
    Always,
}

impl TaskContract {
    fn default_priority() -> i32 {
        5
    }
}

/// Lifecycle of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Pending,
    Planning,
    Executing,
    /// A step waits for a person and nothing else can run.
    AwaitingApproval,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Planning => "planning",
            TaskStatus::Executing => "executing",
            TaskStatus::AwaitingApproval => "awaiting_approval",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => TaskStatus::Pending,
            "planning" => TaskStatus::Planning,
            "executing" => TaskStatus::Executing,
            "awaiting_approval" => TaskStatus::AwaitingApproval,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            "cancelled" => TaskStatus::Cancelled,
            _ => return None,
        })
    }

    /// No further transition happens from a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}
