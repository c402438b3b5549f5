//! The fake server: routes, request checks, scripted replay.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::record::{Api, RecordedRequest};
use crate::reply::{render_error, FakeReply};

/// Computes a reply from the request when the script queue is empty.
pub type Responder = Arc<dyn Fn(&RecordedRequest) -> Option<FakeReply> + Send + Sync>;

pub(crate) struct Shared {
    queue: Mutex<VecDeque<FakeReply>>,
    default_reply: Mutex<Option<FakeReply>>,
    responder: Mutex<Option<Responder>>,
    api_key: Mutex<Option<String>>,
    /// The message a server without tool support answers tool requests with.
    refuse_tools: Mutex<Option<String>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// What `GET /v1/models` lists.
    pub(crate) models: Mutex<Vec<String>>,
    seq: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            queue: Mutex::default(),
            default_reply: Mutex::default(),
            responder: Mutex::default(),
            api_key: Mutex::default(),
            refuse_tools: Mutex::default(),
            requests: Mutex::default(),
            models: Mutex::new(crate::models::default_models()),
            seq: AtomicU64::default(),
        }
    }
}

/// A running fake LLM server on loopback. Dropping it stops the server.
pub struct FakeLlm {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeLlm {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> std::io::Result<FakeLlm> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr` (the standalone binary picks the port).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeLlm> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let router = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/chat/completions", post(chat))
            .route(ANTHROPIC_PATH, post(chat))
            .route("/v1/models", get(models))
            .route("/models", get(models))
            .route("/_fake/replies", post(push_control))
            .route("/_fake/requests", get(requests_control))
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeLlm {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL for an OpenAI-compatible client (ends in `/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// Base URL for an Anthropic client (the client appends `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Queues a reply; replies are consumed first in, first out.
    pub fn push_reply(&self, reply: FakeReply) {
        self.shared.queue.lock().push_back(reply);
    }

    pub fn push_replies(&self, replies: impl IntoIterator<Item = FakeReply>) {
        self.shared.queue.lock().extend(replies);
    }

    /// Replies still queued.
    pub fn pending_replies(&self) -> usize {
        self.shared.queue.lock().len()
    }

    /// Computes replies from requests once the queue is empty.
    pub fn set_responder(
        &self,
        responder: impl Fn(&RecordedRequest) -> Option<FakeReply> + Send + Sync + 'static,
    ) {
        *self.shared.responder.lock() = Some(Arc::new(responder));
    }

    /// Used when neither the queue nor the responder has an answer. Without
    /// one the server answers 500, so an unscripted call is visible.
    pub fn set_default_reply(&self, reply: Option<FakeReply>) {
        *self.shared.default_reply.lock() = reply;
    }

    /// Rejects (401) requests that do not present exactly this key.
    pub fn require_api_key(&self, key: &str) {
        *self.shared.api_key.lock() = Some(key.to_string());
    }

    /// The model ids `GET /v1/models` lists (by default the vendors'
    /// default models).
    pub fn set_models<S: Into<String>>(&self, ids: impl IntoIterator<Item = S>) {
        *self.shared.models.lock() = ids.into_iter().map(Into::into).collect();
    }

