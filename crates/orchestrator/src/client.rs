//! A typed client of the orchestrator's task API (SPEC §6), shared by the
//! command line, tests and other services so none of them re-implements
//! the HTTP calls, the SSE parsing or the error envelope.
//!
//! It never prints and never reads the environment: the caller passes the
//! base URL and the API key, and gets typed answers or a [`ClientError`]
//! that keeps the server's SPEC §2 error envelope.

use std::time::Duration;

use octollm_types::error::ErrorEnvelope;
use octollm_types::orchestrator::{
    EraseAnswer, PurgeAnswer, PurgeRequest, TaskAccepted, TaskEvent, TaskList, TaskView,
};
use octollm_types::task::TaskContract;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a local orchestrator listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// How long connecting may take before the orchestrator counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The most of an unexpected error body kept in [`ClientError::Status`].
const BODY_SNIPPET: usize = 512;

/// Why a call to the orchestrator failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("invalid orchestrator URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Nothing answered: connection refused, no such host, connect timeout.
    #[error("cannot reach the orchestrator at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The connection was made but the exchange broke (timeout, reset, a
    /// body that stopped half way).
    #[error("request to the orchestrator at {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The orchestrator refused the request with its SPEC §2 error envelope.
    #[error("{}: {}", envelope.error.code, envelope.error.message)]
    Api {
        /// The HTTP status of the answer.
        status: u16,
        envelope: ErrorEnvelope,
    },
    /// An error status without an error envelope (a proxy, another server).
    #[error("the orchestrator answered HTTP {status} without an error envelope")]
    Status {
        status: u16,
        /// The start of the body, for diagnostics.
        body: String,
    },
    /// A success status whose body is not what the API documents.
    #[error("unexpected answer from the orchestrator: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The HTTP status the orchestrator answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The envelope's machine code (`INJECTION_DETECTED`, `NOT_FOUND`, …).
    pub fn code(&self) -> Option<&str> {
        self.envelope().map(|e| e.error.code.as_str())
    }

    /// The server's error envelope, when it sent one.
    pub fn envelope(&self) -> Option<&ErrorEnvelope> {
        match self {
            ClientError::Api { envelope, .. } => Some(envelope),
            _ => None,
        }
    }

    /// True when nothing answered at the base URL.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

/// `POST /api/v1/tasks/{id}/cancel` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CancelReply {
    pub task_id: String,
    /// `cancelled` (it had not started) or `cancelling` (a step is being stopped).
    pub status: String,
    pub message: String,
}

/// A client of one orchestrator. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct OrchestratorClient {
    base: Url,
    http: reqwest::Client,
    api_key: Option<String>,
    timeout: Option<Duration>,
}

