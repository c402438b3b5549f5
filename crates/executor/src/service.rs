//! The HTTP service: thin handlers over policy, tokens, sandbox and fetcher.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use octollm_sandbox::{ExecOutcome, ExecSpec, Sandbox, SandboxError};
use octollm_server::{ApiError, RequestId, ServiceOptions, Uptime};
use octollm_types::exec::{
    ExecuteRequest, ExecuteResponse, Provenance, ResourceUsage, SandboxInfo,
};
use octollm_types::token::{self, caps, TokenError};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::audit::AuditLog;
use crate::config::ExecutorConfig;
use crate::http_action::HttpFetcher;
use crate::metrics::{ExecMetrics, ReasonLabels};
use crate::policy::Policy;
use crate::provenance::command_hash;
use crate::ExecutorError;

pub(crate) struct AppState {
    config: ExecutorConfig,
    policy: Policy,
    secret: Option<Vec<u8>>,
    sandbox: Result<Arc<Sandbox>, String>,
    fetcher: Result<HttpFetcher, String>,
    audit: AuditLog,
    metrics: ExecMetrics,
    permits: Arc<Semaphore>,
    uptime: Uptime,
}

type Shared = Arc<AppState>;

/// Builds the sandbox and checks it end to end by running `true` in it, so
/// a host that cannot really sandbox is found at start-up, not per request.
pub(crate) fn start_sandbox(config: &ExecutorConfig) -> Result<Sandbox, SandboxError> {
    let sandbox = Sandbox::new(config.sandbox_config())?;
    let spec = ExecSpec {
        program: "true".into(),
        args: Vec::new(),
        stdin: Vec::new(),
        timeout: Duration::from_secs(10),
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

/// Builds the executor's router, passed through `octollm_server::finish`.
pub async fn app(config: ExecutorConfig, opts: ServiceOptions) -> Result<Router, ExecutorError> {
    let audit = AuditLog::open(&config.audit_path())?;
    let cfg = config.clone();
    let sandbox = tokio::task::spawn_blocking(move || start_sandbox(&cfg))
        .await
        .map_err(|e| ExecutorError::Config(format!("sandbox start-up task failed: {e}")))?
        .map(Arc::new)
        .map_err(|e| {
            tracing::error!(error = %e, "sandbox unavailable; the executor refuses to execute (fail closed)");
            e.to_string()
        });
    let fetcher = HttpFetcher::new(&config).map_err(|e| {
        tracing::error!(error = %e, "http action unavailable");
        e
    });
    let metrics = ExecMetrics::register(&opts.metrics);
    if let Ok(sb) = &sandbox {
        metrics
            .layers_active
            .set(sb.layers_available().len() as i64);
    }
    let state = Arc::new(AppState {
        policy: Policy::new(&config.allowed_commands),
        secret: config.resolved_token_secret(),
        permits: Arc::new(Semaphore::new(
            config.max_concurrency.clamp(1, 1024) as usize
        )),
        config,
        sandbox,
        fetcher,
        audit,
        metrics,
        uptime: Uptime::now(),
    });
    let router = Router::new()
        .route("/api/v1/execute", post(execute))
        .route("/execute", post(execute))
        .route("/api/v1/capabilities", get(capabilities))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state);
    Ok(octollm_server::finish(router, opts))
}

/// The seed-shaped refusal (SPEC §2's one exception to the envelope).
fn refusal(
    status: StatusCode,
    code: &str,
    message: impl Into<String>,
    rid: &Option<String>,
) -> Response {
    let body = ExecuteResponse {
        success: false,
        error: Some(message.into()),
        error_code: Some(code.to_string()),
        request_id: rid.clone(),
        ..Default::default()
    };
    (status, Json(body)).into_response()
}

fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<ExecuteRequest, ApiError> {
    let bytes = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "Request body exceeds the configured size limit",
            )
        } else {
            ApiError::bad_request("BAD_BODY", format!("Could not read request body: {rej}"))
        }
    })?;
    octollm_server::json::parse(&bytes)
}

