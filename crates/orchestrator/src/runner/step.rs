//! One step's I/O: resolve its references, mint its capability token, run
//! it on its tool arm, screen its output, and record each transition under
//! the lease.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_policy::refs;
use octollm_types::exec::ExecuteRequest;
use octollm_types::orchestrator::{ApprovalDecision, StepStatus};
use octollm_types::plan::ToolCall;
use octollm_types::reflex::{Decision, InjectionFinding, ProcessRequest, ProcessResponse, Source};
use octollm_types::task::TaskStatus;
use serde_json::{json, Value};

use super::schedule::StepSpec;
use super::{Code, Ctx, StepError, Stop};
use crate::arms::{ArmError, EXECUTOR};
use crate::caps;
use crate::metrics::StatusLabels;
use crate::store::{now_ms, StepFinish};

pub(super) enum StepOutcome {
    Done {
        raw: String,
    },
    Failed {
        code: Code,
        message: String,
        step: u32,
    },
    Stop(Stop),
}

pub(super) fn truncate(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

pub(super) fn count(ctx: &Ctx, status: StepStatus) {
    ctx.core
        .metrics
        .steps
        .get_or_create(&StatusLabels {
            status: status.as_str().into(),
        })
        .inc();
}

/// Runs one step; `approval` is the decision it runs under, when it
/// needed one, and goes into its provenance.
pub(super) async fn run_step(
    ctx: Arc<Ctx>,
    spec: StepSpec,
    inputs: HashMap<u32, String>,
    approval: Option<ApprovalDecision>,
) -> StepOutcome {
    let core = ctx.core.clone();
    let id = ctx.task_id.clone();
    let step = i64::from(spec.no);
    let attempt = match ctx
        .persist(|| core.store.start_step(&id, step, &ctx.owner))
        .await
    {
        Ok(Some(a)) => a,
        Ok(None) => return StepOutcome::Stop(Stop::LeaseLost),
        Err(e) => return StepOutcome::Stop(Stop::Store(e)),
    };
    let resolved = match spec
        .tool
        .as_ref()
        .map(|t| refs::resolve(t, &inputs))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => return fail_step(&ctx, &spec, 0, Code::InvalidPlan, e.to_string()).await,
    };
    ctx.event(
        "step.started",
        TaskStatus::Executing,
        Some(spec.no),
        json!({"step": spec.no, "action": spec.action, "arm": spec.arm, "attempt": attempt,
               "command": resolved.as_ref().map(ToolCall::command_line)}),
    )
    .await;
    let started = Instant::now();
    let outcome = match &resolved {
        None => Ok(Ran::default()),
        Some(call) => execute(&ctx, &spec, call).await,
    };
    let Ran {
        output: raw,
        stderr,
        mut provenance,
    } = match outcome {
        Ok(v) => v,
        Err(StepError::Deadline) => return StepOutcome::Stop(Stop::Timeout),
        Err(StepError::Failed { code, message }) => {
            return fail_step(
                &ctx,
                &spec,
                started.elapsed().as_millis() as i64,
                code,
                message,
            )
            .await
        }
    };
    if let (Some(Value::Object(p)), Some(a)) = (provenance.as_mut(), &approval) {
        p.insert("approval".into(), json!(a));
    }
    let raw = truncate(&raw, core.config.max_output_bytes as usize);
    let (mut display, injected) = screen_output(&ctx, &raw).await;
    // The user sees the values they gave in the goal, not their labels.
    if let Some(vault) = ctx.vault_id.as_deref().filter(|_| display != raw) {
        if let Some(own) = crate::placeholders::with_own_values(&core, vault, &raw).await {
            display = own;
        }
    }
    if let Some(findings) = &injected {
        if let Some(Value::Object(p)) = provenance.as_mut() {
            p.insert("injection_in_output".into(), json!(findings));
        }
        ctx.event(
            "step.injection_in_output",
            TaskStatus::Executing,
            Some(spec.no),
            json!({"step": spec.no, "injections": findings}),
        )
        .await;
    }
    let stderr = redacted_stderr(&ctx, &stderr).await;
    let duration = started.elapsed();
    let finish = StepFinish {
        status: StepStatus::Completed,
        output: Some(raw.clone()),
        display_output: Some(display.clone()),
        stderr,
        error: None,
        provenance: provenance.map(|p| p.to_string()),
        finished_at: now_ms(),
        duration_ms: duration.as_millis() as i64,
    };
    match ctx
        .persist(|| core.store.finish_step(&id, step, &ctx.owner, &finish))
        .await
    {
        Ok(true) => {}
        Ok(false) => return StepOutcome::Stop(Stop::LeaseLost),
        Err(e) => return StepOutcome::Stop(Stop::Store(e)),
    }
    count(&ctx, StepStatus::Completed);
    core.metrics.step_duration.observe(duration.as_secs_f64());
    ctx.event(
        "step.completed",
        TaskStatus::Executing,
        Some(spec.no),
        json!({"step": spec.no, "action": spec.action, "duration_ms": duration.as_millis() as u64,
               "output": truncate(&display, 4096)}),
    )
    .await;
    StepOutcome::Done { raw }
}

