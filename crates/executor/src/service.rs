//! The HTTP service: thin axum handlers over one shared [`Executor`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::Path;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use octollm_server::health::{HealthBody, ReadyBody};
use octollm_server::{ApiError, ApiJson, RequestId, ServiceOptions};
use octollm_types::exec::{ExecuteRequest, ExecuteResponse, WorkspaceFiles, WorkspaceInputs};
use serde_json::{Map, Value};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::ExecutorConfig;
use crate::executor::Executor;
use crate::ExecutorError;

type Shared = Arc<Executor>;

/// Starts an [`Executor`] and builds its router, passed through
/// `octollm_server::finish`.
pub async fn app(config: ExecutorConfig, opts: ServiceOptions) -> Result<Router, ExecutorError> {
    let executor = Arc::new(Executor::start(config).await?);
    sweep_workspaces(&executor);
    Ok(router(executor, opts))
}

/// Sweeps abandoned workspaces now and every hour while the executor lives.
pub fn sweep_workspaces(executor: &Arc<Executor>) {
    let weak = Arc::downgrade(executor);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let Some(ex) = weak.upgrade() else { return };
            let _ = tokio::task::spawn_blocking(move || ex.sweep_workspaces()).await;
        }
    });
}

/// The router over an existing executor, so one instance can serve HTTP
/// and in-process callers at once. Registers the executor's metrics in
/// `opts.metrics` (the first time only).
pub fn router(executor: Arc<Executor>, opts: ServiceOptions) -> Router {
    executor.register_metrics(&opts.metrics);
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(execute))
        .routes(routes!(execute_unversioned))
        .routes(routes!(capabilities))
        .routes(routes!(put_inputs))
        .routes(routes!(artifacts))
        .routes(routes!(remove_workspace))
        .routes(routes!(health))
        .routes(routes!(ready))
        .with_state(executor);
    octollm_server::finish(router, opts)
}

#[derive(OpenApi)]
#[openapi(info(
    title = "OctoLLM executor",
    description = "Runs allowlisted commands in a Linux sandbox and fetches from allowed hosts."
))]
struct ApiDoc;

fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<ExecuteRequest, ApiError> {
    let bytes = body.map_err(|rej| octollm_server::json::body_rejection(&rej))?;
    octollm_server::json::parse(&bytes)
}

/// Runs one action: a command in the sandbox, or an HTTP fetch. Every
/// answer, a refusal included, is the flat `ExecuteResponse` (the one
/// exception to the error envelope).
#[utoipa::path(post, path = "/api/v1/execute", tag = "executor", request_body = ExecuteRequest,
    params(("X-Capability-Token" = Option<String>, Header, description = "The orchestrator's capability token, when tokens are required")),
    responses(
        (status = 200, description = "The action ran (a command may still have failed: see exit_code)", body = ExecuteResponse),
        (status = 400, description = "Malformed request", body = ExecuteResponse),
        (status = 401, description = "Missing or invalid capability token", body = ExecuteResponse),
        (status = 403, description = "Refused by the command policy or the host allowlist", body = ExecuteResponse),
        (status = 408, description = "The action timed out", body = ExecuteResponse),
        (status = 413, description = "Request or input too large", body = ExecuteResponse),
        (status = 422, description = "Invalid request fields", body = ExecuteResponse),
        (status = 429, description = "Too many concurrent executions", body = ExecuteResponse),
        (status = 500, description = "The action could not be run", body = ExecuteResponse),
        (status = 503, description = "The sandbox or the HTTP action is unavailable", body = ExecuteResponse),
    ))]
async fn execute(
    State(ex): State<Shared>,
    rid: Option<Extension<RequestId>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let rid = rid.map(|Extension(r)| r.0);
    let reply = match parse_body(body) {
        Ok(req) => ex.execute(req, rid).await,
        // The seed's flat refusal shape, not the envelope.
        Err(e) => ex.bad_request(e.status, &e.code, e.message, rid),
    };
    (reply.status, Json(reply.body)).into_response()
}

