//! `action_type: "shell"`: one allowlisted command, exec'd directly (never
//! through a shell) in the sandbox.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use octollm_sandbox::{ExecOutcome, ExecSpec, Layer, SandboxError};
use octollm_server::trace::{self, TARGET};
use octollm_types::exec::{ExecuteRequest, ExecuteResponse, ResourceUsage, SandboxInfo};
use octollm_types::token::Claims;
use serde_json::json;
use tracing::field::Empty;
use tracing::Instrument;

use crate::executor::{ExecuteReply, Executor, Refusal};
use crate::metrics::ActionLabels;
use crate::provenance::{command_hash, now, Record};

/// Records how a sandbox run went on its span: the layers in force and
/// missing, as a list and each as a `sandbox.layer.<name>` flag, and the
/// exit.
fn traced_run(
    span: &tracing::Span,
    result: &Result<Result<ExecOutcome, SandboxError>, tokio::task::JoinError>,
) {
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            span.record("error.type", sandbox_error_kind(e));
            span.record("otel.status_code", "error");
            return;
        }
        Err(_) => {
            span.record("error.type", "task_failed");
            span.record("otel.status_code", "error");
            return;
        }
    };
    let names = |ls: &[Layer]| ls.iter().map(|l| l.name()).collect::<Vec<_>>().join(",");
    span.record("sandbox.layers", names(&outcome.layers));
    span.record("sandbox.missing", names(&outcome.missing));
    for (layers, on) in [(&outcome.layers, true), (&outcome.missing, false)] {
        for l in layers {
            trace::set_attribute(span, format!("sandbox.layer.{}", l.name()), on);
        }
    }
    span.record("process.exit.code", outcome.status_code());
    span.record("sandbox.timed_out", outcome.timed_out);
    span.record("sandbox.oom_killed", outcome.oom_killed);
}

fn sandbox_error_kind(e: &SandboxError) -> &'static str {
    match e {
        SandboxError::Unavailable(_) => "unavailable",
        SandboxError::Config(_) => "config",
        SandboxError::NotFound(_) => "command_not_found",
        SandboxError::InvalidArgument => "invalid_argument",
        SandboxError::Setup { .. } => "setup",
        SandboxError::Exec(_) => "exec",
        SandboxError::Io(_) => "io",
    }
}

/// A command line that passed every check and is about to run.
struct Admitted {
    req: ExecuteRequest,
    hash: String,
    needed: Vec<&'static str>,
    timeout: Duration,
    rid: Option<String>,
}

