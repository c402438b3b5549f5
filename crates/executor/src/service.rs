//! The HTTP service: thin axum handlers over one shared [`Executor`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::Path;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use octollm_server::{ApiError, ApiJson, RequestId, ServiceOptions};
use octollm_types::exec::{ExecuteRequest, WorkspaceFiles, WorkspaceInputs};
use serde_json::{Map, Value};

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
    let router = Router::new()
        .route("/api/v1/execute", post(execute))
        .route("/execute", post(execute))
        .route("/api/v1/capabilities", get(capabilities))
        .route("/api/v1/workspaces/{id}/inputs", post(put_inputs))
        .route("/api/v1/workspaces/{id}/artifacts", get(artifacts))
        .route("/api/v1/workspaces/{id}", delete(remove_workspace))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(executor);
    octollm_server::finish(router, opts)
}

fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<ExecuteRequest, ApiError> {
    let bytes = body.map_err(|rej| octollm_server::json::body_rejection(&rej))?;
    octollm_server::json::parse(&bytes)
}

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

/// The capability token of a workspace call, from `X-Capability-Token`.
fn token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(octollm_types::token::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

async fn put_inputs(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<WorkspaceInputs>,
) -> Result<Json<WorkspaceFiles>, ApiError> {
    Ok(Json(ex.put_inputs(&id, token(&headers), req).await?))
}

async fn artifacts(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<WorkspaceFiles>, ApiError> {
    Ok(Json(ex.artifacts(&id, token(&headers)).await?))
}

async fn remove_workspace(
    State(ex): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    ex.remove_workspace(&id, token(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn capabilities(State(ex): State<Shared>) -> Json<Value> {
    Json(ex.capabilities())
}

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

async fn ready(State(ex): State<Shared>) -> Response {
    octollm_server::health::ready(&[("sandbox", ex.health().ready())])
}
