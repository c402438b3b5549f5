//! The task API's handlers: validation and translation only; the work
//! happens in the store and the workers.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use octollm_server::{ApiError, ApiJson};
use octollm_types::orchestrator::{ArmView, ResultMetadata, TaskAccepted, TaskList, TaskResult};
use octollm_types::reflex::{BatchRequest, BatchResponse, Decision, RedactionStrategy};
use octollm_types::task::{TaskContract, TaskStatus};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::arms::no_retry_hook;
use crate::core::Shared;
use crate::store::{now_ms, CancelOutcome, NewTask};
use crate::{sse, view};

pub(crate) fn routes(core: Shared) -> Router {
    Router::new()
        .route("/api/v1/tasks", post(submit).get(list))
        .route("/api/v1/tasks/{id}", get(show))
        .route("/api/v1/tasks/{id}/cancel", post(cancel))
        .route("/api/v1/tasks/{id}/events", get(sse::events))
        .route("/api/v1/arms", get(arms))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(core)
}

fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(
        "STORE_UNAVAILABLE",
        format!("The task store is not answering: {e}"),
    )
    .with_retry_after(2)
}

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

fn validate(core: &Shared, c: &TaskContract) -> Result<(), ApiError> {
    let cfg = &core.config;
    if c.goal.trim().is_empty() {
        return Err(ApiError::bad_request(
            "INVALID_GOAL",
            "goal must not be empty",
        ));
    }
    let chars = c.goal.chars().count() as u64;
    if chars > cfg.max_goal_chars {
        return Err(ApiError::bad_request(
            "GOAL_TOO_LONG",
            format!(
                "goal has {chars} characters; at most {} are accepted",
                cfg.max_goal_chars
            ),
        ));
    }
    for (name, list) in [
        ("constraints", &c.constraints),
        ("acceptance_criteria", &c.acceptance_criteria),
    ] {
        if list.len() as u64 > cfg.max_list_items {
            return Err(ApiError::bad_request(
                "TOO_MANY_ITEMS",
                format!(
                    "{name} has {} entries; at most {} are accepted",
                    list.len(),
                    cfg.max_list_items
                ),
            ));
        }
    }
    let b = &c.budget;
    if b.max_time_seconds == 0 || b.max_time_seconds > cfg.max_task_seconds {
        return Err(ApiError::bad_request(
            "INVALID_BUDGET",
            format!(
                "budget.max_time_seconds must be between 1 and {}",
                cfg.max_task_seconds
            ),
        ));
    }
    if !b.max_cost_usd.is_finite() || b.max_cost_usd < 0.0 {
        return Err(ApiError::bad_request(
            "INVALID_BUDGET",
            "budget.max_cost_usd must be a non-negative number",
        ));
    }
    if b.max_tokens > i64::MAX as u64 {
        return Err(ApiError::bad_request(
            "INVALID_BUDGET",
            "budget.max_tokens is too large",
        ));
    }
    Ok(())
}

