//! The error codes a task or step can end with, as a type. The wire keeps
//! the SPEC §2 strings (`TIMEOUT`, `BUDGET_EXCEEDED`, …); code here matches
//! on variants, never on strings.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// The task's own deadline (`max_time_seconds`).
    Timeout,
    /// One step's command ran past its timeout; the task had time left.
    StepTimeout,
    Cancelled,
    BudgetExceeded,
    AcceptanceFailed,
    PlannerUnavailable,
    PlanningFailed,
    InvalidPlan,
    /// A step names an arm that is not registered.
    UnknownArm,
    /// A step's arm could not be reached.
    ArmUnavailable,
    /// A step of a resumed task had already failed.
    StepFailed,
    /// A step's output carries a prompt injection and was not fed back to
    /// the planner.
    InjectionInToolOutput,
    /// A person rejected a step that needed approval.
    ApprovalRejected,
    /// Nobody decided on a step within `approval_timeout_seconds`.
    ApprovalTimeout,
    Internal,
    /// A code another component answered with (`COMMAND_NOT_ALLOWED`,
    /// `PLANNER_UNSUPPORTED_GOAL`, `NON_ZERO_EXIT`, …), passed through.
    Remote(String),
}

impl Code {
    pub fn as_str(&self) -> &str {
        match self {
            Code::Timeout => "TIMEOUT",
            Code::StepTimeout => "STEP_TIMEOUT",
            Code::Cancelled => "CANCELLED",
            Code::BudgetExceeded => "BUDGET_EXCEEDED",
            Code::AcceptanceFailed => "ACCEPTANCE_FAILED",
            Code::PlannerUnavailable => "PLANNER_UNAVAILABLE",
            Code::PlanningFailed => "PLANNING_FAILED",
            Code::InvalidPlan => "INVALID_PLAN",
            Code::UnknownArm => "UNKNOWN_ARM",
            Code::ArmUnavailable => "ARM_UNAVAILABLE",
            Code::StepFailed => "STEP_FAILED",
            Code::InjectionInToolOutput => "INJECTION_IN_TOOL_OUTPUT",
            Code::ApprovalRejected => "APPROVAL_REJECTED",
            Code::ApprovalTimeout => "APPROVAL_TIMEOUT",
            Code::Internal => "INTERNAL_ERROR",
            Code::Remote(c) => c,
        }
    }
}

impl Code {
    /// Whether a revised plan could get past a step that failed with this
    /// code: not when the arm is down, the orchestrator itself failed, or
    /// nobody is there to approve a step. A rejected step can be planned
    /// around.
    pub fn revisable(&self) -> bool {
        Self::revisable_str(self.as_str())
    }

    /// The same, for a code as stored.
    pub fn revisable_str(code: &str) -> bool {
        ![Code::ArmUnavailable, Code::Internal, Code::ApprovalTimeout]
            .iter()
            .any(|c| c.as_str() == code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one step did not produce output.
#[derive(Debug, Clone)]
pub enum StepError {
    /// The task's deadline passed; the worker records the timeout.
    Deadline,
    Failed {
        code: Code,
        message: String,
    },
}

impl StepError {
    pub fn failed(code: Code, message: impl Into<String>) -> StepError {
        StepError::Failed {
            code,
            message: message.into(),
        }
    }
}
