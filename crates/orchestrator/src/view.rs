//! Stored rows as the API shows them.

use octollm_types::orchestrator::{
    ArtifactView, PlanRevision, StepApproval, StepStatus, StepView, TaskError, TaskResult,
    TaskSummary, TaskView,
};
use octollm_types::plan::Plan;
use octollm_types::task::{Budget, TaskStatus};

use crate::store::{ArtifactRow, RevisionRow, StepRow, TaskRow};

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Statuses are written only by this crate, so an unknown one means a
/// newer writer; showing it as pending is the least surprising reading.
pub fn task_status(s: &str) -> TaskStatus {
    TaskStatus::parse(s).unwrap_or(TaskStatus::Pending)
}

pub fn step_status(s: &str) -> StepStatus {
    StepStatus::parse(s).unwrap_or(StepStatus::Pending)
}

fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn step_view(row: &StepRow) -> StepView {
    StepView {
        step: u32::try_from(row.step).unwrap_or(0),
        action: row.action.clone(),
        required_arm: row.required_arm.clone(),
        status: step_status(&row.status),
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        output: row.display_output.clone(),
        stderr: row.stderr.clone(),
        error: row.error.clone(),
        started_at: row.started_at.map(rfc3339),
        finished_at: row.finished_at.map(rfc3339),
        duration_ms: row.duration_ms.and_then(|d| u64::try_from(d).ok()),
        provenance: row
            .provenance
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()),
        approval: row
            .approval_request
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .map(|request| StepApproval {
                request,
                decision: row
                    .approval_decision
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok()),
            }),
    }
}

/// One plan of the history; a row whose plan does not parse is left out.
fn revision(row: &RevisionRow) -> Option<PlanRevision> {
    Some(PlanRevision {
        revision: u32::try_from(row.revision).ok()?,
        planner: row.planner.clone(),
        reason: serde_json::from_str(&row.reason).ok(),
        kept_steps: serde_json::from_str(&row.kept_steps).unwrap_or_default(),
        plan: serde_json::from_str(&row.plan).ok()?,
        created_at: rfc3339(row.created_at),
    })
}

pub fn artifact(row: &ArtifactRow) -> ArtifactView {
    ArtifactView {
        name: row.name.clone(),
        size: u64::try_from(row.size).unwrap_or(0),
        sha256: row.sha256.clone(),
        media_type: row.media_type.clone(),
        redacted: row.redacted != 0,
        skipped: row.skipped.clone(),
    }
}

pub fn task_view(
    row: &TaskRow,
    plan: Option<&str>,
    history: &[RevisionRow],
    steps: &[StepRow],
    artifacts: &[ArtifactRow],
) -> TaskView {
    TaskView {
        task_id: row.id.clone(),
        status: task_status(&row.status),
        goal: row.goal.clone(),
        screened_goal: row.screened_goal.clone(),
        constraints: list(&row.constraints),
        acceptance_criteria: list(&row.acceptance_criteria),
        priority: i32::try_from(row.priority).unwrap_or_default(),
        budget: Budget {
            max_tokens: u64::try_from(row.max_tokens).unwrap_or(0),
            max_cost_usd: row.max_cost_usd,
            max_time_seconds: u64::try_from(row.max_time_seconds).unwrap_or(0),
        },
        allowed_hosts: row.narrowed_hosts(),
        plan: plan.and_then(|p| serde_json::from_str::<Plan>(p).ok()),
        plan_history: history.iter().filter_map(revision).collect(),
        artifacts: artifacts.iter().map(artifact).collect(),
        steps: steps.iter().map(step_view).collect(),
        result: row
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str::<TaskResult>(r).ok()),
        error: row
            .error
            .as_deref()
            .and_then(|e| serde_json::from_str::<TaskError>(e).ok()),
        tokens_used: u64::try_from(row.tokens_used).unwrap_or(0),
        cost_usd: row.cost_usd,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        started_at: row.started_at.map(rfc3339),
        finished_at: row.finished_at.map(rfc3339),
    }
}

pub fn summary(row: &TaskRow) -> TaskSummary {
    TaskSummary {
        task_id: row.id.clone(),
        status: task_status(&row.status),
        goal: row.goal.clone(),
        priority: i32::try_from(row.priority).unwrap_or_default(),
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        error_code: row.error_code.clone(),
    }
}
