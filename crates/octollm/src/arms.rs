//! In-process arms for `octollm up`: the orchestrator calls the very reflex,
//! planner and executor objects that also serve HTTP on their ports, so a
//! task makes no JSON hops over loopback. Each adapter maps the domain
//! object's answer onto the arm interface the same way the HTTP client maps
//! status codes: 429 and 5xx are transient, other errors are refusals.

use std::sync::Arc;
use std::time::Duration;

use octollm_executor::Executor;
use octollm_orchestrator::arms::{
    Arm, ArmFuture, ArmSet, Attempt, ExecReply, Health, PlanArm, Refusal, ScreenArm, ToolArm,
    Transient, WorkspaceOp, EXECUTOR,
};
use octollm_planner::Planner;
use octollm_policy::ExecPolicy;
use octollm_reflex::Reflex;
use octollm_server::ApiError;
use octollm_types::exec::{ExecuteRequest, WorkspaceFiles};
use octollm_types::plan::{Plan, PlanRequest};
use octollm_types::reflex::{
    BatchRequest, BatchResponse, ProcessRequest, ProcessResponse, RestoreRequest, RestoreResponse,
};

const HERE: &str = "in-process";

fn healthy() -> Health {
    Health {
        status: "healthy".into(),
        latency_ms: Some(0.0),
    }
}

/// An `ApiError` as one attempt's outcome.
fn attempt<T>(r: Result<T, ApiError>) -> Attempt<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.status.as_u16() == 429 || e.status.is_server_error() => Err(Transient {
            message: format!("{}: {}", e.code, e.message),
            retry_after: e.retry_after.map(Duration::from_secs),
        }),
        Err(e) => Ok(Err(Refusal {
            status: e.status.as_u16(),
            code: e.code,
            message: e.message,
            details: e.details,
        })),
    }
}

/// A call that cannot outlive its timeout, as over HTTP.
async fn bounded<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Attempt<T>>,
) -> Attempt<T> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(Transient::new("no answer in time")))
}

/// A domain call as one bounded attempt, its `ApiError` read as over HTTP.
fn local_call<'a, T: 'a>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'a,
) -> ArmFuture<'a, Attempt<T>> {
    Box::pin(bounded(timeout, async move { attempt(call.await) }))
}

/// Reflex and planner are up whenever this process is.
macro_rules! always_healthy {
    ($($t:ty),*) => {$(
        impl Arm for $t {
            fn location(&self) -> String {
                HERE.into()
            }
            fn health(&self) -> ArmFuture<'_, Health> {
                Box::pin(async { healthy() })
            }
        }
    )*};
}

always_healthy!(LocalReflex, LocalPlanner);

pub struct LocalReflex(pub Arc<Reflex>);

impl ScreenArm for LocalReflex {
    fn screen<'a>(
        &'a self,
        req: &'a ProcessRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ProcessResponse>> {
        local_call(timeout, self.0.process(req))
    }
    fn screen_batch<'a>(
        &'a self,
        req: &'a BatchRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<BatchResponse>> {
        local_call(timeout, self.0.batch(req))
    }
    fn restore<'a>(
        &'a self,
        req: &'a RestoreRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<RestoreResponse>> {
        local_call(timeout, self.0.restore(req))
    }
}

pub struct LocalPlanner(pub Arc<Planner>);

impl PlanArm for LocalPlanner {
    fn plan<'a>(&'a self, req: &'a PlanRequest, timeout: Duration) -> ArmFuture<'a, Attempt<Plan>> {
        local_call(timeout, async move {
            let outcome = self.0.plan(req).await;
            outcome.map(|o| o.plan).map_err(|e| e.to_api_error())
        })
    }

    fn revises_plans(&self) -> ArmFuture<'_, bool> {
        Box::pin(std::future::ready(self.0.revises_plans()))
    }
}

pub struct LocalExecutor(pub Arc<Executor>);

impl Arm for LocalExecutor {
    fn location(&self) -> String {
        HERE.into()
    }
    fn health(&self) -> ArmFuture<'_, Health> {
        Box::pin(async {
            let h = self.0.health();
            Health {
                status: if h.degraded() { "degraded" } else { "healthy" }.into(),
                latency_ms: Some(0.0),
            }
        })
    }
}

impl ToolArm for LocalExecutor {
    fn execute<'a>(
        &'a self,
        req: &'a ExecuteRequest,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<ExecReply>> {
        Box::pin(bounded(timeout, async move {
            let reply = self.0.execute(req.clone(), None).await;
            let status = reply.status.as_u16();
            if status == 429 || reply.status.is_server_error() {
                return Err(Transient::new(
                    reply.body.error.unwrap_or_else(|| format!("HTTP {status}")),
                ));
            }
            Ok(Ok(ExecReply {
                status,
                body: reply.body,
            }))
        }))
    }

    fn policy(&self) -> ArmFuture<'_, Option<ExecPolicy>> {
        Box::pin(async {
            Some(ExecPolicy {
                commands: self.0.policy().clone(),
                hosts: self.0.hosts().clone(),
                allow_plain_http: self.0.allow_plain_http(),
            })
        })
    }

    fn workspace<'a>(
        &'a self,
        id: &'a str,
        token: Option<&'a str>,
        op: WorkspaceOp<'a>,
        timeout: Duration,
    ) -> ArmFuture<'a, Attempt<WorkspaceFiles>> {
        Box::pin(bounded(timeout, async move {
            let answer = match op {
                WorkspaceOp::Inputs(inputs) => self.0.put_inputs(id, token, inputs.clone()).await,
                WorkspaceOp::Artifacts => self.0.artifacts(id, token).await,
                WorkspaceOp::Remove => self
                    .0
                    .remove_workspace(id, token)
                    .await
                    .map(|()| WorkspaceFiles::default()),
            };
            attempt(answer)
        }))
    }
}

/// The three in-process arms, ready for `octollm_orchestrator::app_with`.
pub fn in_process(reflex: Arc<Reflex>, planner: Arc<Planner>, executor: Arc<Executor>) -> ArmSet {
    ArmSet {
        screen: Some(Arc::new(LocalReflex(reflex))),
        plan: Some(Arc::new(LocalPlanner(planner))),
        tools: vec![(EXECUTOR.to_string(), Arc::new(LocalExecutor(executor)))],
    }
}
