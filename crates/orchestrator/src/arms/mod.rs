//! The arms the orchestrator drives, behind one interface per kind.
//!
//! | kind | trait | what the main loop asks of it |
//! |---|---|---|
//! | screening | [`ScreenArm`] | screen texts (goal, criteria, step output) |
//! | planning | [`PlanArm`] | turn a goal into a plan |
//! | tool | [`ToolArm`] | run one step's tool call |
//!
//! Each trait has an HTTP implementation ([`http`]) and may have an
//! in-process one (the `octollm` binary registers the real reflex, planner
//! and executor objects for `octollm up`, so a task makes no JSON hops).
//! Tool arms are registered by name; a plan step names one, and a name that
//! is not registered is a validation error, never a silent default.
//!
//! Every call goes through [`Arms::call`], which owns what must be the same
//! for every arm whatever its transport: the circuit breaker, retries with
//! the shared backoff schedule, the task's deadline, and metrics.

pub mod http;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_policy::ExecPolicy;
use octollm_server::resilience::{BreakerState, CircuitBreaker, RetryPolicy};
use octollm_types::exec::{ExecuteRequest, ExecuteResponse, WorkspaceFiles, WorkspaceInputs};
use octollm_types::plan::{Plan, PlanRequest};
use octollm_types::reflex::{
    BatchRequest, BatchResponse, ProcessRequest, ProcessResponse, RestoreRequest, RestoreResponse,
};

use crate::config::OrchestratorConfig;
use crate::metrics::{ArmLabels, Metrics};

/// A boxed future, so the arm traits stay object safe.
pub type ArmFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failure worth retrying: the arm may answer next time.
#[derive(Debug, Clone)]
pub struct Transient {
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Transient {
    pub fn new(message: impl Into<String>) -> Transient {
        Transient {
            message: message.into(),
            retry_after: None,
        }
    }
}

/// A definite answer that is not the one asked for: the arm refused the
/// request (bad input, policy, unsupported goal). Not retried.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The envelope's `details` (`null` when it had none): a refused plan
    /// reports there what its model calls cost.
    pub details: serde_json::Value,
}

/// What one attempt at an arm came to.
pub type Attempt<T> = Result<Result<T, Refusal>, Transient>;

/// The executor's answer: its status and the seed-shaped body, which it
/// sends for refusals and timeouts too.
#[derive(Debug, Clone)]
pub struct ExecReply {
    pub status: u16,
    pub body: ExecuteResponse,
}

/// An arm's health as `/api/v1/arms` shows it.
#[derive(Debug, Clone)]
pub struct Health {
    /// `healthy`, `degraded` or `unreachable`.
    pub status: String,
    pub latency_ms: Option<f64>,
}

impl Health {
    pub fn reachable(&self) -> bool {
        self.status != "unreachable"
    }
}

/// What every arm has, whatever its kind.
pub trait Arm: Send + Sync {
    /// Where it runs: a base URL, or `in-process`.
    fn location(&self) -> String;
    fn health(&self) -> ArmFuture<'_, Health>;
}

// A call's future borrows its request as long as the arm, so no arm copies
// the request to send it.
pub trait ScreenArm: Arm {
    fn screen<'a>(
        &'a self,
        req: &'a ProcessRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ProcessResponse>>;
    fn screen_batch<'a>(
        &'a self,
        req: &'a BatchRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<BatchResponse>>;
    /// Puts tokenized values back into a text (`/api/v1/reflex/restore`).
    fn restore<'a>(
        &'a self,
        req: &'a RestoreRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<RestoreResponse>>;
}

pub trait PlanArm: Arm {
    fn plan<'a>(&'a self, req: &'a PlanRequest, timeout: Duration) -> ArmFuture<'a, Attempt<Plan>>;
    /// Whether the planner revises failed plans (it has an LLM). When it
    /// cannot tell, true: the planner then refuses the revision itself.
    fn revises_plans(&self) -> ArmFuture<'_, bool>;
}

pub trait ToolArm: Arm {
    fn execute<'a>(
        &'a self,
        req: &'a ExecuteRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ExecReply>>;
    /// What the arm will run, when it can say; plans are checked against it.
    fn policy(&self) -> ArmFuture<'_, Option<ExecPolicy>>;
    /// An operation on task `id`'s workspace (SPEC §9.2), with a token
    /// bound to it. Only the executor has workspaces; other arms refuse.
    fn workspace<'a>(
        &'a self,
        id: &'a str,
        token: Option<&'a str>,
        op: WorkspaceOp<'a>,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<WorkspaceFiles>> {
        let _ = (id, token, op, timeout);
        Box::pin(async {
            Ok(Err(Refusal {
                status: 501,
                code: "NO_WORKSPACES".into(),
                message: "this arm has no workspaces".into(),
                details: serde_json::Value::Null,
            }))
        })
    }
}

/// What is asked of a task's workspace.
#[derive(Debug, Clone, Copy)]
pub enum WorkspaceOp<'a> {
    /// Store the task's input files.
    Inputs(&'a WorkspaceInputs),
    /// List `out/` with the files' bytes.
    Artifacts,
    /// Unmount and delete it.
    Remove,
}