impl AppState {
    fn audit(&self, record: Value) {
        if let Err(e) = self.audit.append(&record) {
            self.metrics.audit_errors.inc();
            tracing::error!(error = %e, "audit log write failed");
        }
    }

    fn deny(&self, reason: &str) {
        self.metrics
            .denials
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// 401 for a missing/bad/expired token; `Ok(None)` when tokens are off.
    fn verify_token(
        &self,
        req: &ExecuteRequest,
    ) -> Result<Option<token::Claims>, (StatusCode, &'static str, String)> {
        let Some(secret) = &self.secret else {
            return Ok(None);
        };
        let reject = |code: &'static str, msg: &str| {
            self.metrics
                .token_rejections
                .get_or_create(&ReasonLabels {
                    reason: code.to_ascii_lowercase(),
                })
                .inc();
            (StatusCode::UNAUTHORIZED, code, msg.to_string())
        };
        let Some(tok) = req
            .capability_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        else {
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

    fn require_caps(&self, claims: &Option<token::Claims>, needed: &[&str]) -> Result<(), String> {
        let Some(claims) = claims else {
            return Ok(());
        };
        for cap in needed {
            if !claims.allows(cap) {
                self.metrics
                    .token_rejections
                    .get_or_create(&ReasonLabels {
                        reason: "capability_missing".into(),
                    })
                    .inc();
                return Err(format!("The capability token does not grant '{cap}'"));
            }
        }
        Ok(())
    }
}

async fn execute(
    State(st): State<Shared>,
    rid: Option<Extension<RequestId>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let rid = rid.map(|Extension(r)| r.0);
    let req = match parse_body(body) {
        Ok(r) => r,
        Err(e) => {
            st.deny("bad_request");
            return refusal(e.status, &e.code, e.message, &rid);
        }
    };
    let claims = match st.verify_token(&req) {
        Ok(c) => c,
        Err((status, code, msg)) => {
            st.audit(json!({"ts": now(), "request_id": rid, "action": req.action_type, "outcome": "token_rejected", "reason": code}));
            return refusal(status, code, msg, &rid);
        }
    };
    match req.action_type.as_str() {
        "shell" | "command" => shell(st, req, claims, rid).await,
        "http" => http(st, req, claims, rid).await,
        other => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            format!("Unknown action_type '{other}'; expected 'shell' or 'http'"),
            &rid,
        ),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn provenance(
    hash: String,
    started: &str,
    duration: Duration,
    exit: Option<i32>,
    caps_used: &[&str],
    sandbox: SandboxInfo,
    usage: ResourceUsage,
) -> Provenance {
    Provenance {
        command_hash: hash,
        timestamp: started.to_string(),
        executor_version: octollm_types::VERSION.to_string(),
        execution_duration_ms: duration.as_millis() as u64,
        exit_code: exit,
        capabilities_used: caps_used.iter().map(|c| c.to_string()).collect(),
        sandbox,
        resource_usage: usage,
    }
}

async fn shell(
    st: Shared,
    req: ExecuteRequest,
    claims: Option<token::Claims>,
    rid: Option<String>,
) -> Response {
    let cfg = &st.config;
    if req.command.trim().is_empty() {
        return refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            "command is required for a shell action",
            &rid,
        );
    }
    let arg_bytes: usize = req.args.iter().map(|a| a.len() + 1).sum();
    if req.args.len() as u64 > cfg.max_args || arg_bytes as u64 > cfg.max_arg_bytes {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_MANY_ARGUMENTS",
            format!(
                "At most {} arguments and {} bytes of arguments are accepted",
                cfg.max_args, cfg.max_arg_bytes
            ),
            &rid,
        );
    }
    let stdin = req.stdin.clone().unwrap_or_default().into_bytes();
    if stdin.len() as u64 > cfg.max_stdin_bytes {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "STDIN_TOO_LARGE",
            format!("stdin is limited to {} bytes", cfg.max_stdin_bytes),
            &rid,
        );
    }
    if req.command.contains('\0') || req.args.iter().any(|a| a.contains('\0')) {
        return refusal(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "command and arguments must not contain NUL bytes",
            &rid,
        );
    }
    let timeout = match cfg.timeout_for(req.timeout_seconds) {
        Ok(t) => t,
        Err(msg) => {
            return refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_ERROR",
                msg,
                &rid,
            )
        }
    };
    let hash = command_hash(&req.command, &req.args);
    let needed = match st.policy.check(&req.command, &req.args) {
        Ok(n) => n,
        Err(denial) => {
            st.deny(&denial.code().to_ascii_lowercase());
            st.audit(json!({"ts": now(), "request_id": rid, "action": "shell", "command": req.command, "args": req.args, "command_hash": hash, "outcome": "denied", "reason": denial.code()}));
            return refusal(StatusCode::FORBIDDEN, denial.code(), denial.message(), &rid);
        }
    };
    if let Err(msg) = st.require_caps(&claims, &needed) {
        st.audit(json!({"ts": now(), "request_id": rid, "action": "shell", "command": req.command, "command_hash": hash, "outcome": "capability_missing"}));
        return refusal(StatusCode::FORBIDDEN, "CAPABILITY_MISSING", msg, &rid);
    }
    let sandbox = match &st.sandbox {
        Ok(sb) => sb.clone(),
        Err(e) => {
            st.metrics.sandbox_errors.inc();
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "SANDBOX_UNAVAILABLE",
                format!("The sandbox is unavailable on this host, so nothing is executed: {e}"),
                &rid,
            );
        }
    };
    let Ok(permit) = st.permits.clone().acquire_owned().await else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "SHUTTING_DOWN",
            "The executor is shutting down",
            &rid,
        );
    };
    let started_at = now();
    let started = Instant::now();
    st.metrics.slots_in_use.inc();
    let spec = ExecSpec {
        program: req.command.clone(),
        args: req.args.clone(),
        stdin,
        timeout,
    };
    let result = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        sandbox.run(&spec, &mut |_, _| {})
    })
    .await;
    st.metrics.slots_in_use.dec();
    st.metrics
        .duration
        .get_or_create(&crate::metrics::ActionLabels {
            action: "shell".into(),
        })
        .observe(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return sandbox_failure(&st, e, &hash, &rid),
        Err(e) => {
            st.metrics.sandbox_errors.inc();
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                format!("execution task failed: {e}"),
                &rid,
            );
        }
    };
    shell_answer(&st, &req, outcome, hash, &started_at, &needed, timeout, rid)
}

