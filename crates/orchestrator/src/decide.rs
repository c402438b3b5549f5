//! `POST /api/v1/tasks/{id}/steps/{n}/approve` and `…/reject`: a person's
//! decision on a step waiting for approval (SPEC §9.1). Thin handlers: who
//! may decide is checked here, the decision itself is one store write.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use octollm_server::{ApiError, KeyName};
use octollm_types::orchestrator::{ApprovalDecision, Decision, TaskView};
use octollm_types::task::TaskStatus;
use serde::Deserialize;
use serde_json::json;

use crate::api::{task_id, task_view};
use crate::core::Shared;
use crate::store::{now_ms, DecideOutcome};
use crate::submit::store_error;
use crate::view::rfc3339;

/// Longest reason kept with a decision, in characters.
const MAX_REASON_CHARS: usize = 1000;

/// The optional body of a decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    #[serde(default)]
    reason: Option<String>,
}

/// Approves a step waiting for approval; the step then runs.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/steps/{step}/approve", tag = "approvals",
    params(("id" = uuid::Uuid, Path, description = "The task id"), ("step" = u32, Path, description = "The step's number")),
    request_body(content = Option<DecisionBody>, description = "An optional reason"),
    responses((status = 200, description = "The task after the decision", body = TaskView)))]
pub(crate) async fn approve(
    state: State<Shared>,
    path: Path<(String, String)>,
    key: Option<Extension<KeyName>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide(state, path, key, body, Decision::Approved).await
}

/// Rejects a step waiting for approval; the task fails with
/// `APPROVAL_REJECTED`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/steps/{step}/reject", tag = "approvals",
    params(("id" = uuid::Uuid, Path, description = "The task id"), ("step" = u32, Path, description = "The step's number")),
    request_body(content = Option<DecisionBody>, description = "An optional reason"),
    responses((status = 200, description = "The task after the decision", body = TaskView)))]
pub(crate) async fn reject(
    state: State<Shared>,
    path: Path<(String, String)>,
    key: Option<Extension<KeyName>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    decide(state, path, key, body, Decision::Rejected).await
}

/// Who is deciding: the API key's name, or `local` when the API has no
/// keys (the middleware lets no keyless request through when it has).
fn decider(core: &Shared, key: Option<Extension<KeyName>>) -> Result<String, ApiError> {
    let Some(Extension(KeyName(name))) = key else {
        return Ok("local".into());
    };
    if core.config.approver_keys.iter().any(|k| k.trim() == name) {
        return Ok(name);
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "NOT_AN_APPROVER",
        format!(
            "The API key '{name}' may not approve or reject steps; the orchestrator's \
             approver_keys lists the keys that may"
        ),
    ))
}

async fn decide(
    State(core): State<Shared>,
    Path((raw_id, raw_step)): Path<(String, String)>,
    key: Option<Extension<KeyName>>,
    body: Bytes,
    decision: Decision,
) -> Result<Response, ApiError> {
    let id = task_id(&raw_id)?;
    let step: u32 = raw_step.parse().map_err(|_| {
        ApiError::bad_request("INVALID_STEP", format!("'{raw_step}' is not a step number"))
    })?;
    let by = decider(&core, key)?;
    let body: DecisionBody = if body.iter().all(u8::is_ascii_whitespace) {
        DecisionBody::default()
    } else {
        octollm_server::json::parse(&body)?
    };
    let reason = body
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(ApiError::bad_request(
            "REASON_TOO_LONG",
            format!("reason is longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    let record = ApprovalDecision {
        decision,
        by,
        at: rfc3339(now_ms()),
        reason,
    };
    let record_json = serde_json::to_string(&record)
        .map_err(|e| ApiError::internal(format!("could not encode the decision: {e}")))?;
    let outcome = core
        .store
        .decide(
            &id,
            i64::from(step),
            &record_json,
            decision == Decision::Approved,
        )
        .await
        .map_err(store_error)?;
    match outcome {
        DecideOutcome::Decided => {}
        DecideOutcome::NoTask => return Err(ApiError::not_found(format!("No task with id {id}"))),
        DecideOutcome::NoStep => {
            return Err(ApiError::not_found(format!("Task {id} has no step {step}")))
        }
        DecideOutcome::NotWaiting(status) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "STEP_NOT_AWAITING_APPROVAL",
                format!(
                    "Step {step} is not waiting for a decision (it is {}, or was decided already)",
                    status.as_str()
                ),
            )
            .with_details(json!({"step": step, "status": status})))
        }
    }
    tracing::info!(target: "audit", task_id = %id, step, decision = ?record.decision,
        by = %record.by, reason = ?record.reason, "approval decided");
    // The event log is the task's durable audit trail; the status shown is
    // the task's as the decision found it.
    let status = core
        .store
        .get_task(&id)
        .await
        .map_err(store_error)?
        .map_or(TaskStatus::AwaitingApproval, |t| t.status());
    core.event(
        &id,
        "approval_decided",
        status.as_str(),
        Some(i64::from(step)),
        json!({"step": step, "approval": record}),
    )
    .await
    .map_err(store_error)?;
    // A parked task is claimable again; wake a worker here rather than at
    // its next poll.
    core.wake.notify_one();
    Ok(Json(task_view(&core, &id).await?).into_response())
}