/// The arm behind a registered name.
#[derive(Clone)]
pub enum Kind {
    Screen(Arc<dyn ScreenArm>),
    Plan(Arc<dyn PlanArm>),
    Tool(Arc<dyn ToolArm>),
}

impl Kind {
    fn base(&self) -> &dyn Arm {
        match self {
            Kind::Screen(a) => a.as_ref(),
            Kind::Plan(a) => a.as_ref(),
            Kind::Tool(a) => a.as_ref(),
        }
    }
}

/// One registered arm.
pub struct Registered {
    pub name: String,
    pub capabilities: Vec<String>,
    pub kind: Kind,
    breaker: CircuitBreaker,
}

impl Registered {
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    pub fn location(&self) -> String {
        self.kind.base().location()
    }

    pub async fn health(&self) -> Health {
        self.kind.base().health().await
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ArmError {
    #[error("the {arm} is unavailable: {message}")]
    Unavailable { arm: String, message: String },
    #[error("the {arm}'s circuit breaker is open after repeated failures")]
    BreakerOpen { arm: String },
    #[error("the task's deadline passed while waiting for the {arm}")]
    Deadline { arm: String },
    #[error("the {arm} refused: {}", .refusal.message)]
    Refused { arm: String, refusal: Refusal },
}

/// Arms supplied by whoever builds the orchestrator; any left `None` is
/// reached over HTTP at its configured URL.
#[derive(Default, Clone)]
pub struct ArmSet {
    pub screen: Option<Arc<dyn ScreenArm>>,
    pub plan: Option<Arc<dyn PlanArm>>,
    /// Tool arms by name; `executor` replaces the configured HTTP one.
    pub tools: Vec<(String, Arc<dyn ToolArm>)>,
}

/// The registry: every arm by name, and which ones screen and plan.
pub struct Arms {
    by_name: BTreeMap<String, Registered>,
    screen: String,
    plan: String,
    retry: RetryPolicy,
    metrics: Metrics,
}

pub const REFLEX: &str = "reflex";
pub const PLANNER: &str = "planner";
pub const EXECUTOR: &str = octollm_policy::plan::EXECUTOR_ARM;

impl Arms {
    /// Registers the supplied arms, then HTTP arms for whatever the
    /// configuration names and nothing supplied: `reflex_url`,
    /// `planner_url`, `executor_url` and each `tool_arms` entry.
    pub fn new(
        config: &OrchestratorConfig,
        supplied: ArmSet,
        metrics: Metrics,
    ) -> Result<Arms, crate::OrchestratorError> {
        let transport = http::Transport::new(&config.arms_api_key)?;
        let mut by_name = BTreeMap::new();
        let mut add = |name: &str, caps: &[&str], kind: Kind| {
            by_name.insert(
                name.to_string(),
                Registered {
                    name: name.to_string(),
                    capabilities: caps.iter().map(|c| c.to_string()).collect(),
                    kind,
                    breaker: CircuitBreaker::new(
                        config.breaker_failure_threshold,
                        config.breaker_cooldown(),
                    ),
                },
            );
        };
        let screen = supplied
            .screen
            .unwrap_or_else(|| Arc::new(http::HttpArm::new(transport.clone(), &config.reflex_url)));
        add(
            REFLEX,
            &["pii_detection", "injection_detection", "redaction"],
            Kind::Screen(screen),
        );
        let plan = supplied.plan.unwrap_or_else(|| {
            Arc::new(http::HttpArm::new(transport.clone(), &config.planner_url))
        });
        add(PLANNER, &["planning"], Kind::Plan(plan));
        let mut tools: BTreeMap<String, Arc<dyn ToolArm>> = BTreeMap::new();
        tools.insert(
            EXECUTOR.to_string(),
            Arc::new(http::HttpArm::new(transport.clone(), &config.executor_url)),
        );
        for entry in &config.tool_arms {
            let (name, url) = parse_tool_arm(entry)?;
            tools.insert(name, Arc::new(http::HttpArm::new(transport.clone(), &url)));
        }
        for (name, arm) in supplied.tools {
            tools.insert(name, arm);
        }
        for (name, arm) in tools {
            add(&name, &["shell", "http_fetch", "python"], Kind::Tool(arm));
        }
        Ok(Arms {
            by_name,
            screen: REFLEX.to_string(),
            plan: PLANNER.to_string(),
            retry: RetryPolicy {
                max_retries: config.max_retries,
                initial: Duration::from_millis(config.retry_backoff_ms.max(1)),
                max: Duration::from_millis(config.retry_backoff_max_ms.max(1)),
                retry_after_max: Duration::from_millis(config.retry_backoff_max_ms.max(1))
                    .max(Duration::from_secs(30)),
            },
            metrics,
        })
    }

    pub fn all(&self) -> impl Iterator<Item = &Registered> {
        self.by_name.values()
    }

    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.by_name.get(name)
    }

    /// The names plan steps may use: every tool arm.
    pub fn tool_names(&self) -> Vec<String> {
        self.by_name
            .values()
            .filter(|r| matches!(r.kind, Kind::Tool(_)))
            .map(|r| r.name.clone())
            .collect()
    }

    pub fn screener(&self) -> Option<(&Registered, &Arc<dyn ScreenArm>)> {
        let r = self.by_name.get(&self.screen)?;
        match &r.kind {
            Kind::Screen(a) => Some((r, a)),
            _ => None,
        }
    }

    pub fn planner(&self) -> Option<(&Registered, &Arc<dyn PlanArm>)> {
        let r = self.by_name.get(&self.plan)?;
        match &r.kind {
            Kind::Plan(a) => Some((r, a)),
            _ => None,
        }
    }

    pub fn tool(&self, name: &str) -> Option<(&Registered, &Arc<dyn ToolArm>)> {
        let r = self.by_name.get(name)?;
        match &r.kind {
            Kind::Tool(a) => Some((r, a)),
            _ => None,
        }
    }

    /// Exports each breaker's state.
    pub fn publish_breakers(&self) {
        for arm in self.all() {
            self.metrics
                .breaker_state
                .get_or_create(&ArmLabels {
                    arm: arm.name.clone(),
                })
                .set(arm.breaker.state().as_gauge());
        }
    }

    /// Calls `arm` through its breaker, retrying transient failures with
    /// the shared backoff until `deadline`; `on_retry(attempt, error,
    /// delay)` is awaited before each retry so callers can record it.
    pub async fn call<T, F, Fut, R, RFut>(
        &self,
        arm: &Registered,
        timeout: Duration,
        deadline: Option<Instant>,
        mut attempt_once: F,
        mut on_retry: R,
    ) -> Result<T, ArmError>
    where
        F: FnMut(Duration) -> Fut,
        Fut: Future<Output = Attempt<T>>,
        R: FnMut(u32, String, Duration) -> RFut,
        RFut: Future<Output = ()>,
    {
        let name = || arm.name.clone();
        let labels = ArmLabels {
            arm: arm.name.clone(),
        };
        let mut attempt = 0u32;
        loop {
            let failure = if arm.breaker.allow() {
                let timeout = match deadline {
                    Some(d) => timeout.min(d.saturating_duration_since(Instant::now())),
                    None => timeout,
                };
                if timeout.is_zero() {
                    return Err(ArmError::Deadline { arm: name() });
                }
                let started = Instant::now();
                let outcome = attempt_once(timeout).await;
                self.metrics
                    .arm_latency
                    .get_or_create(&labels)
                    .observe(started.elapsed().as_secs_f64());
                match outcome {
                    Ok(answer) => {
                        arm.breaker.on_success();
                        self.metrics.arm_call(&arm.name, "ok");
                        self.publish_breakers();
                        return answer.map_err(|refusal| ArmError::Refused {
                            arm: name(),
                            refusal,
                        });
                    }
                    Err(t) => {
                        arm.breaker.on_failure();
                        self.metrics.arm_call(&arm.name, "transient_error");
                        self.publish_breakers();
                        Some(t)
                    }
                }
            } else {
                self.metrics.arm_call(&arm.name, "breaker_open");
                None
            };
            let give_up = |failure: Option<Transient>| match failure {
                Some(t) => ArmError::Unavailable {
                    arm: name(),
                    message: t.message,
                },
                None => ArmError::BreakerOpen { arm: name() },
            };
            if attempt >= self.retry.max_retries {
                return Err(give_up(failure));
            }
            let Some(delay) = self
                .retry
                .delay(attempt, failure.as_ref().and_then(|t| t.retry_after))
            else {
                return Err(give_up(failure));
            };
            if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                return Err(ArmError::Deadline { arm: name() });
            }
            attempt += 1;
            self.metrics.arm_retries.get_or_create(&labels).inc();
            let shown = failure.map_or_else(|| "circuit breaker open".to_string(), |t| t.message);
            on_retry(attempt, shown, delay).await;
            tokio::time::sleep(delay).await;
        }
    }
}

/// `name=url` of an extra tool arm reached over HTTP.
fn parse_tool_arm(entry: &str) -> Result<(String, String), crate::OrchestratorError> {
    let bad = || {
        crate::OrchestratorError::Config(format!(
            "tool_arms entry '{entry}' must be NAME=http(s)://HOST:PORT with a lowercase name"
        ))
    };
    let (name, url) = entry.split_once('=').ok_or_else(bad)?;
    let (name, url) = (name.trim(), url.trim());
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && ![REFLEX, PLANNER].contains(&name);
    if !name_ok || !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad());
    }
    Ok((name.to_string(), url.to_string()))
}

/// No retry at all: for calls whose caller handles failure itself.
pub async fn no_retry_hook(_: u32, _: String, _: Duration) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_arm_entries() {
        assert_eq!(
            parse_tool_arm("gpu=http://10.0.0.2:9000").unwrap(),
            ("gpu".to_string(), "http://10.0.0.2:9000".to_string())
        );
        for bad in [
            "gpu",
            "=http://x",
            "GPU=http://x",
            "gpu=ftp://x",
            "planner=http://x",
        ] {
            assert!(parse_tool_arm(bad).is_err(), "{bad}");
        }
    }
}
