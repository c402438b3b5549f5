//! Errors: start-up failures, and the ways one plan request can fail.

use axum::http::StatusCode;
use octollm_llm::LlmError;
use octollm_server::ApiError;
use octollm_types::plan::Usage;
use serde_json::json;

use crate::validate::ValidationIssue;

/// Why the planner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    #[error("invalid planner configuration: {0}")]
    Config(String),
    #[error("LLM configuration: {0}")]
    Llm(#[from] LlmError),
}

/// Why one goal could not be planned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("{message}")]
    BadInput { code: &'static str, message: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("the plan from {planner} failed validation: {}", issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        planner: String,
        issues: Vec<ValidationIssue>,
        usage: Usage,
    },
    /// A revision was asked of a planner without a model: the built-in
    /// planner plans each goal one way and has nothing else to offer.
    #[error("revising a failed plan needs an LLM provider; the built-in planner plans each goal one way")]
    ReplanUnavailable,
    #[error("no LLM provider could plan the goal ({reason}) and the built-in planner cannot handle it: {builtin}")]
    LlmUnavailable { reason: String, builtin: String },
}

pub(crate) fn unsupported_message(reason: &str) -> String {
    format!(
        "The built-in planner cannot plan this goal: {reason}. An LLM provider is needed for goals like this: configure one with [llm] provider (OCTOLLM_LLM_PROVIDER=openai|anthropic)."
    )
}

impl PlanError {
    pub fn to_api_error(&self) -> ApiError {
        match self {
            PlanError::BadInput { code, message } => ApiError::bad_request(code, message.clone()),
            PlanError::Unsupported(reason) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "PLANNER_UNSUPPORTED_GOAL",
                unsupported_message(reason),
            )
            .with_details(json!({"reason": reason, "llm_required": true})),
            PlanError::Invalid {
                planner,
                issues,
                usage,
            } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "PLAN_VALIDATION_FAILED",
                format!(
                    "The plan from {planner} is not valid: {}",
                    issues
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .with_details(json!({"planner": planner, "issues": issues, "usage": usage})),
            PlanError::ReplanUnavailable => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "REPLAN_UNAVAILABLE",
                self.to_string(),
            ),
            PlanError::LlmUnavailable { reason, builtin } => {
                ApiError::unavailable("LLM_UNAVAILABLE", self.to_string())
                    .with_details(json!({"llm_error": reason, "builtin_reason": builtin}))
                    .with_retry_after(30)
            }
        }
    }
}
