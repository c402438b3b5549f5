//! Plans produced by the planner arm (SPEC §4).

use serde::{Deserialize, Serialize};

/// What an executor step runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "action_type", rename_all = "snake_case")]
pub enum ToolCall {
    /// A command exec'd directly (never through a shell).
    Shell {
        command: String,
        #[serde(default)]
        args: Vec<String>,
        /// Literal stdin, or a `{{step_N.output}}` reference resolved by the orchestrator.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stdin: Option<String>,
    },
    /// An HTTP request performed by the executor itself.
    Http {
        #[serde(default = "get")]
        method: String,
        url: String,
    },
}

fn get() -> String {
    "GET".to_string()
}

/// `a` as a POSIX shell word: bare when it is plainly safe, else single-quoted.
fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+%,@".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

impl ToolCall {
    /// The call as the command line a person would type (`echo 'a b'`,
    /// `GET https://…`), for progress events and the CLI. Stdin is not shown.
    pub fn command_line(&self) -> String {
        match self {
            ToolCall::Shell { command, args, .. } => std::iter::once(command.clone())
                .chain(args.iter().map(|a| shell_quote(a)))
                .collect::<Vec<_>>()
                .join(" "),
            ToolCall::Http { method, url } => format!("{method} {url}"),
        }
    }
}

/// Where a task's attached files are inside the sandbox.
pub const INPUTS_DIR: &str = "/workspace/in";

/// One node of the plan DAG.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct PlanStep {
    pub step: u32,
    pub action: String,
    pub required_arm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<u32>,
    #[serde(default = "one")]
    pub estimated_cost_tier: u8,
    #[serde(default = "five")]
    pub estimated_duration_seconds: u32,
}

fn one() -> u8 {
    1
}

fn five() -> u32 {
    5
}

/// Tokens and dollars spent producing something.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// The planner's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Plan {
    pub plan: Vec<PlanStep>,
    #[serde(default)]
    pub rationale: String,
    #[serde(default)]
    pub confidence: f64,
    #[serde(default)]
    pub total_estimated_duration: u32,
    #[serde(default)]
    pub complexity_score: f64,
    /// `builtin`, or the provider/model that wrote it.
    #[serde(default)]
    pub planner: String,
    #[serde(default)]
    pub usage: Usage,
}

/// `POST /api/v1/plan` body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, utoipa::ToSchema)]
pub struct PlanRequest {
    #[schema(min_length = 1, pattern = r"\S")]
    pub goal: String,
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub context: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_arms: Option<Vec<String>>,
    /// Names of the files attached to the task: every step sees each at
    /// `/workspace/in/<name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Set when a plan failed and the orchestrator asks for a revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replan: Option<Replan>,
}

/// What the planner is told when a plan failed: what ran, what broke, and
/// which criteria were not met. Every output in it has been screened by
/// the reflex layer (PII redacted, injections refused or annotated) and
/// capped in size before it is put here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, utoipa::ToSchema)]
pub struct Replan {
    /// The revision asked for: 1 for the first revision of the original.
    pub revision: u32,
    /// The plan that failed.
    pub previous_plan: Vec<PlanStep>,
    /// Its finished steps: kept as they are in the revision, they are not
    /// run again.
    #[serde(default)]
    pub completed: Vec<StepReport>,
    /// The step that failed, if a step did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<StepReport>,
    /// The acceptance criteria's outcomes, if the output was checked.
    #[serde(default)]
    pub criteria: Vec<crate::orchestrator::CriterionOutcome>,
}

/// One step of a failed plan as the planner is shown it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, utoipa::ToSchema)]
pub struct StepReport {
    pub step: u32,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    /// The screened, capped output (finished steps), or the error with its
    /// stderr (the failed step).
    pub output: String,
    /// The output was cut to fit.
    #[serde(default)]
    pub truncated: bool,
}