/// Screens the goal, constraints and criteria in one reflex call: the
/// redacted texts, or the rejection.
async fn screen(core: &Shared, c: &TaskContract) -> Result<Vec<String>, ApiError> {
    let mut texts = vec![c.goal.clone()];
    texts.extend(c.constraints.iter().cloned());
    texts.extend(c.acceptance_criteria.iter().cloned());
    let req = BatchRequest {
        texts: texts.clone(),
        check_pii: true,
        check_injection: true,
        redact: true,
        redaction_strategy: RedactionStrategy::Label,
        use_cache: true,
        user_id: None,
    };
    let arm = &core.arms.reflex;
    let reply = core
        .arms
        .call(
            arm,
            "/api/v1/reflex/batch",
            &req,
            core.config
                .arm_timeout()
                .min(std::time::Duration::from_secs(10)),
            None,
            no_retry_hook,
        )
        .await;
    let unavailable = |why: String| {
        if core.config.reflex_fail_open {
            tracing::warn!(reason = %why, "reflex layer unavailable; accepting the task unscreened (fail-open)");
            Ok(texts.clone())
        } else {
            core.metrics.reject("reflex_unavailable");
            Err(ApiError::unavailable(
                "REFLEX_UNAVAILABLE",
                format!("The reflex layer could not screen the task ({why}); try again later"),
            )
            .with_retry_after(5))
        }
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => return unavailable(e.to_string()),
    };
    if reply.status == 413 || reply.status == 422 || reply.status == 400 {
        core.metrics.reject("unscreenable");
        return Err(ApiError::bad_request(
            "SCREENING_FAILED",
            reply.error_message(),
        ));
    }
    if reply.status != 200 {
        return unavailable(format!("HTTP {}", reply.status));
    }
    let batch: BatchResponse = match serde_json::from_value(reply.body) {
        Ok(b) => b,
        Err(e) => return unavailable(format!("unexpected answer: {e}")),
    };
    let blocked: Vec<Value> = batch
        .results
        .iter()
        .filter(|r| r.status == Decision::Blocked)
        .flat_map(|r| r.injections.iter())
        .map(|f| json!(f))
        .collect();
    if !blocked.is_empty() || batch.results.iter().any(|r| r.status == Decision::Blocked) {
        core.metrics.reject("injection");
        return Err(ApiError::bad_request(
            "INJECTION_DETECTED",
            "The task was rejected: it carries a prompt-injection attempt",
        )
        .with_details(json!({"injections": blocked})));
    }
    Ok(batch
        .results
        .into_iter()
        .zip(texts)
        .map(|(r, t)| r.redacted_text.unwrap_or(t))
        .collect())
}

fn cache_key(screened: &[String], context: &Map<String, Value>) -> String {
    let doc = json!({"texts": screened, "context": context});
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

async fn submit(
    State(core): State<Shared>,
    ApiJson(c): ApiJson<TaskContract>,
) -> Result<Response, ApiError> {
    validate(&core, &c)?;
    let screened = screen(&core, &c).await?;
    let n_constraints = c.constraints.len();
    let screened_goal = screened.first().cloned().unwrap_or_default();
    let screened_constraints: Vec<String> = screened
        .iter()
        .skip(1)
        .take(n_constraints)
        .cloned()
        .collect();
    let cacheable = core.config.result_cache_enabled
        && c.context.get("cache").and_then(Value::as_bool) != Some(false);
    let key = if cacheable {
        cache_key(&screened, &c.context)
    } else {
        String::new()
    };
    let now = now_ms();
    let mut cached_result = None;
    if cacheable {
        let since = now - (core.config.result_cache_ttl_seconds as i64).saturating_mul(1000);
        match core
            .store
            .find_cached(&key, since)
            .await
            .map_err(store_error)?
        {
            Some(hit) => {
                let earlier: Option<TaskResult> = hit
                    .result
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok());
                if let Some(earlier) = earlier {
                    core.metrics.cache_hits.inc();
                    let result = TaskResult {
                        output: earlier.output,
                        metadata: ResultMetadata {
                            steps_executed: 0,
                            total_duration_ms: 0,
                            tokens_used: 0,
                            cost_usd: 0.0,
                            cached: true,
                            criteria: earlier.metadata.criteria,
                        },
                    };
                    cached_result = serde_json::to_string(&result).ok();
                }
            }
            None => {
                core.metrics.cache_misses.inc();
            }
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let task = NewTask {
        id: id.clone(),
        goal: c.goal.clone(),
        screened_goal,
        constraints: to_json(&screened_constraints),
        context: to_json(&c.context),
        acceptance_criteria: to_json(&c.acceptance_criteria),
        priority: i64::from(c.priority),
        max_tokens: c.budget.max_tokens as i64,
        max_cost_usd: c.budget.max_cost_usd,
        max_time_seconds: c.budget.max_time_seconds as i64,
        cache_key: key,
        created_at: now,
        cached_result: cached_result.clone(),
    };
    core.store.insert_task(&task).await.map_err(store_error)?;
    core.metrics.submitted.inc();
    let _ = core.events.send(id.clone());
    let body = if cached_result.is_some() {
        TaskAccepted {
            task_id: id,
            status: TaskStatus::Completed,
            message: "Answered from the result cache".into(),
            cached: true,
        }
    } else {
        core.wake.notify_one();
        TaskAccepted {
            task_id: id,
            status: TaskStatus::Pending,
            message: "Task accepted and queued".into(),
            cached: false,
        }
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// JSON text of a column value; these types always serialise.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

async fn show(State(core): State<Shared>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = task_id(&raw)?;
    let task = core
        .store
        .get_task(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found(format!("No task with id {id}")))?;
    let plan = core.store.get_plan(&id).await.map_err(store_error)?;
    let steps = core.store.get_steps(&id).await.map_err(store_error)?;
    Ok(Json(view::task_view(&task, plan.as_deref(), &steps)).into_response())
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
                        format!("Unknown status '{s}'; expected pending, planning, executing, completed, failed or cancelled"),
                    )
                })?
                .as_str(),
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
            format!("The task already ended ({status}); there is nothing to cancel"),
        )
        .with_details(json!({"status": status}))),
        CancelOutcome::Cancelled => {
            core.event(&id, "task.cancelled", "cancelled", None, json!({"status": "cancelled", "error": {"code": "CANCELLED", "message": "The task was cancelled by request"}}))
                .await
                .map_err(store_error)?;
            core.metrics
                .finished
                .get_or_create(&crate::metrics::StatusLabels {
                    status: "cancelled".into(),
                })
                .inc();
            Ok(Json(json!({"task_id": id, "status": "cancelled", "message": "The task was cancelled before it started"})).into_response())
        }
        CancelOutcome::Requested => {
            core.signal_cancel(&id);
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"task_id": id, "status": "cancelling", "message": "Cancellation requested; the running step is being stopped"})),
            )
                .into_response())
        }
    }
}

