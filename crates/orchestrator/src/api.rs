//! The task API's handlers: validation and translation only; the work
//! happens in the store and the workers.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use octollm_server::health::{HealthBody, ReadyBody};
use octollm_server::{ApiError, ApiJson};
use octollm_types::orchestrator::{
    ArmView, ArtifactList, ArtifactView, CancelAnswer, EraseAnswer, PurgeAnswer, PurgeRequest,
    TaskAccepted, TaskList, TaskView,
};
use octollm_types::reflex::{ProcessRequest, ProcessResponse};
use octollm_types::task::{TaskContract, TaskStatus};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::arms::ArmError;
use crate::core::Shared;
use crate::store::{CancelOutcome, EraseOutcome};
use crate::submit::{self, store_error};
use crate::{sse, view};

/// The task API. `body_limit` is the server's; a submission may be larger
/// by the files it may carry.
pub(crate) fn routes(core: Shared, body_limit: usize) -> OpenApiRouter {
    let submit_limit = crate::files::submit_body_limit(&core.config, body_limit);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        // Only a submission carries files; the list has no body.
        .routes(routes!(submit, list).layer(DefaultBodyLimit::max(submit_limit)))
        .routes(routes!(show, erase))
        .routes(routes!(purge))
        .routes(routes!(cancel))
        .routes(routes!(artifacts))
        .routes(routes!(artifact))
        .routes(routes!(crate::decide::approve))
        .routes(routes!(crate::decide::reject))
        .routes(routes!(sse::events))
        .routes(routes!(arms))
        .routes(routes!(scan))
        .routes(routes!(health))
        .routes(routes!(ready))
        .merge(crate::console::routes())
        .with_state(core)
}

#[derive(OpenApi)]
#[openapi(info(
    title = "OctoLLM orchestrator",
    description = "Turns goals into durable tasks: screened, planned, run step by step in the sandbox, verified."
))]
struct ApiDoc;

/// A well-formed task id, or a 400.
pub(crate) fn task_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| {
            ApiError::bad_request(
                "INVALID_TASK_ID",
                format!("'{raw}' is not a task id (a UUID)"),
            )
        })
}

/// Submits a goal. The task runs in the background; follow it with
/// `GET /api/v1/tasks/{id}` or its events.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskContract,
    responses((status = 202, description = "Accepted (or answered from the result cache)", body = TaskAccepted)))]
async fn submit(
    State(core): State<Shared>,
    ApiJson(c): ApiJson<TaskContract>,
) -> Result<Response, ApiError> {
    let accepted = submit::submit(&core, c).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// A task: its status, plan, steps with their outputs and provenance,
/// result, cost and plan history.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses((status = 200, description = "The task", body = TaskView)))]
async fn show(State(core): State<Shared>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    Ok(Json(task_view(&core, &id).await?).into_response())
}

/// The task as `GET /api/v1/tasks/{id}` shows it, or a 404.
pub(crate) async fn task_view(core: &Shared, id: &str) -> Result<TaskView, ApiError> {
    let task = core
        .store
        .get_task(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("No task with id {id}")))?;
    let plan = core.store.get_plan(id).await.map_err(store_error)?;
    let history = core.store.plan_history(id).await.map_err(store_error)?;
    let steps = core.store.get_steps(id).await.map_err(store_error)?;
    let artifacts = core.store.list_artifacts(id).await.map_err(store_error)?;
    Ok(view::task_view(
        &task,
        plan.as_deref(),
        &history,
        &steps,
        &artifacts,
    ))
}

fn encode_cursor(ms: i64, id: &str) -> String {
    hex::encode(format!("{ms}:{id}"))
}

fn decode_cursor(raw: &str) -> Option<(i64, String)> {
    let bytes = hex::decode(raw).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    let (ms, id) = s.split_once(':')?;
    Some((
        ms.parse().ok()?,
        uuid::Uuid::parse_str(id).ok()?.hyphenated().to_string(),
    ))
}

/// Tasks, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(
        ("status" = Option<TaskStatus>, Query, description = "Only tasks with this status"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)", minimum = 1, maximum = 100),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "One page of tasks", body = TaskList)))]
async fn list(
    State(core): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let status = match q.get("status").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(
            TaskStatus::parse(s)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_STATUS",
                        format!("Unknown status '{s}'; expected pending, planning, executing, awaiting_approval, completed, failed or cancelled"),
                    )
                })?,
        ),
    };
    let limit = match q.get("limit") {
        None => 20,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "INVALID_LIMIT",
                    "limit must be a whole number between 1 and 100",
                ))
            }
        },
    };
    let after = match q.get("cursor").map(String::as_str) {
        None | Some("") => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::bad_request("INVALID_CURSOR", "cursor is not one this API handed out")
        })?),
    };
    let rows = core
        .store
        .list_tasks(status, after, limit + 1)
        .await
        .map_err(store_error)?;
    let more = rows.len() as i64 > limit;
    let page: Vec<_> = rows.iter().take(limit as usize).collect();
    let next_cursor = if more {
        page.last().map(|r| encode_cursor(r.created_at, &r.id))
    } else {
        None
    };
    Ok(Json(TaskList {
        tasks: page.into_iter().map(view::summary).collect(),
        next_cursor,
    })
    .into_response())
}