async fn fail_step(
    ctx: &Ctx,
    spec: &StepSpec,
    duration_ms: i64,
    code: Code,
    message: String,
) -> StepOutcome {
    let finish = StepFinish {
        status: StepStatus::Failed,
        output: None,
        display_output: None,
        stderr: None,
        error: Some(format!("{code}: {message}")),
        provenance: None,
        finished_at: now_ms(),
        duration_ms,
    };
    match ctx
        .persist(|| {
            ctx.core
                .store
                .finish_step(&ctx.task_id, i64::from(spec.no), &ctx.owner, &finish)
        })
        .await
    {
        Ok(true) => {}
        Ok(false) => return StepOutcome::Stop(Stop::LeaseLost),
        Err(e) => return StepOutcome::Stop(Stop::Store(e)),
    }
    count(ctx, StepStatus::Failed);
    ctx.event(
        "step.failed",
        TaskStatus::Executing,
        Some(spec.no),
        json!({"step": spec.no, "action": spec.action, "duration_ms": duration_ms, "error": {"code": code.as_str(), "message": message}}),
    )
    .await;
    StepOutcome::Failed {
        code,
        message: format!("Step {} ({}) failed: {message}", spec.no, spec.action),
        step: spec.no,
    }
}

fn request_for(call: &ToolCall) -> ExecuteRequest {
    let (action_type, command, args, stdin, method, url) = match call {
        ToolCall::Shell {
            command,
            args,
            stdin,
        } => (
            "shell",
            command.clone(),
            args.clone(),
            stdin.clone(),
            None,
            None,
        ),
        ToolCall::Http { method, url } => (
            "http",
            String::new(),
            Vec::new(),
            None,
            Some(method.clone()),
            Some(url.clone()),
        ),
    };
    ExecuteRequest {
        action_type: action_type.into(),
        command,
        args,
        stdin,
        method,
        url,
        timeout_seconds: None,
        capability_token: None,
        workspace: None,
    }
}

/// Runs one tool call on its arm: `(output, provenance)`.
/// What a step's action gave back.
#[derive(Default)]
struct Ran {
    output: String,
    stderr: String,
    provenance: Option<Value>,
}

