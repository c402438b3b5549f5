//! The planner's HTTP service.

use std::sync::Arc;

use axum::extract::State;

use axum::response::{IntoResponse, Response};
use axum::Json;
use octollm_server::health::{HealthBody, ReadyBody};
use octollm_server::{ApiError, ApiJson, Uptime};
use octollm_types::plan::{Plan, PlanRequest};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::policy::gated_json;
use crate::Planner;

#[derive(Clone)]
pub(crate) struct AppState {
    pub planner: Arc<Planner>,
    pub uptime: Uptime,
}

#[derive(OpenApi)]
#[openapi(info(
    title = "OctoLLM planner",
    description = "Turns a goal into a small DAG of executable steps."
))]
struct ApiDoc;

pub(crate) fn routes(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(plan))
        .routes(routes!(plan_unversioned))
        .routes(routes!(capabilities))
        .routes(routes!(health))
        .routes(routes!(ready))
        .with_state(state)
}

/// Plans a goal.
#[utoipa::path(post, path = "/api/v1/plan", tag = "planner", request_body = PlanRequest,
    responses((status = 200, description = "The plan, with `cached` telling whether it came from the plan cache", body = Plan)))]
async fn plan(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<PlanRequest>,
) -> Result<Response, ApiError> {
    let outcome = s.planner.plan(&req).await.map_err(|e| e.to_api_error())?;
    let mut body = serde_json::to_value(&outcome.plan)
        .map_err(|e| ApiError::internal(format!("serialising the plan: {e}")))?;
    if let Value::Object(m) = &mut body {
        m.insert("cached".into(), Value::Bool(outcome.cached));
    }
    Ok(Json(body).into_response())
}

/// `/api/v1/plan` under its first, unversioned path.
#[utoipa::path(post, path = "/plan", tag = "planner", request_body = PlanRequest, operation_id = "plan_unversioned",
    responses((status = 200, description = "The plan", body = Plan)))]
async fn plan_unversioned(
    state: State<AppState>,
    req: ApiJson<PlanRequest>,
) -> Result<Response, ApiError> {
    plan(state, req).await
}

/// What the planner can plan with: its arms, allowlists, limits and mode.
#[utoipa::path(get, path = "/api/v1/capabilities", tag = "planner",
    responses((status = 200, description = "The planner's capabilities", body = Object)))]
async fn capabilities(State(s): State<AppState>) -> Json<Value> {
    let p = &s.planner;
    let policy = p.policy().await;
    let forbidden = gated_json();
    Json(json!({
        "service": "planner",
        "arms": p.arms().iter().map(|(n, d)| json!({"name": n, "description": d})).collect::<Vec<_>>(),
        "allowed_commands": policy.allowed_commands(),
        "allowed_hosts": policy.allowed_hosts(),
        "allowlist_source": policy.source,
        "forbidden_arguments": forbidden,
        "min_steps": p.config().min_steps,
        "max_steps": p.config().max_steps,
        "repair_rounds": p.config().repair_rounds,
        "mode": p.mode_name(),
        "llm_configured": p.llm_configured(),
        "llm_providers": p.llm_providers(),
        "revises_plans": p.revises_plans(),
        "cache": p.cache_backend(),
        "builtin_goal_shapes": [
            "echo / print / say text",
            "list files in a directory (hidden, long, sorted)",
            "count files, lines, words, characters, matches",
            "find files by name, extension, size or age",
            "read a file, its first or last N lines",
            "search for a pattern in a file or directory",
            "sort and de-duplicate lines",
            "show the date or time",
            "fetch a URL from an allowed host",
            "run an allowlisted command line",
            "arithmetic",
            "compositions of the above (\"list files in /tmp and count them\")"
        ],
    }))
}

/// Liveness and the state of the planner's dependencies.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthBody)))]
async fn health(State(s): State<AppState>) -> Json<Value> {
    let deps = s.planner.dependencies().await;
    let mut extra = Map::new();
    for (name, ok) in &deps {
        let state = match (*name, ok) {
            ("redis", true) => "connected",
            ("redis", false) => "disconnected",
            (_, true) => "reachable",
            (_, false) => "unreachable",
        };
        extra.insert((*name).to_string(), Value::from(state));
    }
    extra.insert("cache".into(), Value::from(s.planner.cache_backend()));
    extra.insert("mode".into(), Value::from(s.planner.mode_name()));
    extra.insert("llm_providers".into(), json!(s.planner.llm_providers()));
    let degraded = deps.values().any(|ok| !ok)
        || s.planner
            .llm_providers()
            .iter()
            .any(|p| p.breaker != octollm_llm::BreakerState::Closed);
    Json(s.uptime.health_body("planner", degraded, extra))
}

/// 200 when every dependency answers, else 503.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, body = ReadyBody)))]
async fn ready(State(s): State<AppState>) -> Response {
    let deps: Vec<(&str, bool)> = s.planner.dependencies().await.into_iter().collect();
    octollm_server::health::ready(&deps)
}
