//! Steps that wait for a person (SPEC §9.1).
//!
//! A ready step that the server's `approval_required` policy (or the
//! task's `"approval": "always"`) matches is not started: the exact call it
//! would make, references resolved, is stored as its approval request and
//! announced as `approval_requested`. Steps that do not depend on it keep
//! running. When nothing else can run the task is parked (see
//! `store::approvals`) and no worker holds it until a decision or the
//! request's expiry brings it back.
//!
//! The capability token is minted when the step starts, so a step that was
//! never approved never holds one.

use std::collections::HashMap;

use octollm_policy::approval::{call_capabilities, call_host};
use octollm_policy::refs;
use octollm_types::orchestrator::{
    ApprovalDecision, ApprovalRequest, Decision, StdinSource, StepStatus,
};
use octollm_types::plan::ToolCall;
use octollm_types::task::TaskStatus;
use serde_json::json;

use super::schedule::StepSpec;
use super::step::truncate;
use super::{fenced, Code, Runner, Stop};
use crate::arms::EXECUTOR;
use crate::store::now_ms;
use crate::view::rfc3339;

/// Where a step stands with its approval.
#[derive(Debug, Clone)]
pub(super) enum Gate {
    /// It may run; `Some` is the approval it runs under.
    Run(Option<ApprovalDecision>),
    /// A person was asked; the request lapses at this time (Unix ms).
    Waiting(i64),
    /// Rejected, or nobody decided in time: the step fails.
    Refused(ApprovalDecision),
}

/// The gate a step is at, from its stored request and decision (JSON).
fn gate_of(request: &str, decision: Option<&str>) -> Option<Gate> {
    let request: ApprovalRequest = serde_json::from_str(request).ok()?;
    let decision = decision.and_then(|d| serde_json::from_str::<ApprovalDecision>(d).ok());
    Some(match decision {
        Some(d) if d.decision == Decision::Approved => Gate::Run(Some(d)),
        Some(d) => Gate::Refused(d),
        None => Gate::Waiting(
            chrono::DateTime::parse_from_rfc3339(&request.expires_at)
                .map(|t| t.timestamp_millis())
                .unwrap_or(0),
        ),
    })
}

/// Longest stdin excerpt shown to an approver.
const PREVIEW_BYTES: usize = 512;

fn stdin_source(call: &ToolCall, resolved: &ToolCall) -> StdinSource {
    let (ToolCall::Shell { stdin, .. }, ToolCall::Shell { stdin: text, .. }) = (call, resolved)
    else {
        return StdinSource {
            source: "none".into(),
            steps: Vec::new(),
            bytes: 0,
            preview: String::new(),
        };
    };
    let steps = stdin
        .as_deref()
        .and_then(|s| refs::references(s).ok())
        .unwrap_or_default();
    let text = text.as_deref().unwrap_or("");
    StdinSource {
        source: match (stdin, steps.is_empty()) {
            (None, _) => "none",
            (Some(_), false) => "steps",
            (Some(_), true) => "text",
        }
        .into(),
        steps,
        bytes: text.len() as u64,
        preview: truncate(text, PREVIEW_BYTES),
    }
}

impl Runner {
    /// The policy entries that put `call` behind approval; empty when it
    /// may run unasked.
    pub(super) fn approval_needed(&self, call: &ToolCall) -> Vec<String> {
        let mut because = self.ctx.core.approval.matches(call);
        if self.task.approve_every_step() {
            because.insert(0, "always".into());
        }
        because
    }

    /// The step's gate once its references are resolved against the
    /// finished steps' outputs: `Run(None)` when it needs no approval (or
    /// its references do not resolve, which the step itself reports).
    pub(super) async fn gate(
        &self,
        spec: &StepSpec,
        outputs: &HashMap<u32, String>,
    ) -> Result<Gate, Stop> {
        let Some(call) = spec.tool.as_ref() else {
            return Ok(Gate::Run(None));
        };
        let Ok(mut resolved) = refs::resolve(call, outputs) else {
            return Ok(Gate::Run(None));
        };
        // The person approves, and the policy judges, the call as it will
        // run: with the goal's values, not their placeholders. A value
        // that cannot be restored fails the step when it runs.
        if let (Some(vault), true) = (&self.ctx.vault_id, spec.arm == EXECUTOR) {
            if let Ok(call) =
                crate::placeholders::restore_call(&self.ctx.core, vault, &resolved).await
            {
                resolved = call;
            }
        }
        let because = self.approval_needed(&resolved);
        if because.is_empty() {
            return Ok(Gate::Run(None));
        }
        self.ask(spec, call, &resolved, because).await
    }