async fn execute(ctx: &Arc<Ctx>, spec: &StepSpec, call: &ToolCall) -> Result<Ran, StepError> {
    let core = &ctx.core;
    let Some((reg, arm)) = core.arms.tool(&spec.arm) else {
        return Err(StepError::failed(
            Code::UnknownArm,
            format!(
                "arm '{}' is not registered (registered: {})",
                spec.arm,
                core.arms.tool_names().join(", ")
            ),
        ));
    };
    // Leave the executor time to answer its own timeout before the deadline.
    let remaining = ctx.remaining().saturating_sub(Duration::from_millis(250));
    if remaining < Duration::from_millis(100) {
        return Err(StepError::Deadline);
    }
    let step_timeout = remaining
        .as_secs_f64()
        .min(core.config.step_timeout_seconds.max(0.1));
    // The executor is no model: it gets the goal's values back.
    let restored;
    let call = match &ctx.vault_id {
        Some(vault) if spec.arm == EXECUTOR => {
            restored = crate::placeholders::restore_call(core, vault, call).await?;
            &restored
        }
        _ => call,
    };
    let mut req = request_for(call);
    // The executor's steps share the task's workspace, named by its id.
    if spec.arm == EXECUTOR {
        req.workspace = Some(ctx.task_id.clone());
    }
    if let Some(secret) = &core.token_secret {
        let ttl = step_timeout.ceil() as i64 + core.config.token_ttl_seconds as i64;
        let token = caps::token_for(
            secret,
            &ctx.task_id,
            call,
            ctx.allowed_hosts.as_deref(),
            ttl,
        )
        .map_err(|e| StepError::failed(Code::Internal, format!("capability token: {e}")))?;
        req.capability_token = Some(token);
    }
    req.timeout_seconds = Some((step_timeout * 1000.0).floor() / 1000.0);
    let reply = core
        .arms
        .call(
            reg,
            Duration::from_secs_f64(step_timeout + 5.0),
            Some(ctx.deadline),
            |timeout| arm.execute(&req, timeout),
            ctx.retry_events(
                "step.retrying",
                TaskStatus::Executing,
                Some(spec.no),
                json!({"step": spec.no, "arm": spec.arm}),
            ),
        )
        .await;
    let reply = match reply {
        Ok(r) => r,
        Err(ArmError::Deadline { .. }) => return Err(StepError::Deadline),
        Err(ArmError::Refused { refusal, .. }) => {
            return Err(StepError::failed(
                Code::Remote(refusal.code),
                refusal.message,
            ))
        }
        Err(e) => return Err(StepError::failed(Code::ArmUnavailable, e.to_string())),
    };
    let resp = reply.body;
    if reply.status == 200 && resp.success {
        let prov = resp
            .provenance
            .as_ref()
            .and_then(|p| serde_json::to_value(p).ok());
        return Ok(Ran {
            output: resp.output,
            stderr: resp.stderr,
            provenance: prov,
        });
    }
    if reply.status == 408 || resp.timed_out {
        if ctx.remaining() < Duration::from_millis(500) {
            return Err(StepError::Deadline);
        }
        return Err(StepError::failed(
            Code::StepTimeout,
            resp.error.unwrap_or_else(|| "the command timed out".into()),
        ));
    }
    let code = resp
        .error_code
        .clone()
        .map_or(Code::StepFailed, Code::Remote);
    let mut message = resp
        .error
        .clone()
        .unwrap_or_else(|| format!("the {} answered HTTP {}", spec.arm, reply.status));
    let stderr = resp.stderr.trim();
    if !stderr.is_empty() {
        message = format!("{message}: {}", truncate(stderr, 500));
    }
    Err(StepError::failed(code, message))
}

/// Shown instead of an output the reflex layer could not screen.
pub(super) const WITHHELD: &str = "[output withheld: the reflex layer could not screen it]";

/// One screening of a tool's output by the reflex layer (never cached:
/// outputs rarely repeat and hold what a cache should not keep); `None`
/// when the layer could not answer within the task's deadline.
pub(crate) async fn screen(
    ctx: &Ctx,
    text: &str,
    check_injection: bool,
) -> Option<ProcessResponse> {
    let core = &ctx.core;
    let mut req = ProcessRequest::new(text);
    req.check_injection = check_injection;
    req.use_cache = false;
    // Everything screened here came out of a tool: instructions planted
    // in it for the assistant weigh more than in a user's own words.
    req.source = Source::ToolOutput;
    core.reflex_call(Some(ctx.deadline), |arm, timeout| arm.screen(&req, timeout))
        .await?
        .ok()
}

/// A completed step's stderr as users may see it: PII and secrets redacted
/// (nothing hands stderr to a model, so it is not judged for injection);
/// `None` when there was none, withheld when it could not be screened.
async fn redacted_stderr(ctx: &Ctx, stderr: &str) -> Option<String> {
    let stderr = truncate(stderr, ctx.core.config.max_output_bytes as usize);
    if stderr.trim().is_empty() {
        return None;
    }
    Some(match screen(ctx, &stderr, false).await {
        Some(p) => p.redacted_text.unwrap_or(stderr),
        None if ctx.core.config.reflex_fail_open => stderr,
        None => WITHHELD.to_string(),
    })
}

/// The output as users may see it (PII and secrets redacted by the reflex
/// layer) and, when the layer would block it as a prompt injection, its
/// findings: the step is marked `injection_in_output`, and whatever later
/// hands this output to a model applies `tool_output_injection`.
async fn screen_output(ctx: &Ctx, raw: &str) -> (String, Option<Vec<InjectionFinding>>) {
    if raw.is_empty() {
        return (String::new(), None);
    }
    match screen(ctx, raw, true).await {
        Some(p) => {
            let marked = (p.status == Decision::Blocked).then_some(p.injections);
            (p.redacted_text.unwrap_or_else(|| raw.to_string()), marked)
        }
        None if ctx.core.config.reflex_fail_open => (raw.to_string(), None),
        None => (WITHHELD.to_string(), None),
    }
}