async fn arms(State(core): State<Shared>) -> Json<Value> {
    let a = &core.arms;
    let (r, p, e) = tokio::join!(
        a.probe(&a.reflex),
        a.probe(&a.planner),
        a.probe(&a.executor)
    );
    let arms: Vec<ArmView> = [(&a.reflex, r), (&a.planner, p), (&a.executor, e)]
        .into_iter()
        .map(|(arm, (health, latency_ms))| ArmView {
            name: arm.name.to_string(),
            url: arm.url.clone(),
            health,
            breaker: arm.breaker_state().as_str().to_string(),
            capabilities: arm.capabilities.clone(),
            latency_ms,
        })
        .collect();
    Json(json!({"arms": arms}))
}

async fn health(State(core): State<Shared>) -> Json<Value> {
    let store_ok = core.store.ping().await.is_ok();
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
    extra.insert(
        "running_tasks".into(),
        Value::from(core.running.lock().len()),
    );
    let breakers: Map<String, Value> = core
        .arms
        .all()
        .iter()
        .map(|a| (a.name.to_string(), Value::from(a.breaker_state().as_str())))
        .collect();
    let any_open = breakers.values().any(|v| v != "closed");
    extra.insert("breakers".into(), Value::Object(breakers));
    extra.insert("llm_judge".into(), Value::from(core.judge.is_some()));
    Json(
        core.uptime
            .health_body("orchestrator", !store_ok || any_open, extra),
    )
}

async fn ready(State(core): State<Shared>) -> Response {
    let store_ok = core.store.ping().await.is_ok();
    let a = &core.arms;
    let (r, p, e) = tokio::join!(
        a.probe(&a.reflex),
        a.probe(&a.planner),
        a.probe(&a.executor)
    );
    let deps = json!({
        "store": store_ok,
        "reflex": r.0 != "unreachable",
        "planner": p.0 != "unreachable",
        "executor": e.0 != "unreachable",
    });
    let down: Vec<String> = deps
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| **v == Value::Bool(false))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if down.is_empty() {
        Json(json!({"status": "ready", "dependencies": deps})).into_response()
    } else {
        ApiError::unavailable(
            "DEPENDENCY_UNAVAILABLE",
            format!("Not ready: {} not answering", down.join(", ")),
        )
        .with_details(json!({"dependencies": deps}))
        .with_retry_after(5)
        .into_response()
    }
}