fn sandbox_failure(st: &AppState, e: SandboxError, hash: &str, rid: &Option<String>) -> Response {
    let (status, code) = match &e {
        SandboxError::NotFound(_) => (StatusCode::UNPROCESSABLE_ENTITY, "COMMAND_NOT_FOUND"),
        SandboxError::InvalidArgument => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
        _ => {
            st.metrics.sandbox_errors.inc();
            (StatusCode::INTERNAL_SERVER_ERROR, "SANDBOX_ERROR")
        }
    };
    tracing::warn!(error = %e, "execution failed before the command ran");
    st.audit(json!({"ts": now(), "request_id": rid, "action": "shell", "command_hash": hash, "outcome": "sandbox_error", "error": e.to_string()}));
    st.metrics.count("shell", "error");
    refusal(status, code, e.to_string(), rid)
}

#[allow(clippy::too_many_arguments)]
fn shell_answer(
    st: &AppState,
    req: &ExecuteRequest,
    o: ExecOutcome,
    hash: String,
    started_at: &str,
    needed: &[&str],
    timeout: Duration,
    rid: Option<String>,
) -> Response {
    let exit = o.exit_code;
    let prov = provenance(
        hash,
        started_at,
        o.duration,
        exit,
        needed,
        SandboxInfo {
            layers: o.layers.iter().map(|l| l.name().to_string()).collect(),
            missing: o.missing.iter().map(|l| l.name().to_string()).collect(),
        },
        ResourceUsage {
            cpu_time_ms: o.cpu_time.as_millis() as u64,
            max_memory_bytes: o.peak_rss_bytes,
        },
    );
    let truncated = o.stdout_truncated || o.stderr_truncated;
    if truncated {
        st.metrics.truncated.inc();
    }
    st.metrics.cpu_seconds.inc_by(o.cpu_time.as_secs_f64());
    let (status, success, error, code, outcome) = if o.timed_out {
        st.metrics.timeouts.inc();
        (
            StatusCode::REQUEST_TIMEOUT,
            false,
            Some(format!(
                "Command timed out after {:.1} s; the whole process tree was killed",
                timeout.as_secs_f64()
            )),
            Some("TIMEOUT"),
            "timeout",
        )
    } else if o.oom_killed && exit != Some(0) {
        st.metrics.oom_kills.inc();
        (
            StatusCode::OK,
            false,
            Some("Command was killed for exceeding its memory limit".to_string()),
            Some("MEMORY_LIMIT"),
            "oom",
        )
    } else if exit == Some(0) {
        (StatusCode::OK, true, None, None, "success")
    } else {
        let how = match (exit, o.signal) {
            (Some(c), _) => format!("exited with status {c}"),
            (None, Some(s)) => format!("was killed by signal {s}"),
            _ => "ended abnormally".to_string(),
        };
        (
            StatusCode::OK,
            false,
            Some(format!("Command {how}")),
            Some("NON_ZERO_EXIT"),
            "failure",
        )
    };
    st.metrics.count("shell", outcome);
    st.audit(json!({
        "ts": now(), "request_id": rid, "action": "shell", "command": req.command, "args": req.args,
        "outcome": outcome, "exit_code": exit, "signal": o.signal, "timed_out": o.timed_out,
        "truncated": truncated, "provenance": prov,
    }));
    let body = ExecuteResponse {
        success,
        output: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        exit_code: exit.or(o.signal.map(|s| 128 + s)),
        error,
        error_code: code.map(str::to_string),
        truncated,
        timed_out: o.timed_out,
        provenance: Some(prov),
        http_status: None,
        signal: o.signal,
        request_id: rid,
    };
    (status, Json(body)).into_response()
}

