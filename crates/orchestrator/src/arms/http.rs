//! Arms reached over HTTP: `octollm serve …`, compose and Helm.
//!
//! One [`HttpArm`] implements every arm trait: the path decides what it
//! asks for, the body types come from `octollm-types`, and the status code
//! decides whether an answer is transient (retried), a refusal, or a result.
//! Every call carries the caller's trace context (`traceparent`).

use std::time::{Duration, Instant};

use octollm_policy::{CommandPolicy, ExecPolicy, HostList};
use octollm_server::resilience::parse_retry_after;
use octollm_server::trace;
use octollm_types::exec::{ExecuteRequest, ExecuteResponse, WorkspaceFiles};
use octollm_types::plan::{Plan, PlanRequest};
use octollm_types::reflex::{
    BatchRequest, BatchResponse, ProcessRequest, ProcessResponse, RestoreRequest, RestoreResponse,
};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Arm, ArmFuture, Attempt, ExecReply, Health, PlanArm, Refusal, ScreenArm, ToolArm, Transient,
    WorkspaceOp,
};

/// The client every HTTP arm shares: one connection pool, one API key.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    api_key: String,
}

impl Transport {
    pub fn new(api_key: &str) -> Result<Transport, reqwest::Error> {
        Ok(Transport {
            client: reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(3))
                .pool_max_idle_per_host(64)
                .build()?,
            api_key: api_key.to_string(),
        })
    }
}

/// One remote component at a base URL.
pub struct HttpArm {
    transport: Transport,
    url: String,
    /// The tool arm's reported policy and when it was fetched: every plan
    /// is checked against it, so it is asked for once a refresh, not per task.
    policy: parking_lot::Mutex<Option<(Instant, ExecPolicy)>>,
    /// A planner's `revises_plans`, cached the same way.
    revises: parking_lot::Mutex<Option<(Instant, bool)>>,
}

/// How long a tool arm's reported policy is reused.
const POLICY_REFRESH: Duration = Duration::from_secs(30);

/// A raw answer: status and body.
struct Raw {
    status: StatusCode,
    body: Value,
}

impl Raw {
    fn refusal(&self) -> Refusal {
        let text = |p: &str| {
            self.body
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Refusal {
            status: self.status.as_u16(),
            code: text("/error/code")
                .or_else(|| text("/error_code"))
                .unwrap_or_else(|| format!("HTTP_{}", self.status.as_u16())),
            message: text("/error/message")
                .or_else(|| text("/error"))
                .unwrap_or_else(|| format!("HTTP {}", self.status.as_u16())),
            details: self
                .body
                .pointer("/error/details")
                .cloned()
                .unwrap_or(Value::Null),
        }
    }

    /// Decodes a success body; anything else is a refusal.
    fn decode<T: DeserializeOwned>(self) -> Result<T, Refusal> {
        if !self.status.is_success() {
            return Err(self.refusal());
        }
        let status = self.status.as_u16();
        serde_json::from_value(self.body).map_err(|e| Refusal {
            status,
            code: "UNEXPECTED_ANSWER".into(),
            message: format!("the answer is not the expected shape: {e}"),
            details: Value::Null,
        })
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        e.to_string()
    }
}

fn transient_status(s: StatusCode) -> bool {
    matches!(
        s,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

impl HttpArm {
    /// POSTs `req` to `path` and reads a 2xx answer as `T`; the screening and
    /// planning calls are nothing more.
    fn call<'a, R, T>(
        &'a self,
        path: &'static str,
        req: &'a R,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<T>>
    where
        R: Serialize + Sync,
        T: DeserializeOwned + 'a,
    {
        Box::pin(async move { Ok(self.post(path, req, timeout).await?.decode()) })
    }

    pub fn new(transport: Transport, url: &str) -> HttpArm {
        HttpArm {
            transport,
            url: url.trim_end_matches('/').to_string(),
            policy: parking_lot::Mutex::new(None),
            revises: parking_lot::Mutex::new(None),
        }
    }

    async fn post(
        &self,
        path: &str,
        body: &(impl Serialize + ?Sized),
        timeout: Duration,
    ) -> Result<Raw, Transient> {
        let req = self
            .transport
            .client
            .post(format!("{}{path}", self.url))
            .json(body);
        self.send(req, timeout).await
    }

    /// Sends `req` with the arm's API key; a status worth retrying is a
    /// [`Transient`], any other answer comes back as it is.
    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Raw, Transient> {
        let mut req = req.timeout(timeout).headers(trace::headers());
        if !self.transport.api_key.is_empty() {
            req = req.bearer_auth(&self.transport.api_key);
        }
        let res = req.send().await.map_err(|e| Transient::new(describe(&e)))?;
        let status = res.status();
        let retry_after = parse_retry_after(res.headers());
        let bytes = res
            .bytes()
            .await
            .map_err(|e| Transient::new(describe(&e)))?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let raw = Raw { status, body };
        if transient_status(status) {
            return Err(Transient {
                message: format!("HTTP {}: {}", status.as_u16(), raw.refusal().message),
                retry_after,
            });
        }
        Ok(raw)
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Option<T> {
        let mut req = self
            .transport
            .client
            .get(format!("{}{path}", self.url))
            .timeout(timeout)
            .headers(trace::headers());
        if !self.transport.api_key.is_empty() {
            req = req.bearer_auth(&self.transport.api_key);
        }
        let res = req.send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json().await.ok()
    }
}

impl Arm for HttpArm {
    fn location(&self) -> String {
        self.url.clone()
    }

    /// `GET /health` with a short timeout.
    fn health(&self) -> ArmFuture<'_, Health> {
        Box::pin(async move {
            let started = Instant::now();
            let res = self
                .transport
                .client
                .get(format!("{}/health", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match res {
                Ok(r) if r.status().is_success() => {
                    let status = r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string))
                        .unwrap_or_else(|| "healthy".to_string());
                    Health {
                        status,
                        latency_ms: Some(ms),
                    }
                }
                Ok(_) => Health {
                    status: "degraded".into(),
                    latency_ms: Some(ms),
                },
                Err(_) => Health {
                    status: "unreachable".into(),
                    latency_ms: None,
                },
            }
        })
    }
}

impl ScreenArm for HttpArm {
    fn screen<'a>(
        &'a self,
        req: &'a ProcessRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ProcessResponse>> {
        self.call("/api/v1/reflex/process", req, timeout)
    }

    fn screen_batch<'a>(
        &'a self,
        req: &'a BatchRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<BatchResponse>> {
        self.call("/api/v1/reflex/batch", req, timeout)
    }

    fn restore<'a>(
        &'a self,
        req: &'a RestoreRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<RestoreResponse>> {
        self.call("/api/v1/reflex/restore", req, timeout)
    }
}