/// `/api/v1/execute` under its first, unversioned path.
#[utoipa::path(post, path = "/execute", tag = "executor", request_body = ExecuteRequest, operation_id = "execute_unversioned",
    responses(
        (status = 200, description = "The action ran", body = ExecuteResponse),
        (status = 400, description = "Malformed request", body = ExecuteResponse),
        (status = 401, description = "Missing or invalid capability token", body = ExecuteResponse),
        (status = 403, description = "Refused", body = ExecuteResponse),
        (status = 408, description = "The action timed out", body = ExecuteResponse),
        (status = 413, description = "Too large", body = ExecuteResponse),
        (status = 422, description = "Invalid request fields", body = ExecuteResponse),
        (status = 429, description = "Too many concurrent executions", body = ExecuteResponse),
        (status = 500, description = "The action could not be run", body = ExecuteResponse),
        (status = 503, description = "Unavailable", body = ExecuteResponse),
    ))]
async fn execute_unversioned(
    state: State<Shared>,
    rid: Option<Extension<RequestId>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    execute(state, rid, body).await
}

/// The capability token of a workspace call, from `X-Capability-Token`.
fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(octollm_types::token::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Writes a task's input files into its workspace (read-only to steps).
#[utoipa::path(post, path = "/api/v1/workspaces/{id}/inputs", tag = "workspaces", request_body = WorkspaceInputs,
    params(("id" = String, Path, description = "The workspace (task) id"),
        ("X-Capability-Token" = Option<String>, Header, description = "A token bound to this workspace")),
    responses((status = 200, description = "The files written", body = WorkspaceFiles)))]
async fn put_inputs(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<WorkspaceInputs>,
) -> Result<Json<WorkspaceFiles>, ApiError> {
    Ok(Json(ex.put_inputs(&id, token(&headers), req).await?))
}

/// The files a task's steps left in the workspace's `out/`.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/artifacts", tag = "workspaces",
    params(("id" = String, Path, description = "The workspace (task) id"),
        ("X-Capability-Token" = Option<String>, Header, description = "A token bound to this workspace")),
    responses((status = 200, description = "The artifacts with their bytes", body = WorkspaceFiles)))]
async fn artifacts(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceFiles>, ApiError> {
    Ok(Json(ex.artifacts(&id, token(&headers)).await?))
}

/// Removes a workspace and everything in it.
#[utoipa::path(delete, path = "/api/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "The workspace (task) id"),
        ("X-Capability-Token" = Option<String>, Header, description = "A token bound to this workspace")),
    responses((status = 204, description = "Removed (or there was none)")))]
async fn remove_workspace(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    ex.remove_workspace(&id, token(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the executor runs: actions, the command allowlist, hosts, limits
/// and sandbox layers.
#[utoipa::path(get, path = "/api/v1/capabilities", tag = "executor",
    responses((status = 200, description = "The executor's capabilities", body = Object)))]
async fn capabilities(State(ex): State<Shared>) -> Json<Value> {
    Json(ex.capabilities())
}

/// Liveness and the sandbox's state.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthBody)))]
async fn health(State(ex): State<Shared>) -> Json<Value> {
    let h = ex.health();
    let mut extra = Map::new();
    extra.insert("sandbox".into(), Value::from(h.sandbox.as_str()));
    if let Some(n) = h.sandbox_slots_in_use {
        extra.insert("sandbox_slots_in_use".into(), Value::from(n));
    }
    extra.insert(
        "http_action".into(),
        Value::from(if h.http_action_ready {
            "ready"
        } else {
            "unavailable"
        }),
    );
    extra.insert("audit_log".into(), Value::from("open"));
    Json(ex.uptime().health_body("executor", h.degraded(), extra))
}

/// 200 when the sandbox can run commands, else 503.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, body = ReadyBody)))]
async fn ready(State(ex): State<Shared>) -> Response {
    octollm_server::health::ready(&[("sandbox", ex.health().ready())])
}
