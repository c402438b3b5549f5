//! The executor as one value.
//!
//! [`Executor`] holds everything an execution needs: the command policy, the
//! token secret, the sandbox, the HTTP fetcher, the audit log, the metrics
//! and the concurrency permits. It is built once by [`Executor::start`] and
//! shared behind an `Arc`. The HTTP service and in-process callers both go
//! through [`Executor::execute`], so they get the same answers; `octollm
//! exec` builds one with [`Executor::start_local`] and goes through
//! [`Executor::run_local_blocking`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use octollm_policy::table::{gated, Effect};
use octollm_policy::{CommandPolicy, HostList};
use octollm_sandbox::{ExecSpec, Sandbox, SandboxConfig, SandboxError};
use octollm_server::{MetricsRegistry, Uptime};
use octollm_types::exec::{ExecuteRequest, ExecuteResponse};
use octollm_types::token::{self, caps, Claims, TokenError};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::config::ExecutorConfig;
use crate::http_action::HttpFetcher;
use crate::metrics::{ExecMetrics, ReasonLabels};
use crate::provenance::now;
use crate::ExecutorError;
use octollm_server::AuditLog;

/// The answer to one [`ExecuteRequest`]: the status the HTTP service sends
/// and the body it sends with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteReply {
    pub status: StatusCode,
    pub body: ExecuteResponse,
}

impl ExecuteReply {
    /// A refusal in the seed's flat shape (SPEC §2's one exception to the
    /// error envelope): `success: false`, the sentence and its code.
    pub fn refusal(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        request_id: Option<String>,
    ) -> ExecuteReply {
        ExecuteReply {
            status,
            body: ExecuteResponse {
                success: false,
                error: Some(message.into()),
                error_code: Some(code.to_string()),
                request_id,
                ..Default::default()
            },
        }
    }
}

/// Whether the sandbox can run commands, and with every layer or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxState {
    /// Every layer is in force.
    Ready,
    /// Running without some optional layer (`allow_degraded`).
    Degraded,
    /// The sandbox could not be set up; nothing is executed.
    Unavailable,
}

impl SandboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxState::Ready => "ready",
            SandboxState::Degraded => "degraded",
            SandboxState::Unavailable => "unavailable",
        }
    }
}

/// What `/health` and `/ready` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub sandbox: SandboxState,
    /// Why the sandbox is unavailable, when it is.
    pub sandbox_error: Option<String>,
    /// Executions running now, when there is a sandbox.
    pub sandbox_slots_in_use: Option<usize>,
    /// Whether the `http` action could be set up.
    pub http_action_ready: bool,
}

impl Health {
    /// Anything short of a complete sandbox.
    pub fn degraded(&self) -> bool {
        self.sandbox != SandboxState::Ready
    }

    /// Commands can be executed (a degraded sandbox was allowed, so it counts).
    pub fn ready(&self) -> bool {
        self.sandbox != SandboxState::Unavailable
    }
}

/// A refusal before any reply exists: status, code and sentence.
pub(crate) type Refusal = (StatusCode, &'static str, String);

/// The executor: one per process, shared by the HTTP service and in-process
/// callers.
pub struct Executor {
    pub(crate) config: ExecutorConfig,
    pub(crate) policy: CommandPolicy,
    hosts: HostList,
    secret: Option<Vec<u8>>,
    pub(crate) sandbox: Result<Arc<Sandbox>, String>,
    pub(crate) fetcher: Result<HttpFetcher, String>,
    audit: AuditLog,
    pub(crate) metrics: ExecMetrics,
    metrics_registered: AtomicBool,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) workspaces: crate::workspace::Workspaces,
    uptime: Uptime,
}

