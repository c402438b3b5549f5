//! The gateway's HTTP adapter: provider-shaped endpoints over [`Gateway`].

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use octollm_server::health::{HealthBody, ReadyBody};
use octollm_server::{ClientIdentity, Uptime};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::anthropic::{self, AnthropicError, Message, MessagesRequest};
use crate::gateway::Gateway;
use crate::openai::{self, ChatCompletion, ChatCompletionRequest, OpenAiError};
use crate::relay::{self, Frames};
use crate::GatewayError;

#[derive(Clone)]
pub(crate) struct AppState {
    pub gateway: Arc<Gateway>,
    pub uptime: Uptime,
}

#[derive(OpenApi)]
#[openapi(info(
    title = "OctoLLM gateway",
    description = "OpenAI- and Anthropic-compatible endpoints that screen every message, tokenize personal data before it reaches the provider, restore it in the answer and budget per virtual key."
))]
struct ApiDoc;

pub(crate) fn routes(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(chat_completions))
        .routes(routes!(models))
        .routes(routes!(messages))
        .routes(routes!(health))
        .routes(routes!(ready))
        .with_state(state)
}

fn error_response(e: &GatewayError, body: Value) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, Json(body)).into_response();
    if let Some(secs) = e.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// A streamed answer as server-sent events in `frames`' wire format.
fn sse<F: Frames>(relay: relay::Relay, frames: F) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(relay::events(relay, frames)),
    )
        .into_response()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Creates a chat completion, OpenAI-style. With `"stream": true` the
/// answer comes as `data: {chunk}` events ending in `data: [DONE]`.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "The completion; with `stream` the chunks as server-sent events",
            content((ChatCompletion = "application/json"), (String = "text/event-stream"))),
        (status = 400, description = "Invalid request, or a prompt injection was detected", body = OpenAiError),
        (status = 401, description = "Missing or unknown virtual key", body = OpenAiError),
        (status = 429, description = "A limit of the virtual key (or the reflex layer's) is reached; see `Retry-After`", body = OpenAiError),
        (status = 502, description = "The provider failed", body = OpenAiError),
        (status = 503, description = "Screening unavailable or no provider configured", body = OpenAiError),
    ))]
async fn chat_completions(
    State(s): State<AppState>,
    Extension(who): Extension<ClientIdentity>,
    body: Bytes,
) -> Response {
    let fail = |e: GatewayError| error_response(&e, openai::error_body(&e));
    let (ex, stream, include_usage) = match openai::parse(&body) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let model = ex.model.clone();
    let key = who.api_key.as_deref();
    let id = new_id("chatcmpl-");
    let created = chrono::Utc::now().timestamp();
    if stream {
        return match s.gateway.open_stream("openai", key, ex).await {
            Ok(relay) => sse(
                relay,
                openai::ChunkWriter {
                    id,
                    created,
                    model,
                    include_usage,
                },
            ),
            Err(e) => fail(e),
        };
    }
    match s.gateway.complete("openai", key, ex).await {
        Ok(answer) => Json(openai::completion(&id, created, &model, &answer)).into_response(),
        Err(e) => fail(e),
    }
}

/// Lists the models the gateway forwards to, OpenAI-style.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses(
        (status = 200, description = "`{\"object\": \"list\", \"data\": [{\"id\", \"object\": \"model\", …}]}`", body = Object),
        (status = 401, description = "Missing or unknown virtual key", body = OpenAiError),
    ))]
async fn models(State(s): State<AppState>, Extension(who): Extension<ClientIdentity>) -> Response {
    if let Err(e) = s.gateway.authenticate(who.api_key.as_deref()) {
        return error_response(&e, openai::error_body(&e));
    }
    let data: Vec<Value> = s
        .gateway
        .models()
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": 0, "owned_by": "octollm"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

/// Creates a message, Anthropic-style. With `"stream": true` the answer
/// comes as Anthropic's server-sent events (`message_start` …
/// `message_stop`).
#[utoipa::path(post, path = "/v1/messages", tag = "anthropic", request_body = MessagesRequest,
    responses(
        (status = 200, description = "The message; with `stream` its events as server-sent events",
            content((Message = "application/json"), (String = "text/event-stream"))),
        (status = 400, description = "Invalid request, or a prompt injection was detected", body = AnthropicError),
        (status = 401, description = "Missing or unknown virtual key", body = AnthropicError),
        (status = 429, description = "A limit of the virtual key (or the reflex layer's) is reached; see `Retry-After`", body = AnthropicError),
        (status = 502, description = "The provider failed", body = AnthropicError),
        (status = 503, description = "Screening unavailable or no provider configured", body = AnthropicError),
    ))]
async fn messages(
    State(s): State<AppState>,
    Extension(who): Extension<ClientIdentity>,
    body: Bytes,
) -> Response {
    let fail = |e: GatewayError| error_response(&e, anthropic::error_body(&e));
    let (ex, stream) = match anthropic::parse(&body) {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let model = ex.model.clone();
    let key = who.api_key.as_deref();
    let id = new_id("msg_");
    if stream {
        return match s.gateway.open_stream("anthropic", key, ex).await {
            Ok(relay) => sse(relay, anthropic::EventWriter { id, model }),
            Err(e) => fail(e),
        };
    }
    match s.gateway.complete("anthropic", key, ex).await {
        Ok(answer) => Json(anthropic::message(&id, &model, &answer)).into_response(),
        Err(e) => fail(e),
    }
}

/// Liveness and the state of the providers' breakers.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, body = HealthBody)))]
async fn health(State(s): State<AppState>) -> Json<Value> {
    let providers = s.gateway.providers();
    let degraded = providers
        .iter()
        .any(|p| p.breaker != octollm_llm::BreakerState::Closed);
    let mut extra = Map::new();
    extra.insert("llm_providers".into(), json!(providers));
    extra.insert("virtual_keys".into(), json!(s.gateway.keys_enabled()));
    Json(s.uptime.health_body("gateway", degraded, extra))
}

/// 200 when the reflex layer it screens with answers and the keys'
/// budgets can be checked, else 503: without either nothing is forwarded.
#[utoipa::path(get, path = "/ready", tag = "service", responses((status = 200, body = ReadyBody)))]
async fn ready(State(s): State<AppState>) -> Response {
    let reflex = s.gateway.screening_reachable().await;
    let budgets = s.gateway.budgets_reachable();
    octollm_server::health::ready(&[("reflex", reflex), ("budgets", budgets)])
}