/// Erases a task that has ended, and everything derived from it: plan,
/// steps, events, plan revisions, input files, artifacts and its place in
/// the result cache.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses((status = 200, description = "Erased", body = EraseAnswer)))]
async fn erase(State(core): State<Shared>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    match core.store.erase_task(&id).await.map_err(store_error)? {
        EraseOutcome::Erased => {
            tracing::info!(target: "audit", task_id = %id, "task erased");
            Ok(Json(EraseAnswer {
                task_id: id,
                erased: true,
            })
            .into_response())
        }
        EraseOutcome::NotFound => Err(ApiError::not_found(format!("No task with id {id}"))),
        EraseOutcome::NotFinished(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "TASK_NOT_FINISHED",
            format!("The task has not ended ({status}); cancel it first"),
        )
        .with_details(json!({"status": status}))),
    }
}

/// Erases every task that ended longer ago than `older_than_seconds`, with
/// everything derived from them (as `DELETE /api/v1/tasks/{id}` does).
/// Tasks that have not ended are never touched.
#[utoipa::path(post, path = "/api/v1/tasks/purge", tag = "tasks", request_body = PurgeRequest,
    responses((status = 200, description = "How many tasks were erased", body = PurgeAnswer)))]
async fn purge(
    State(core): State<Shared>,
    ApiJson(req): ApiJson<PurgeRequest>,
) -> Result<Json<PurgeAnswer>, ApiError> {
    let age_ms = i64::try_from(req.older_than_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let cutoff = crate::store::now_ms().saturating_sub(age_ms);
    let erased = core
        .store
        .erase_finished_before(cutoff)
        .await
        .map_err(store_error)?;
    tracing::info!(target: "audit", erased, older_than_seconds = req.older_than_seconds, "tasks purged");
    Ok(Json(PurgeAnswer { erased }))
}

/// Cancels a task that has not ended.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses(
        (status = 200, description = "Cancelled before it started", body = CancelAnswer),
        (status = 202, description = "Cancellation requested; the running step is being stopped", body = CancelAnswer),
    ))]
async fn cancel(State(core): State<Shared>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let outcome = core
        .store
        .request_cancel(
            &id,
            &json!({"code": "CANCELLED", "message": "The task was cancelled by request"})
                .to_string(),
        )
        .await
        .map_err(store_error)?;
    match outcome {
        CancelOutcome::NotFound => Err(ApiError::not_found(format!("No task with id {id}"))),
        CancelOutcome::AlreadyFinished(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "TASK_ALREADY_FINISHED",
            format!(
                "The task already ended ({}); there is nothing to cancel",
                status.as_str()
            ),
        )
        .with_details(json!({"status": status}))),
        CancelOutcome::Cancelled => {
            core.event(&id, "task.cancelled", TaskStatus::Cancelled.as_str(), None, json!({"status": "cancelled", "error": {"code": "CANCELLED", "message": "The task was cancelled by request"}}))
                .await
                .map_err(store_error)?;
            core.metrics
                .finished
                .get_or_create(&crate::metrics::StatusLabels {
                    status: TaskStatus::Cancelled.as_str().into(),
                })
                .inc();
            Ok(Json(CancelAnswer {
                task_id: id,
                status: "cancelled".into(),
                message: "The task was cancelled before it started".into(),
            })
            .into_response())
        }
        CancelOutcome::Requested => {
            core.signal_cancel(&id);
            Ok((
                StatusCode::ACCEPTED,
                Json(CancelAnswer {
                    task_id: id,
                    status: "cancelling".into(),
                    message: "Cancellation requested; the running step is being stopped".into(),
                }),
            )
                .into_response())
        }
    }
}

/// The files a task's steps left in `/workspace/out/`.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/artifacts", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses((status = 200, description = "The artifacts: name, size, sha256", body = ArtifactList)))]
async fn artifacts(
    State(core): State<Shared>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    if core
        .store
        .get_task(&id)
        .await
        .map_err(store_error)?
        .is_none()
    {
        return Err(ApiError::not_found(format!("No task with id {id}")));
    }
    let rows = core.store.list_artifacts(&id).await.map_err(store_error)?;
    let list: Vec<ArtifactView> = rows.iter().map(view::artifact).collect();
    Ok(Json(ArtifactList {
        task_id: id,
        artifacts: list,
    })
    .into_response())
}

/// An artifact's bytes, as stored (text redacted by the reflex layer).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/artifacts/{name}", tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id"), ("name" = String, Path, description = "The artifact's file name")),
    responses((status = 200, description = "The bytes, with their media type and X-Content-SHA256",
        content((Vec<u8> = "application/octet-stream"), (String = "text/plain")))))]