impl OrchestratorClient {
    /// A client of the orchestrator at `base_url` (a path prefix is kept).
    /// Proxies are never used; connecting gives up after three seconds.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: base_url.to_string(),
            reason,
        };
        let base = Url::parse(base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("expected an http:// or https:// URL".into()));
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Unexpected(e.to_string()))?;
        Ok(OrchestratorClient {
            base,
            http,
            api_key: None,
            timeout: None,
        })
    }

    /// Sends `key` as a bearer token; an empty key sends none.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.api_key = (!key.is_empty()).then_some(key);
        self
    }

    /// Bounds every request except the event stream to `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The base URL as given, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `POST /api/v1/tasks`: screens and queues `contract`.
    pub async fn submit(&self, contract: &TaskContract) -> Result<TaskAccepted, ClientError> {
        let rb = self
            .request(Method::POST, &["api", "v1", "tasks"])
            .json(contract);
        self.call(rb).await
    }

    /// `GET /api/v1/tasks/{id}`: the task with its plan, steps and result.
    pub async fn get(&self, id: &str) -> Result<TaskView, ClientError> {
        self.call(self.request(Method::GET, &["api", "v1", "tasks", id]))
            .await
    }

    /// `GET /api/v1/tasks`: one page of tasks, newest first. `status` is
    /// passed through as given (the server validates it); pass a page's
    /// `next_cursor` as `cursor` for the next one.
    pub async fn list(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<TaskList, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(s) = status {
            query.push(("status", s.to_string()));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_string()));
        }
        let rb = self
            .request(Method::GET, &["api", "v1", "tasks"])
            .query(&query);
        self.call(rb).await
    }

    /// `POST /api/v1/tasks/{id}/cancel`.
    pub async fn cancel(&self, id: &str) -> Result<CancelReply, ClientError> {
        self.call(self.request(Method::POST, &["api", "v1", "tasks", id, "cancel"]))
            .await
    }

    /// `DELETE /api/v1/tasks/{id}`: erases a finished task and everything
    /// derived from it.
    pub async fn erase(&self, id: &str) -> Result<EraseAnswer, ClientError> {
        self.call(self.request(Method::DELETE, &["api", "v1", "tasks", id]))
            .await
    }

    /// `POST /api/v1/tasks/purge`: erases every task that ended more than
    /// `older_than_seconds` ago.
    pub async fn purge(&self, older_than_seconds: u64) -> Result<PurgeAnswer, ClientError> {
        let rb = self
            .request(Method::POST, &["api", "v1", "tasks", "purge"])
            .json(&PurgeRequest { older_than_seconds });
        self.call(rb).await
    }

    /// `POST /api/v1/tasks/{id}/steps/{step}/approve` (`approve`) or
    /// `…/reject`: decides on a step waiting for approval; the task after.
    pub async fn decide(
        &self,
        id: &str,
        step: u32,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<TaskView, ClientError> {
        let step = step.to_string();
        let verb = if approve { "approve" } else { "reject" };
        let rb = self
            .request(
                Method::POST,
                &["api", "v1", "tasks", id, "steps", &step, verb],
            )
            .json(&serde_json::json!({ "reason": reason }));
        self.call(rb).await
    }

    /// `GET /api/v1/tasks/{id}/artifacts/{name}`: the artifact's bytes.
    pub async fn artifact(&self, id: &str, name: &str) -> Result<Vec<u8>, ClientError> {
        let rb = self.request(Method::GET, &["api", "v1", "tasks", id, "artifacts", name]);
        let res = self.send(rb).await?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| self.transport(e))?;
        if is_error(status) {
            return Err(error_from(status, &body));
        }
        Ok(body.to_vec())
    }

    /// `GET /api/v1/tasks/{id}/events`: the task's events from the first,
    /// ending with the task.
    pub async fn events(&self, id: &str) -> Result<EventStream, ClientError> {
        let rb = self.request(Method::GET, &["api", "v1", "tasks", id, "events"]);
        let res = self.send(rb).await?;
        let status = res.status();
        if !status.is_success() {
            let body = res.bytes().await.map_err(|e| self.transport(e))?;
            return Err(if is_error(status) {
                error_from(status, &body)
            } else {
                ClientError::Unexpected(format!("event stream answered {status}"))
            });
        }
        Ok(EventStream {
            url: self.base_url().to_string(),
            res,
            buf: Vec::new(),
            done: false,
        })
    }

    /// `GET /health`: the service's health document.
    pub async fn health(&self) -> Result<Value, ClientError> {
        self.call(self.request(Method::GET, &["health"])).await
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        // `new` rejected URLs that cannot take a path.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let rb = self.http.request(method, url);
        match &self.api_key {
            Some(key) => rb.bearer_auth(key),
            None => rb,
        }
    }

    async fn send(&self, rb: RequestBuilder) -> Result<Response, ClientError> {
        rb.send().await.map_err(|e| {
            if e.is_connect() {
                ClientError::Unreachable {
                    url: self.base_url().to_string(),
                    source: e,
                }
            } else {
                self.transport(e)
            }
        })
    }

    async fn call<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T, ClientError> {
        let rb = match self.timeout {
            Some(t) => rb.timeout(t),
            None => rb,
        };
        let res = self.send(rb).await?;
        let status = res.status();
        let body = res.bytes().await.map_err(|e| self.transport(e))?;
        if is_error(status) {
            return Err(error_from(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Unexpected(e.to_string()))
    }

    fn transport(&self, source: reqwest::Error) -> ClientError {
        ClientError::Transport {
            url: self.base_url().to_string(),
            source,
        }
    }
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// The envelope of an error answer, or what little there is without one.
fn error_from(status: StatusCode, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(envelope) => ClientError::Api {
            status: status.as_u16(),
            envelope,
        },
        Err(_) => ClientError::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(body)
                .chars()
                .take(BODY_SNIPPET)
                .collect(),
        },
    }
}

/// The events of one task as they arrive; see [`OrchestratorClient::events`].
pub struct EventStream {
    url: String,
    res: Response,
    buf: Vec<u8>,
    done: bool,
}

impl EventStream {
    /// The next event; `Ok(None)` after the task's last event or when the
    /// server closes the stream. Keep-alives and unparsable blocks are
    /// skipped.
    ///
    /// Cancel-safe: dropping the future (say, in `tokio::select!`) loses no
    /// event, so it can be raced against a timer.
    pub async fn next(&mut self) -> Result<Option<TaskEvent>, ClientError> {
        loop {
            if self.done {
                return Ok(None);
            }
            while let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..pos + 2).collect();
                if let Some(ev) = parse_sse_block(&String::from_utf8_lossy(&block)) {
                    self.done = ev.is_terminal();
                    return Ok(Some(ev));
                }
            }
            let chunk = self
                .res
                .chunk()
                .await
                .map_err(|source| ClientError::Transport {
                    url: self.url.clone(),
                    source,
                })?;
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }
}

/// The `data:` of one SSE block as a task event; comments and keep-alives are `None`.
fn parse_sse_block(block: &str) -> Option<TaskEvent> {
    let data: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}

#[cfg(test)]
mod tests;
