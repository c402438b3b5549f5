//! Accepting a task: what `POST /api/v1/tasks` does behind its handler.

use octollm_policy::plan::depends_on_world;
use octollm_server::ApiError;
use octollm_types::orchestrator::{ResultMetadata, TaskAccepted, TaskResult};
use octollm_types::plan::Plan;
use octollm_types::reflex::{BatchRequest, BatchResponse, Decision, RedactionStrategy};
use octollm_types::task::{TaskContract, TaskStatus};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::arms::{ArmError, EXECUTOR};
use crate::core::Shared;
use crate::error::StoreError;
use crate::store::{now_ms, NewTask, TaskRow};
use octollm_policy::HostList;

/// A store failure as the API answers it: always a 503 with a
/// `Retry-After`, a full disk told apart (it lasts until an operator frees
/// space, so clients are asked to wait longer).
pub(crate) fn store_error(e: StoreError) -> ApiError {
    if e.is_full() {
        tracing::error!(error = %e, "the task store's disk is full; writes are refused until space is freed");
        return ApiError::unavailable(
            "STORE_FULL",
            "The task store is out of disk space; nothing was written. Try again once space is freed",
        )
        .with_retry_after(30);
    }
    ApiError::unavailable(
        "STORE_UNAVAILABLE",
        format!("The task store is not answering: {e}"),
    )
    .with_retry_after(2)
}

/// The task's `allowed_hosts`, checked: well-formed entries, each within
/// the executor's own list when the executor can say what that is (it
/// enforces the intersection itself either way).
async fn narrowed_hosts(core: &Shared, c: &TaskContract) -> Result<Option<Vec<String>>, ApiError> {
    let Some(hosts) = &c.allowed_hosts else {
        return Ok(None);
    };
    if hosts.len() as u64 > core.config.max_list_items {
        return Err(ApiError::bad_request(
            "TOO_MANY_ITEMS",
            format!(
                "allowed_hosts has {} entries; at most {} are accepted",
                hosts.len(),
                core.config.max_list_items
            ),
        ));
    }
    for h in hosts {
        HostList::check_entry(h).map_err(|e| ApiError::bad_request("INVALID_ALLOWED_HOSTS", e))?;
    }
    let server = match core.arms.tool(EXECUTOR) {
        Some((_, arm)) => arm.policy().await.map(|p| p.hosts),
        None => None,
    };
    if let Some(server) = server {
        let outside: Vec<&String> = hosts.iter().filter(|h| !server.covers(h)).collect();
        if !outside.is_empty() {
            return Err(ApiError::bad_request(
                "HOST_NOT_ALLOWED",
                format!(
                    "allowed_hosts may only narrow the executor's list ({}); not within it: {} \
                     (the executor's list is OCTOLLM_EXECUTOR_HTTP_ALLOWED_HOSTS)",
                    server.describe(),
                    outside
                        .iter()
                        .map(|h| h.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(Some(hosts.clone()))
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
    let Some(reply) = core
        .reflex_call(None, |arm, timeout| arm.screen_batch(&req, timeout))
        .await
    else {
        return unavailable("no screening arm is registered".into());
    };
    let batch: BatchResponse = match reply {
        Ok(b) => b,
        Err(ArmError::Refused { refusal, .. }) if matches!(refusal.status, 400 | 413 | 422) => {
            core.metrics.reject("unscreenable");
            return Err(ApiError::bad_request("SCREENING_FAILED", refusal.message));
        }
        Err(e) => return unavailable(e.to_string()),
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

/// The earlier result, when its plan's answer cannot have changed since.
async fn servable(core: &Shared, hit: &TaskRow) -> Result<Option<TaskResult>, ApiError> {
    let plan: Option<Plan> = core
        .store
        .get_plan(&hit.id)
        .await
        .map_err(store_error)?
        .and_then(|p| serde_json::from_str(&p).ok());
    match plan {
        Some(p) if !depends_on_world(&p) => Ok(hit
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())),
        _ => Ok(None),
    }
}

fn cache_key(screened: &[String], context: &Map<String, Value>) -> String {
    let doc = json!({"texts": screened, "context": context});
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

/// Accepts a task: validates it, screens its texts, answers from the result
/// cache when allowed, and stores it. Only screened texts are stored: the
/// planner, the judge and any LLM see the redacted goal, constraints and
/// criteria, never the raw ones.
pub(crate) async fn submit(core: &Shared, c: TaskContract) -> Result<TaskAccepted, ApiError> {
    validate(core, &c)?;
    let files = crate::files::check_inputs(&core.config, &c.files)?;
    // Before anything costly: a full queue refuses at once.
    let place = core.admission.enter().inspect_err(|_| {
        core.metrics.reject("queue_full");
    })?;
    let narrowed = narrowed_hosts(core, &c).await?;
    let screened = screen(core, &c).await?;
    let n_constraints = c.constraints.len();
    let mut screened_goal = screened.first().cloned().unwrap_or_default();
    // Personal data the reflex layer redacted from the goal becomes
    // placeholders the executor can turn back into the values.
    let mut vault_id = None;
    if screened_goal != c.goal && c.tokenize_pii != Some(false) {
        if let Some((goal, id)) = crate::placeholders::tokenize_goal(core, &c.goal).await {
            screened_goal = goal;
            vault_id = Some(id);
        }
    }
    let screened_constraints: Vec<String> = screened
        .iter()
        .skip(1)
        .take(n_constraints)
        .cloned()
        .collect();
    let screened_criteria: Vec<String> = screened.iter().skip(1 + n_constraints).cloned().collect();
    // A result depends on the files too; tasks with files are never cached.
    let cacheable = core.config.result_cache_enabled
        && files.is_empty()
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
            Some(hit) => match servable(core, &hit).await? {
                Some(earlier) => {
                    core.metrics.cache_hits.inc();
                    let age = (now - hit.finished_at.unwrap_or(now)).max(0) as f64 / 1000.0;
                    let result = TaskResult {
                        output: earlier.output,
                        metadata: ResultMetadata {
                            steps_executed: 0,
                            total_duration_ms: 0,
                            tokens_used: 0,
                            cost_usd: 0.0,
                            cached: true,
                            cached_from: Some(hit.id.clone()),
                            cache_age_seconds: Some(age),
                            criteria: earlier.metadata.criteria,
                        },
                    };
                    cached_result = serde_json::to_string(&result).ok();
                }
                None => {
                    core.metrics.cache_misses.inc();
                }
            },
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
        acceptance_criteria: to_json(&screened_criteria),
        priority: i64::from(c.priority),
        max_tokens: c.budget.max_tokens as i64,
        max_cost_usd: c.budget.max_cost_usd,
        max_time_seconds: c.budget.max_time_seconds as i64,
        // A copy served from the cache is never a cache source itself, or a
        // goal asked often enough would repeat one old run forever.
        cache_key: if cached_result.is_some() {
            String::new()
        } else {
            key
        },
        created_at: now,
        cached_result: cached_result.clone(),
        allowed_hosts: narrowed.as_ref().map(to_json),
        approval: c.approval.map(|_| "always".to_string()),
        files,
        vault_id,
        traceparent: octollm_server::trace::traceparent(),
    };
    core.store.insert_task(&task).await.map_err(store_error)?;
    core.metrics.submitted.inc();
    // An answer from the cache waits for no worker.
    if cached_result.is_none() {
        place.keep();
    }
    let _ = core.events.send(std::sync::Arc::from(id.as_str()));
    Ok(if cached_result.is_some() {
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
    })
}

/// JSON text of a column value; these types always serialise.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