async fn artifact(
    State(core): State<Shared>,
    Path((raw, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let row = core
        .store
        .get_artifact(&id, &name)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("Task {id} has no artifact {name:?}")))?;
    let Some(bytes) = row.content else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ARTIFACT_SKIPPED",
            format!(
                "The artifact {name:?} was not kept: {}",
                row.skipped.as_deref().unwrap_or("no content")
            ),
        ));
    };
    // The name passed check_name when it was stored: no quote, no control.
    let disposition = format!("attachment; filename=\"{}\"", name.replace('"', "_"));
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, row.media_type),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::header::HeaderName::from_static("x-content-sha256"),
                row.sha256,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Every arm with its health and circuit breaker.
#[utoipa::path(get, path = "/api/v1/arms", tag = "arms",
    responses((status = 200, description = "The arms", body = ArmList)))]
async fn arms(State(core): State<Shared>) -> Json<ArmList> {
    let registered: Vec<_> = core.arms.all().collect();
    let healths = futures_util::future::join_all(registered.iter().map(|a| a.health())).await;
    let arms: Vec<ArmView> = registered
        .iter()
        .zip(healths)
        .map(|(arm, h)| ArmView {
            name: arm.name.clone(),
            url: arm.location(),
            health: h.status,
            breaker: arm.breaker_state().as_str().to_string(),
            capabilities: arm.capabilities.clone(),
            latency_ms: h.latency_ms,
        })
        .collect();
    Json(ArmList { arms })
}

/// `GET /api/v1/arms`.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ArmList {
    arms: Vec<ArmView>,
}

/// Screens a text with the reflex layer, as a task's input would be (the
/// console's scan page; the reflex service itself may listen elsewhere).
#[utoipa::path(post, path = "/api/v1/scan", tag = "reflex", request_body = ProcessRequest,
    responses((status = 200, description = "The reflex layer's verdict", body = ProcessResponse)))]
async fn scan(
    State(core): State<Shared>,
    ApiJson(req): ApiJson<ProcessRequest>,
) -> Result<Json<ProcessResponse>, ApiError> {
    let unavailable = |why: String| {
        ApiError::unavailable(
            "REFLEX_UNAVAILABLE",
            format!("The reflex layer could not screen the text ({why}); try again later"),
        )
        .with_retry_after(5)
    };
    let reply = core
        .reflex_call(None, |arm, timeout| arm.screen(&req, timeout))
        .await
        .ok_or_else(|| unavailable("no screening arm is registered".into()))?;
    match reply {
        Ok(found) => Ok(Json(found)),
        Err(ArmError::Refused { refusal, .. }) if (400..500).contains(&refusal.status) => {
            Err(ApiError::bad_request("SCREENING_FAILED", refusal.message))
        }
        Err(e) => Err(unavailable(e.to_string())),
    }
}

/// Whether the store answers a ping within 2 s. A database that is down
/// makes the pool wait for a connection up to its own acquire timeout;
/// health checks must answer well before a prober gives up.
async fn store_answers(core: &Shared) -> bool {
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), core.store.ping()).await,
        Ok(Ok(()))
    )
}

/// Liveness, the store and the arms.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthBody)))]
async fn health(State(core): State<Shared>) -> Json<Value> {
    let store_ok = store_answers(&core).await;
    let mut extra = Map::new();
    extra.insert("database".into(), Value::from(core.store.backend_name()));
    extra.insert(
        "store".into(),
        Value::from(if store_ok {
            "connected"
        } else {
            "disconnected"
        }),
    );
    extra.insert("workers".into(), Value::from(core.config.workers));
    extra.insert("queued_tasks".into(), Value::from(core.admission.queued()));
    extra.insert(
        "max_queued_tasks".into(),
        Value::from(core.config.max_queued_tasks),
    );
    extra.insert(
        "running_tasks".into(),
        Value::from(core.running.lock().len()),
    );
    let breakers: Map<String, Value> = core
        .arms
        .all()
        .map(|a| (a.name.clone(), Value::from(a.breaker_state().as_str())))
        .collect();
    let any_open = breakers.values().any(|v| v != "closed");
    extra.insert("breakers".into(), Value::Object(breakers));
    extra.insert("llm_judge".into(), Value::from(core.judge.is_some()));
    Json(
        core.uptime
            .health_body("orchestrator", !store_ok || any_open, extra),
    )
}

/// 200 when the store and every arm answer, else 503.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, body = ReadyBody)))]
async fn ready(State(core): State<Shared>) -> Response {
    let store_ok = store_answers(&core).await;
    let registered: Vec<_> = core.arms.all().collect();
    let healths = futures_util::future::join_all(registered.iter().map(|a| a.health())).await;
    let mut deps: Vec<(&str, bool)> = vec![("store", store_ok)];
    deps.extend(
        registered
            .iter()
            .zip(&healths)
            .map(|(a, h)| (a.name.as_str(), h.reachable())),
    );
    octollm_server::health::ready(&deps)
}