    async fn ask(
        &self,
        spec: &StepSpec,
        call: &ToolCall,
        resolved: &ToolCall,
        because: Vec<String>,
    ) -> Result<Gate, Stop> {
        let core = &self.ctx.core;
        let now = now_ms();
        let timeout_ms = i64::try_from(core.config.approval_timeout_seconds.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let expires = now.saturating_add(timeout_ms);
        let (kind, command, args, method, url) = match resolved {
            ToolCall::Shell { command, args, .. } => {
                ("shell", Some(command.clone()), args.clone(), None, None)
            }
            ToolCall::Http { method, url } => (
                "http",
                None,
                Vec::new(),
                Some(method.clone()),
                Some(url.clone()),
            ),
        };
        let request = ApprovalRequest {
            step: spec.no,
            action: spec.action.clone(),
            arm: spec.arm.clone(),
            kind: kind.into(),
            command,
            args,
            stdin: stdin_source(call, resolved),
            method,
            url,
            host: call_host(resolved),
            capabilities: call_capabilities(resolved)
                .into_iter()
                .map(str::to_string)
                .collect(),
            because,
            requested_at: rfc3339(now),
            expires_at: rfc3339(expires),
        };
        let request_json = serde_json::to_string(&request)?;
        let stored = self
            .ctx
            .persist(|| {
                core.store.request_approval(
                    &self.task.id,
                    i64::from(spec.no),
                    &self.ctx.owner,
                    &request_json,
                )
            })
            .await?;
        fenced(stored)?;
        tracing::info!(target: "audit", task_id = %self.task.id, step = spec.no,
            because = ?request.because, "approval requested");
        self.ctx
            .event(
                "approval_requested",
                TaskStatus::Executing,
                Some(spec.no),
                serde_json::to_value(&request)?,
            )
            .await;
        Ok(Gate::Waiting(expires))
    }

    /// Every step's gate as stored now: decisions made since the last look
    /// show up here.
    pub(super) async fn gates(&self) -> Result<HashMap<u32, Gate>, Stop> {
        let rows = self
            .ctx
            .persist(|| self.ctx.core.store.approvals(&self.task.id))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|(step, request, decision)| {
                Some((
                    u32::try_from(*step).ok()?,
                    gate_of(request, decision.as_deref())?,
                ))
            })
            .collect())
    }

    /// Records that step `no`'s request lapsed; the gate it is at after
    /// that (a decision may have won the race).
    pub(super) async fn expire(&self, no: u32) -> Result<Gate, Stop> {
        let decision = ApprovalDecision {
            decision: Decision::Expired,
            by: "octollm".into(),
            at: rfc3339(now_ms()),
            reason: Some(format!(
                "no decision within {} s",
                self.ctx.core.config.approval_timeout_seconds
            )),
        };
        let decision_json = serde_json::to_string(&decision)?;
        self.ctx
            .persist(|| {
                self.ctx.core.store.expire_approval(
                    &self.task.id,
                    i64::from(no),
                    &self.ctx.owner,
                    &decision_json,
                )
            })
            .await?;
        // Whichever write won, the row now says what happened; a gate still
        // waiting means the lease is gone.
        match self.gates().await?.remove(&no) {
            Some(Gate::Waiting(_)) | None => Err(Stop::LeaseLost),
            Some(gate) => Ok(gate),
        }
    }

    /// Fails a step a person rejected or nobody decided on in time; the
    /// code and message the task then fails with.
    pub(super) async fn refuse(
        &self,
        spec: &StepSpec,
        decision: &ApprovalDecision,
    ) -> Result<(Code, String), Stop> {
        let (code, message) = match decision.decision {
            Decision::Expired => (
                Code::ApprovalTimeout,
                format!(
                    "Step {} ({}) waited {} s for approval and nobody decided",
                    spec.no, spec.action, self.ctx.core.config.approval_timeout_seconds
                ),
            ),
            _ => (
                Code::ApprovalRejected,
                format!(
                    "Step {} ({}) was rejected by {}{}",
                    spec.no,
                    spec.action,
                    decision.by,
                    decision
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ),
            ),
        };
        let error = format!("{code}: {message}");
        let stored = self
            .ctx
            .persist(|| {
                self.ctx.core.store.fail_waiting_step(
                    &self.task.id,
                    i64::from(spec.no),
                    &self.ctx.owner,
                    &error,
                )
            })
            .await?;
        fenced(stored)?;
        super::step::count(&self.ctx, StepStatus::Failed);
        self.ctx
            .event(
                "step.failed",
                TaskStatus::Executing,
                Some(spec.no),
                json!({"step": spec.no, "action": spec.action,
                       "error": {"code": code.as_str(), "message": message},
                       "approval": decision}),
            )
            .await;
        Ok((code, message))
    }

    /// Gives the task back until a decision or `wake_at` (Unix ms).
    pub(super) async fn park(&mut self, wake_at: i64) -> Stop {
        let parked = match self
            .ctx
            .persist(|| {
                self.ctx
                    .core
                    .store
                    .park(&self.task.id, &self.ctx.owner, wake_at)
            })
            .await
        {
            Ok(p) => p,
            Err(e) => return Stop::Store(e),
        };
        if !parked {
            return Stop::LeaseLost;
        }
        let status = TaskStatus::AwaitingApproval;
        self.ctx
            .event(
                "task.status",
                status,
                None,
                json!({"status": status.as_str()}),
            )
            .await;
        Stop::Parked
    }
}