async fn http(
    st: Shared,
    req: ExecuteRequest,
    claims: Option<token::Claims>,
    rid: Option<String>,
) -> Response {
    let url = req.url.clone().unwrap_or_default();
    if url.is_empty() {
        return refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_ERROR",
            "url is required for an http action",
            &rid,
        );
    }
    let method = req.method.clone().unwrap_or_else(|| "GET".into());
    let hash = command_hash(&method.to_ascii_uppercase(), std::slice::from_ref(&url));
    if let Err(msg) = st.require_caps(&claims, &[caps::HTTP_GET]) {
        return refusal(StatusCode::FORBIDDEN, "CAPABILITY_MISSING", msg, &rid);
    }
    let fetcher = match &st.fetcher {
        Ok(f) => f,
        Err(e) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "HTTP_UNAVAILABLE",
                format!("The http action is unavailable: {e}"),
                &rid,
            )
        }
    };
    let started_at = now();
    let started = Instant::now();
    let result = fetcher.fetch(&method, &url).await;
    let elapsed = started.elapsed();
    st.metrics
        .duration
        .get_or_create(&crate::metrics::ActionLabels {
            action: "http".into(),
        })
        .observe(elapsed.as_secs_f64());
    let layers = [
        "host_allowlist",
        "ssrf_guard",
        "redirect_recheck",
        "size_cap",
        "timeout",
    ]
    .map(String::from)
    .to_vec();
    match result {
        Ok(r) => {
            st.metrics.http_bytes.inc_by(r.body.len() as u64);
            let ok = (200..300).contains(&r.status);
            st.metrics
                .count("http", if ok { "success" } else { "failure" });
            let prov = provenance(
                hash,
                &started_at,
                elapsed,
                None,
                &[caps::HTTP_GET],
                SandboxInfo {
                    layers,
                    missing: Vec::new(),
                },
                ResourceUsage::default(),
            );
            st.audit(json!({"ts": now(), "request_id": rid, "action": "http", "method": method, "url": url, "final_url": r.final_url, "status": r.status, "outcome": if ok {"success"} else {"failure"}, "truncated": r.truncated, "provenance": prov}));
            let body = ExecuteResponse {
                success: ok,
                output: String::from_utf8_lossy(&r.body).into_owned(),
                error: (!ok).then(|| format!("Remote server answered HTTP {}", r.status)),
                error_code: (!ok).then(|| "HTTP_STATUS".to_string()),
                truncated: r.truncated,
                provenance: Some(prov),
                http_status: Some(r.status),
                request_id: rid,
                ..Default::default()
            };
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(denial) => {
            if denial.status() == StatusCode::FORBIDDEN {
                st.deny(&denial.code().to_ascii_lowercase());
            }
            st.metrics.count("http", "refused");
            st.audit(json!({"ts": now(), "request_id": rid, "action": "http", "method": method, "url": url, "command_hash": hash, "outcome": "refused", "reason": denial.code(), "error": denial.to_string()}));
            refusal(denial.status(), denial.code(), denial.to_string(), &rid)
        }
    }
}