impl PlanArm for HttpArm {
    fn plan<'a>(&'a self, req: &'a PlanRequest, timeout: Duration) -> ArmFuture<'a, Attempt<Plan>> {
        self.call("/api/v1/plan", req, timeout)
    }

    fn revises_plans(&self) -> ArmFuture<'_, bool> {
        Box::pin(async move {
            if let Some((at, r)) = *self.revises.lock() {
                if at.elapsed() < POLICY_REFRESH {
                    return r;
                }
            }
            #[derive(Deserialize)]
            struct Caps {
                #[serde(default = "yes")]
                revises_plans: bool,
            }
            fn yes() -> bool {
                true
            }
            match self
                .get_json::<Caps>("/api/v1/capabilities", Duration::from_secs(3))
                .await
            {
                Some(c) => {
                    *self.revises.lock() = Some((Instant::now(), c.revises_plans));
                    c.revises_plans
                }
                None => true,
            }
        })
    }
}

/// What `GET /api/v1/capabilities` of an executor reports.
#[derive(Deserialize)]
struct Capabilities {
    allowed_commands: Vec<String>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    http: HttpCaps,
}

#[derive(Deserialize)]
struct HttpCaps {
    https_only: bool,
}

impl Default for HttpCaps {
    fn default() -> Self {
        HttpCaps { https_only: true }
    }
}

impl ToolArm for HttpArm {
    fn execute<'a>(
        &'a self,
        req: &'a ExecuteRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ExecReply>> {
        Box::pin(async move {
            let raw = self.post("/api/v1/execute", req, timeout).await?;
            let status = raw.status.as_u16();
            // The executor answers its refusals in the seed's shape; the
            // shared layers (auth, body limits) answer with the envelope.
            let body = match serde_json::from_value::<ExecuteResponse>(raw.body.clone()) {
                Ok(b) => b,
                Err(_) => {
                    let r = raw.refusal();
                    ExecuteResponse {
                        success: false,
                        error: Some(r.message),
                        error_code: Some(r.code),
                        ..Default::default()
                    }
                }
            };
            Ok(Ok(ExecReply { status, body }))
        })
    }

    fn policy(&self) -> ArmFuture<'_, Option<ExecPolicy>> {
        Box::pin(async move {
            if let Some((at, p)) = self.policy.lock().as_ref() {
                if at.elapsed() < POLICY_REFRESH {
                    return Some(p.clone());
                }
            }
            let fetched = self
                .get_json::<Capabilities>("/api/v1/capabilities", Duration::from_secs(3))
                .await
                .map(|caps| ExecPolicy {
                    commands: CommandPolicy::new(caps.allowed_commands),
                    hosts: HostList::new(caps.allowed_hosts),
                    allow_plain_http: !caps.http.https_only,
                });
            match fetched {
                Some(p) => {
                    *self.policy.lock() = Some((Instant::now(), p.clone()));
                    Some(p)
                }
                // Unreachable now: the last policy it reported, if any.
                None => self.policy.lock().as_ref().map(|(_, p)| p.clone()),
            }
        })
    }

    fn workspace<'a>(
        &'a self,
        id: &'a str,
        token: Option<&'a str>,
        op: WorkspaceOp<'a>,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<WorkspaceFiles>> {
        Box::pin(async move {
            let base = format!("{}/api/v1/workspaces/{id}", self.url);
            let client = &self.transport.client;
            let mut req = match op {
                WorkspaceOp::Inputs(inputs) => client.post(format!("{base}/inputs")).json(inputs),
                WorkspaceOp::Artifacts => client.get(format!("{base}/artifacts")),
                WorkspaceOp::Remove => client.delete(base),
            };
            if let Some(t) = token {
                req = req.header(octollm_types::token::HEADER, t);
            }
            let raw = self.send(req, timeout).await?;
            if !raw.status.is_success() {
                return Ok(Err(raw.refusal()));
            }
            if matches!(op, WorkspaceOp::Remove) {
                return Ok(Ok(WorkspaceFiles::default()));
            }
            Ok(
                serde_json::from_value(raw.body.clone()).map_err(|e| Refusal {
                    status: raw.status.as_u16(),
                    code: "BAD_ANSWER".into(),
                    message: format!("the executor's workspace answer did not parse: {e}"),
                    details: Value::Null,
                }),
            )
        })
    }
}