impl Executor {
    /// Size, NUL and timeout checks; on success the timeout and the stdin.
    fn validate_shell(&self, req: &ExecuteRequest) -> Result<(Duration, Vec<u8>), Refusal> {
        let cfg = &self.config;
        if req.command.trim().is_empty() {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_ERROR",
                "command is required for a shell action".into(),
            ));
        }
        let arg_bytes: usize = req.args.iter().map(|a| a.len() + 1).sum();
        if req.args.len() as u64 > cfg.max_args || arg_bytes as u64 > cfg.max_arg_bytes {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                "TOO_MANY_ARGUMENTS",
                format!(
                    "At most {} arguments and {} bytes of arguments are accepted",
                    cfg.max_args, cfg.max_arg_bytes
                ),
            ));
        }
        let stdin = req.stdin.clone().unwrap_or_default().into_bytes();
        if stdin.len() as u64 > cfg.max_stdin_bytes {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                "STDIN_TOO_LARGE",
                format!("stdin is limited to {} bytes", cfg.max_stdin_bytes),
            ));
        }
        if req.command.contains('\0') || req.args.iter().any(|a| a.contains('\0')) {
            return Err((
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "command and arguments must not contain NUL bytes".into(),
            ));
        }
        let timeout = cfg
            .timeout_for(req.timeout_seconds)
            .map_err(|msg| (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", msg))?;
        Ok((timeout, stdin))
    }

    pub(crate) async fn shell(
        &self,
        req: ExecuteRequest,
        claims: Option<Claims>,
        rid: Option<String>,
    ) -> ExecuteReply {
        let (timeout, stdin) = match self.validate_shell(&req) {
            Ok(v) => v,
            Err((status, code, msg)) => return ExecuteReply::refusal(status, code, msg, rid),
        };
        let hash = command_hash(&req.command, &req.args);
        let needed = match self.policy.check(&req.command, &req.args) {
            Ok(n) => n,
            Err(denial) => {
                self.deny(&denial.code().to_ascii_lowercase());
                self.audit(json!({"ts": now(), "request_id": rid, "action": "shell", "command": req.command, "args": req.args, "command_hash": hash, "outcome": "denied", "reason": denial.code()}));
                return ExecuteReply::refusal(
                    StatusCode::FORBIDDEN,
                    denial.code(),
                    denial.to_string(),
                    rid,
                );
            }
        };
        if let Err(msg) = self.require_caps(&claims, &needed) {
            self.audit(json!({"ts": now(), "request_id": rid, "action": "shell", "command": req.command, "command_hash": hash, "outcome": "capability_missing"}));
            return ExecuteReply::refusal(StatusCode::FORBIDDEN, "CAPABILITY_MISSING", msg, rid);
        }
        let sandbox = match &self.sandbox {
            Ok(sb) => sb.clone(),
            Err(e) => {
                self.metrics.sandbox_errors.inc();
                return ExecuteReply::refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SANDBOX_UNAVAILABLE",
                    format!("The sandbox is unavailable on this host, so nothing is executed: {e}"),
                    rid,
                );
            }
        };
        // A step of a task runs in the task's workspace, one step at a time.
        let workspace = match &req.workspace {
            None => None,
            Some(id) => match self.enter_workspace(&claims, id).await {
                Ok(w) => Some(w),
                Err(e) => return ExecuteReply::refusal(e.status, &e.code, e.message, rid),
            },
        };
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return ExecuteReply::refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "SHUTTING_DOWN",
                "The executor is shutting down",
                rid,
            );
        };
        let started_at = now();
        let started = Instant::now();
        self.metrics.slots_in_use.inc();
        let (turn, mount) = workspace.unzip();
        let spec = ExecSpec {
            program: req.command.clone(),
            args: req.args.clone(),
            stdin,
            timeout,
            workspace: mount,
        };
        let span = tracing::info_span!(target: TARGET, "sandbox.run",
            process.executable.name = %req.command, sandbox.layers = Empty, sandbox.missing = Empty,
            process.exit.code = Empty, sandbox.timed_out = Empty, sandbox.oom_killed = Empty,
            error.type = Empty, otel.status_code = Empty);
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _turn = turn;
            sandbox.run(&spec, &mut |_, _| {})
        })
        .instrument(span.clone())
        .await;
        if !span.is_disabled() {
            traced_run(&span, &result);
        }
        self.metrics.slots_in_use.dec();
        self.metrics
            .duration
            .get_or_create(&ActionLabels {
                action: "shell".into(),
            })
            .observe(started.elapsed().as_secs_f64());
        let run = Admitted {
            req,
            hash,
            needed,
            timeout,
            rid,
        };
        match result {
            Ok(Ok(outcome)) => self.shell_answer(run, outcome, &started_at),
            Ok(Err(e)) => self.sandbox_failure(run, e),
            Err(e) => {
                self.metrics.sandbox_errors.inc();
                ExecuteReply::refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "INTERNAL_ERROR",
                    format!("execution task failed: {e}"),
                    run.rid,
                )
            }
        }
    }

    fn sandbox_failure(&self, run: Admitted, e: SandboxError) -> ExecuteReply {
        let (status, code) = match &e {
            SandboxError::NotFound(_) => (StatusCode::UNPROCESSABLE_ENTITY, "COMMAND_NOT_FOUND"),
            SandboxError::InvalidArgument => (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT"),
            _ => {
                self.metrics.sandbox_errors.inc();
                (StatusCode::INTERNAL_SERVER_ERROR, "SANDBOX_ERROR")
            }
        };
        tracing::warn!(error = %e, "execution failed before the command ran");
        self.audit(json!({"ts": now(), "request_id": run.rid, "action": "shell", "command_hash": run.hash, "outcome": "sandbox_error", "error": e.to_string()}));
        self.metrics.count("shell", "error");
        ExecuteReply::refusal(status, code, e.to_string(), run.rid)
    }

    fn shell_answer(&self, run: Admitted, o: ExecOutcome, started_at: &str) -> ExecuteReply {
        let exit = o.exit_code;
        let prov = Record {
            hash: run.hash,
            started_at,
            duration: o.duration,
            exit_code: exit,
            capabilities: &run.needed,
            sandbox: SandboxInfo {
                layers: o.layers.iter().map(|l| l.name().to_string()).collect(),
                missing: o.missing.iter().map(|l| l.name().to_string()).collect(),
            },
            usage: ResourceUsage {
                cpu_time_ms: o.cpu_time.as_millis() as u64,
                max_memory_bytes: o.peak_rss_bytes,
            },
        }
        .provenance();
        let truncated = o.stdout_truncated || o.stderr_truncated;
        if truncated {
            self.metrics.truncated.inc();
        }
        self.metrics.cpu_seconds.inc_by(o.cpu_time.as_secs_f64());
        let (status, success, error, code, outcome) = if o.timed_out {
            self.metrics.timeouts.inc();
            (
                StatusCode::REQUEST_TIMEOUT,
                false,
                Some(format!(
                    "Command timed out after {:.1} s; the whole process tree was killed",
                    run.timeout.as_secs_f64()
                )),
                Some("TIMEOUT"),
                "timeout",
            )
        } else if o.oom_killed && exit != Some(0) {
            self.metrics.oom_kills.inc();
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
        self.metrics.count("shell", outcome);
        self.audit(json!({
            "ts": now(), "request_id": run.rid, "action": "shell", "command": run.req.command, "args": run.req.args,
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
            request_id: run.rid,
        };
        ExecuteReply { status, body }
    }
}