async fn capabilities(State(st): State<Shared>) -> Json<Value> {
    let (available, layers, missing, error) = match &st.sandbox {
        Ok(sb) => (
            true,
            sb.layers_available()
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>(),
            sb.layers_missing()
                .iter()
                .map(|l| l.name())
                .collect::<Vec<_>>(),
            None,
        ),
        Err(e) => (false, Vec::new(), Vec::new(), Some(e.clone())),
    };
    let needs: serde_json::Map<String, Value> = st
        .policy
        .allowed()
        .iter()
        .map(|c| {
            let cap = st
                .policy
                .check(c, &[])
                .ok()
                .and_then(|v| v.first().copied())
                .unwrap_or(caps::SHELL_READ);
            (c.clone(), Value::from(cap))
        })
        .collect();
    let cfg = &st.config;
    Json(json!({
        "allowed_commands": st.policy.allowed(),
        "allowed_hosts": cfg.http_allowed_hosts,
        "http": {"https_only": !cfg.allow_http, "max_response_bytes": cfg.http_max_response_bytes,
                 "timeout_seconds": cfg.http_timeout_seconds, "max_redirects": cfg.http_max_redirects,
                 "private_hosts": cfg.http_private_hosts, "available": st.fetcher.is_ok()},
        "sandbox": {"available": available, "layers": layers, "missing": missing, "error": error,
                    "seccomp_denied": octollm_sandbox::SECCOMP_DENIED},
        "capabilities_required": needs,
        "tokens_required": st.secret.is_some(),
        "limits": {"default_timeout_seconds": cfg.default_timeout_seconds, "max_timeout_seconds": cfg.max_timeout_seconds,
                   "max_output_bytes": cfg.max_output_bytes, "memory_limit_bytes": cfg.memory_limit_bytes,
                   "pids_max": cfg.pids_max, "max_concurrency": cfg.max_concurrency},
    }))
}

async fn health(State(st): State<Shared>) -> Json<Value> {
    let mut extra = serde_json::Map::new();
    let (state, degraded) = match &st.sandbox {
        Ok(sb) if sb.layers_missing().is_empty() => ("ready", false),
        Ok(_) => ("degraded", true),
        Err(_) => ("unavailable", true),
    };
    extra.insert("sandbox".into(), Value::from(state));
    if let Ok(sb) = &st.sandbox {
        extra.insert(
            "sandbox_slots_in_use".into(),
            Value::from(sb.slots_in_use()),
        );
    }
    extra.insert(
        "http_action".into(),
        Value::from(if st.fetcher.is_ok() {
            "ready"
        } else {
            "unavailable"
        }),
    );
    extra.insert("audit_log".into(), Value::from("open"));
    Json(st.uptime.health_body("executor", degraded, extra))
}

async fn ready(State(st): State<Shared>) -> Result<Json<Value>, ApiError> {
    match &st.sandbox {
        Ok(_) => Ok(Json(json!({"status": "ready"}))),
        Err(e) => Err(ApiError::unavailable(
            "SANDBOX_UNAVAILABLE",
            format!("The sandbox is unavailable: {e}"),
        )),
    }
}