/// Builds the sandbox and checks it end to end by running `true` in it, so
/// a host that cannot really sandbox is found at start-up, not per request.
fn start_sandbox(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
    let sandbox = Sandbox::new(config)?;
    let spec = ExecSpec {
        program: "true".into(),
        args: Vec::new(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(10),
        workspace: None,
    };
    let outcome = sandbox.run(&spec, &mut |_, _| {})?;
    if outcome.exit_code != Some(0) {
        return Err(SandboxError::Config(format!(
            "sandbox self-test exited with status {}",
            outcome.status_code()
        )));
    }
    Ok(sandbox)
}

impl Executor {
    /// Opens the audit log, sets up and self-tests the sandbox, and builds
    /// the HTTP fetcher.
    ///
    /// Only an audit log that cannot be opened is an error. A sandbox or a
    /// fetcher that cannot be set up is logged and remembered: the executor
    /// then fails closed, refusing those actions with 503 and saying so in
    /// [`health`](Executor::health).
    pub async fn start(config: ExecutorConfig) -> Result<Executor, ExecutorError> {
        let audit = AuditLog::open(&config.audit_path())?;
        let sandbox_config = config.sandbox_config();
        let sandbox = tokio::task::spawn_blocking(move || start_sandbox(sandbox_config))
            .await
            .map_err(|e| ExecutorError::Task("sandbox start-up", e.to_string()))?;
        let fetcher = HttpFetcher::new(&config).map_err(|e| {
            tracing::error!(error = %e, "http action unavailable");
            e
        });
        Ok(Executor::assemble(config, audit, sandbox, fetcher))
    }

    /// Sets up an executor for one local command (`octollm exec`): the same
    /// audit log, policy and sandbox layers as [`start`](Executor::start),
    /// without what only a long-running service needs. There is no
    /// self-test, since the command's own run exercises every layer and a
    /// layer that fails fails that run (closed); there is no HTTP fetcher
    /// (the `http` action is refused as unavailable). Blocking: it does the
    /// sandbox's set-up on the calling thread.
    pub fn start_local(config: ExecutorConfig) -> Result<Executor, ExecutorError> {
        let audit = AuditLog::open(&config.audit_path())?;
        let sandbox = Sandbox::new(config.sandbox_config());
        let fetcher = Err("the http action is not set up for a local run".to_string());
        Ok(Executor::assemble(config, audit, sandbox, fetcher))
    }

    fn assemble(
        config: ExecutorConfig,
        audit: AuditLog,
        sandbox: Result<Sandbox, SandboxError>,
        fetcher: Result<HttpFetcher, String>,
    ) -> Executor {
        let sandbox = sandbox.map(Arc::new).map_err(|e| {
            tracing::error!(error = %e, "sandbox unavailable; the executor refuses to execute (fail closed)");
            e.to_string()
        });
        let metrics = ExecMetrics::new();
        if let Ok(sb) = &sandbox {
            metrics
                .layers_active
                .set(sb.layers_available().len() as i64);
        }
        Executor {
            policy: CommandPolicy::new(&config.allowed_commands),
            hosts: HostList::new(&config.http_allowed_hosts),
            secret: config.resolved_token_secret(),
            permits: Arc::new(Semaphore::new(
                config.max_concurrency.clamp(1, 1024) as usize
            )),
            workspaces: crate::workspace::Workspaces::new(
                &config.data_dir,
                config.workspace_size_bytes,
            ),
            config,
            sandbox,
            fetcher,
            audit,
            metrics,
            metrics_registered: AtomicBool::new(false),
            uptime: Uptime::now(),
        }
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// The command policy every shell action is checked against.
    pub fn policy(&self) -> &CommandPolicy {
        &self.policy
    }

    /// The hosts the `http` action may fetch from.
    pub fn hosts(&self) -> &HostList {
        &self.hosts
    }

    /// Whether plain `http://` URLs may be fetched (otherwise HTTPS only).
    pub fn allow_plain_http(&self) -> bool {
        self.config.allow_http
    }

    /// Whether requests must carry a capability token.
    pub fn tokens_required(&self) -> bool {
        self.secret.is_some()
    }

    /// When the executor started.
    pub fn uptime(&self) -> Uptime {
        self.uptime
    }

    pub fn health(&self) -> Health {
        let (sandbox, sandbox_error, sandbox_slots_in_use) = match &self.sandbox {
            Ok(sb) if sb.layers_missing().is_empty() => {
                (SandboxState::Ready, None, Some(sb.slots_in_use()))
            }
            Ok(sb) => (SandboxState::Degraded, None, Some(sb.slots_in_use())),
            Err(e) => (SandboxState::Unavailable, Some(e.clone()), None),
        };
        Health {
            sandbox,
            sandbox_error,
            sandbox_slots_in_use,
            http_action_ready: self.fetcher.is_ok(),
        }
    }

    /// Adds the executor's metric families to `reg`. Only the first call
    /// registers; the families keep counting either way.
    pub fn register_metrics(&self, reg: &MetricsRegistry) {
        if !self.metrics_registered.swap(true, Ordering::SeqCst) {
            self.metrics.add_to(reg);
        }
    }

    /// The `/api/v1/capabilities` document: what may run, what it needs,
    /// which options are refused or gated, and the sandbox and limits.
    pub fn capabilities(&self) -> Value {
        let (available, layers, missing, error) = match &self.sandbox {
            Ok(sb) => (
                true,
                sb.layers_available().iter().map(|l| l.name()).collect(),
                sb.layers_missing().iter().map(|l| l.name()).collect(),
                None,
            ),
            Err(e) => (false, Vec::new(), Vec::new(), Some(e.clone())),
        };
        let needs: serde_json::Map<String, Value> = self
            .policy
            .allowed()
            .iter()
            .map(|c| {
                let cap = self
                    .policy
                    .check(c, &[])
                    .ok()
                    .and_then(|v| v.first().copied())
                    .unwrap_or(caps::SHELL_READ);
                (c.clone(), Value::from(cap))
            })
            .collect();
        let (mut forbidden, mut gated_options) = (Vec::new(), Vec::new());
        for (command, option, effect) in gated() {
            if !self.policy.is_allowed(command) {
                continue;
            }
            match effect {
                Effect::Deny(reason) => forbidden.push(
                    json!({"command": command, "option": option, "reason": reason}),
                ),
                Effect::Requires(cap, reason) => gated_options.push(
                    json!({"command": command, "option": option, "requires": cap, "reason": reason}),
                ),
                Effect::Allow => {}
            }
        }
        let cfg = &self.config;
        json!({
            "allowed_commands": self.policy.allowed(),
            "allowed_hosts": self.hosts.entries(),
            "forbidden_options": forbidden,
            "gated_options": gated_options,
            "http": {"https_only": !cfg.allow_http, "max_response_bytes": cfg.http_max_response_bytes,
                     "timeout_seconds": cfg.http_timeout_seconds, "max_redirects": cfg.http_max_redirects,
                     "private_hosts": cfg.http_private_hosts, "available": self.fetcher.is_ok()},
            "sandbox": {"available": available, "layers": layers, "missing": missing, "error": error,
                        "seccomp_denied": octollm_sandbox::SECCOMP_DENIED},
            "capabilities_required": needs,
            "tokens_required": self.secret.is_some(),
            "limits": {"default_timeout_seconds": cfg.default_timeout_seconds, "max_timeout_seconds": cfg.max_timeout_seconds,
                       "max_output_bytes": cfg.max_output_bytes, "memory_limit_bytes": cfg.memory_limit_bytes,
                       "pids_max": cfg.pids_max, "max_concurrency": cfg.max_concurrency},
        })
    }

    /// Runs one request: the token (when a secret is set), then the action's
    /// own checks, policy and capabilities, then the sandbox or the fetcher.
    /// Every decision is audited and counted.
    pub async fn execute(&self, req: ExecuteRequest, request_id: Option<String>) -> ExecuteReply {
        let claims = match self.verify_token(&req) {
            Ok(c) => c,
            Err((status, code, msg)) => {
                self.audit(json!({"ts": now(), "request_id": request_id, "action": req.action_type, "outcome": "token_rejected", "reason": code}));
                return ExecuteReply::refusal(status, code, msg, request_id);
            }
        };
        match req.action_type.as_str() {
            "shell" | "command" => self.shell(req, claims, request_id).await,
            "http" => self.http(req, claims, request_id).await,
            other => {
                let msg = format!("Unknown action_type '{other}'; expected 'shell' or 'http'");
                ExecuteReply::refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION_ERROR",
                    msg,
                    request_id,
                )
            }
        }
    }

    /// The reply to a body that could not be read as an [`ExecuteRequest`];
    /// counted as a `bad_request` denial.
    pub fn bad_request(
        &self,
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        request_id: Option<String>,
    ) -> ExecuteReply {
        self.deny("bad_request");
        ExecuteReply::refusal(status, code, message, request_id)
    }

    pub(crate) fn audit(&self, record: Value) {
        if let Err(e) = self.audit.append(&record) {
            self.metrics.audit_errors.inc();
            tracing::error!(error = %e, "audit log write failed");
        }
    }

    pub(crate) fn deny(&self, reason: &str) {
        self.metrics
            .denials
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    fn token_rejected(&self, reason: &str) {
        self.metrics
            .token_rejections
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// 401 for a missing, bad or expired token; `Ok(None)` when tokens are off.
    fn verify_token(&self, req: &ExecuteRequest) -> Result<Option<Claims>, Refusal> {
        self.verify_token_str(req.capability_token.as_deref())
    }

    /// [`verify_token`](Self::verify_token) for a token given on its own.
    pub(crate) fn verify_token_str(&self, token: Option<&str>) -> Result<Option<Claims>, Refusal> {
        let Some(secret) = &self.secret else {
            return Ok(None);
        };
        let reject = |code: &'static str, msg: &str| {
            self.token_rejected(&code.to_ascii_lowercase());
            (StatusCode::UNAUTHORIZED, code, msg.to_string())
        };
        let Some(tok) = token.filter(|t| !t.trim().is_empty()) else {
            return Err(reject("TOKEN_MISSING", "A capability token is required"));
        };
        match token::verify(secret, tok) {
            Ok(c) => Ok(Some(c)),
            Err(TokenError::Expired) => {
                Err(reject("TOKEN_EXPIRED", "The capability token has expired"))
            }
            Err(_) => Err(reject("TOKEN_INVALID", "The capability token is not valid")),
        }
    }

    /// Every capability in `needed` must be in the token (when tokens are on).
    pub(crate) fn require_caps(
        &self,
        claims: &Option<Claims>,
        needed: &[&str],
    ) -> Result<(), String> {
        let Some(claims) = claims else {
            return Ok(());
        };
        match needed.iter().find(|cap| !claims.allows(cap)) {
            None => Ok(()),
            Some(cap) => {
                self.token_rejected("capability_missing");
                Err(format!("The capability token does not grant '{cap}'"))
            }
        }
    }
}

#[cfg(test)]
mod tests;
