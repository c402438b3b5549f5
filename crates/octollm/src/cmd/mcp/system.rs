//! `run_command` and `plan_goal` on `/mcp`: the system's own executor and
//! planner, through the orchestrator's arm interface — in-process under
//! `octollm up`, over HTTP at `executor_url` and `planner_url` when the
//! orchestrator runs alone. Either way the executor is the one that
//! requires capability tokens, so each command carries one minted for it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use octollm_executor::Executor;
use octollm_orchestrator::arms::http::{HttpArm, Transport};
use octollm_orchestrator::arms::{Attempt, PlanArm, ToolArm};
use octollm_planner::Planner;
use octollm_types::exec::ExecuteRequest;
use octollm_types::plan::PlanRequest;
use rmcp::model::CallToolResult;
use serde_json::Value;

use super::{command_result, errors};
use crate::arms::{LocalExecutor, LocalPlanner};
use crate::config::Config;

/// How long a plan may take, as the orchestrator gives its arms.
const PLAN_TIMEOUT: Duration = Duration::from_secs(120);

/// Beyond the command's own timeout, for the sandbox to start and stop.
const EXEC_MARGIN: Duration = Duration::from_secs(30);

pub struct SystemArms {
    planner: Arc<dyn PlanArm>,
    executor: Arc<dyn ToolArm>,
    token_secret: Option<Vec<u8>>,
}

/// The secret the system's executor checks tokens with: the one the
/// orchestrator mints them with.
fn secret(config: &Config) -> Option<Vec<u8>> {
    [
        &config.orchestrator.token_secret,
        &config.executor.token_secret,
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .map(|s| s.as_bytes().to_vec())
}

impl SystemArms {
    /// This process's planner and executor (`octollm up`).
    pub fn in_process(config: &Config, planner: Arc<Planner>, executor: Arc<Executor>) -> Self {
        SystemArms {
            planner: Arc::new(LocalPlanner(planner)),
            executor: Arc::new(LocalExecutor(executor)),
            token_secret: secret(config),
        }
    }

    /// The planner and executor the orchestrator's configuration names
    /// (`octollm serve orchestrator`), called with its `arms_api_key`.
    pub fn over_http(config: &Config) -> Result<Self> {
        let o = &config.orchestrator;
        let transport =
            Transport::new(&o.arms_api_key).context("building the HTTP client of the arms")?;
        Ok(SystemArms {
            planner: Arc::new(HttpArm::new(transport.clone(), &o.planner_url)),
            executor: Arc::new(HttpArm::new(transport, &o.executor_url)),
            token_secret: secret(config),
        })
    }

    pub async fn run_command(&self, mut req: ExecuteRequest, longest: f64) -> CallToolResult {
        if let Some(secret) = &self.token_secret {
            match command_token(secret, &req) {
                Ok(t) => req.capability_token = Some(t),
                Err(r) => return r,
            }
        }
        let asked = req.timeout_seconds.unwrap_or(longest).clamp(0.0, longest);
        let timeout = Duration::from_secs_f64(asked) + EXEC_MARGIN;
        match unpack(
            self.executor.execute(&req, timeout).await,
            "EXECUTOR_UNAVAILABLE",
        ) {
            Ok(reply) => command_result(reply.body),
            Err(r) => r,
        }
    }

    pub async fn plan(&self, req: &PlanRequest) -> CallToolResult {
        match unpack(
            self.planner.plan(req, PLAN_TIMEOUT).await,
            "PLANNER_UNAVAILABLE",
        ) {
            Ok(plan) => errors::ok(&plan),
            Err(r) => r,
        }
    }
}

/// An arm's answer, or the tool error for its refusal (with the arm's own
/// code) or its unavailability.
fn unpack<T>(attempt: Attempt<T>, unavailable: &str) -> Result<T, CallToolResult> {
    match attempt {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(refusal)) => Err(errors::tool_error(
            &refusal.code,
            &refusal.message,
            refusal.details,
        )),
        Err(transient) => Err(errors::tool_error(
            unavailable,
            &transient.message,
            Value::Null,
        )),
    }
}

/// A capability token for exactly this command, as the orchestrator mints
/// one for a step: the system's executor runs nothing without one.
fn command_token(secret: &[u8], req: &ExecuteRequest) -> Result<String, CallToolResult> {
    let call = octollm_types::plan::ToolCall::Shell {
        command: req.command.clone(),
        args: req.args.clone(),
        stdin: req.stdin.clone(),
    };
    let ttl = req.timeout_seconds.unwrap_or(60.0).ceil() as i64 + 60;
    let holder = format!("mcp-{:016x}", rand::random::<u64>());
    octollm_orchestrator::caps::token_for(secret, &holder, &call, None, ttl).map_err(|e| {
        errors::tool_error(
            "INTERNAL_ERROR",
            &format!("capability token: {e}"),
            Value::Null,
        )
    })
}