    /// Answers every request that defines tools with a 400 carrying
    /// `message`, as OpenAI-compatible servers without tool support do.
    pub fn refuse_tools(&self, message: &str) {
        *self.shared.refuse_tools.lock() = Some(message.to_string());
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().clone()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().clear();
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Where the Anthropic API is served; every other chat path speaks OpenAI's.
const ANTHROPIC_PATH: &str = "/v1/messages";

async fn chat(State(s): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let api = if uri.path() == ANTHROPIC_PATH {
        Api::Anthropic
    } else {
        Api::OpenAi
    };
    handle(&s, api, uri.path(), &headers, &body).await
}

async fn models(State(s): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    crate::models::list(&s, &uri, &headers)
}

/// Keeps the request for [`FakeLlm::requests`] and returns it.
pub(crate) fn record(
    s: &Shared,
    api: Api,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> RecordedRequest {
    let raw_body = String::from_utf8_lossy(body).into_owned();
    let record = RecordedRequest {
        api,
        path: path.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        raw_body,
    };
    s.requests.lock().push(record.clone());
    record
}

async fn handle(s: &Shared, api: Api, path: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let record = record(s, api, path, headers, body);
    if let Some((status, msg)) = check_request(s, &record) {
        return respond(status, render_error(api, status, &msg), &[]);
    }
    let scripted = s.queue.lock().pop_front();
    let reply = scripted
        .or_else(|| {
            let responder = s.responder.lock().clone();
            responder.and_then(|r| r(&record))
        })
        .or_else(|| s.default_reply.lock().clone())
        .unwrap_or_else(|| FakeReply::error(500, "fake-llm: no scripted reply for this request"));
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    let seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let model = record.model().unwrap_or("unknown").to_string();
    let streams = record.body.get("stream").and_then(Value::as_bool) == Some(true);
    if streams && reply.raw_body.is_none() && (200..300).contains(&reply.status_code()) {
        return crate::stream::respond(&reply, api, &model, record.prompt_chars(), seq);
    }
    let body = reply.render(
        api,
        &model,
        record.forced_tool(),
        record.prompt_chars(),
        seq,
    );
    respond(reply.status_code(), body, &reply.headers)
}

/// The checks the real APIs make before doing any work, so a client that
/// gets its wire format wrong fails here as it would in production.
fn check_request(s: &Shared, r: &RecordedRequest) -> Option<(u16, String)> {
    if let Some(refused) = check_key(s, r) {
        return Some(refused);
    }
    if r.body.is_null() {
        return Some((400, "Request body is not valid JSON".into()));
    }
    if r.model().is_none_or(str::is_empty) {
        return Some((400, "model: field required".into()));
    }
    let messages = r.messages();
    if messages.is_empty() {
        return Some((400, "messages: at least one message is required".into()));
    }
    let roles_ok = messages.iter().all(|m| {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        match r.api {
            Api::OpenAi => matches!(role, "system" | "developer" | "user" | "assistant" | "tool"),
            Api::Anthropic => matches!(role, "user" | "assistant"),
        }
    });
    if !roles_ok {
        return Some((400, "messages: unexpected role".into()));
    }
    if r.body.get("tools").is_some() {
        if let Some(message) = s.refuse_tools.lock().clone() {
            return Some((400, message));
        }
    }
    if let Some(problem) = crate::tools::check(r) {
        return Some((400, problem));
    }
    if r.api == Api::Anthropic {
        if r.header("anthropic-version").is_none() {
            return Some((400, "anthropic-version: header is required".into()));
        }
        if !r.body.get("max_tokens").is_some_and(Value::is_u64) {
            return Some((400, "max_tokens: field required".into()));
        }
        if messages
            .first()
            .and_then(|m| m.get("role"))
            .and_then(Value::as_str)
            != Some("user")
        {
            return Some((
                400,
                "messages: first message must use the \"user\" role".into(),
            ));
        }
    }
    None
}

/// The credentials check both APIs make first: Anthropic always wants a
/// key; a key set with [`FakeLlm::require_api_key`] must be the one sent.
pub(crate) fn check_key(s: &Shared, r: &RecordedRequest) -> Option<(u16, String)> {
    let expected = s.api_key.lock().clone();
    let presented = match r.api {
        Api::OpenAi => r
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string),
        Api::Anthropic => r.header("x-api-key").map(str::to_string),
    };
    if r.api == Api::Anthropic && presented.is_none() {
        return Some((401, "x-api-key header is required".into()));
    }
    if let Some(key) = expected {
        if presented.as_deref() != Some(key.as_str()) {
            return Some((401, "Incorrect API key provided".into()));
        }
    }
    None
}

pub(crate) fn respond(status: u16, body: String, headers: &[(String, String)]) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            h.insert(k, v);
        }
    }
    res
}

/// Lets an out-of-process driver queue replies: a reply object or a list.
async fn push_control(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let replies: Result<Vec<FakeReply>, _> = match parsed {
        Ok(v @ Value::Array(_)) => serde_json::from_value(v),
        Ok(v) => serde_json::from_value(v).map(|r| vec![r]),
        Err(e) => Err(e),
    };
    match replies {
        Ok(r) => {
            let n = r.len();
            s.queue.lock().extend(r);
            (StatusCode::OK, Json(serde_json::json!({"queued": n}))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn requests_control(State(s): State<Arc<Shared>>) -> Response {
    Json(s.requests.lock().clone()).into_response()
}
