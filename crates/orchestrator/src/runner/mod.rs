//! Runs one claimed task: plan, the step DAG, verification, the result.
//!
//! | module | stage |
//! |---|---|
//! | [`planning`] | ask the planner, re-validate its plan with the shared validator, store it |
//! | [`schedule`] | run the DAG: every ready step at once, in dependency order |
//! | [`approval`] | steps that wait for a person: ask, wait, park, act on the decision |
//! | [`step`] | one step's I/O: references, token, the tool arm, screening its output |
//! | [`verify`] | acceptance criteria, the LLM judge, the result |
//!
//! Everything it learns is written to the store before it moves on, so a
//! worker that takes the task over after a crash starts from the last
//! finished step. Deadlines, cancellation and lost leases are the worker's
//! business: it drops this future, which aborts whatever is in flight.

mod approval;
pub mod codes;
mod planning;
mod replan;
mod schedule;
mod step;
mod verify;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_types::orchestrator::{CriterionOutcome, TaskError, TaskResult};
use octollm_types::task::TaskStatus;
use parking_lot::Mutex;
use serde_json::Value;

use crate::core::Shared;
use crate::error::StoreError;
use crate::store::TaskRow;

pub(crate) use codes::{Code, StepError};
pub(crate) use step::screen;
pub(crate) use verify::partial_result;

/// How a task ends.
#[derive(Debug, Clone)]
pub(crate) struct Finish {
    pub status: TaskStatus,
    pub result: Option<TaskResult>,
    pub error: Option<TaskError>,
    /// A failure a revised plan might get past; `None` for the ones it
    /// cannot (deadline, budget, cancellation, an arm that is down).
    pub revisable: Option<Revisable>,
}

/// What failed, for the planner that revises the plan.
#[derive(Debug, Clone)]
pub(crate) enum Revisable {
    /// This step failed.
    Step(u32),
    /// Every step finished, but these criteria were not all met.
    Criteria(Vec<CriterionOutcome>),
}

impl Finish {
    pub fn failed(code: Code, message: impl Into<String>, result: Option<TaskResult>) -> Self {
        Finish::ended(TaskStatus::Failed, code, message, result)
    }

    pub fn ended(
        status: TaskStatus,
        code: Code,
        message: impl Into<String>,
        result: Option<TaskResult>,
    ) -> Self {
        Finish {
            status,
            result,
            error: Some(TaskError {
                code: code.as_str().to_string(),
                message: message.into(),
                details: Value::Null,
            }),
            revisable: None,
        }
    }

    pub fn revisable(mut self, what: Revisable) -> Self {
        self.revisable = Some(what);
        self
    }
}

/// Why a run stopped before producing a [`Finish`] of its own.
#[derive(Debug)]
pub(crate) enum Stop {
    Finish(Finish),
    /// The deadline passed inside a step; the worker records the timeout.
    Timeout,
    /// Another worker owns the task now: write nothing more.
    LeaseLost,
    /// The store failed; the lease will lapse and the task be resumed.
    Store(StoreError),
    /// Every runnable step waits for a person: the task is parked, the
    /// lease given back, and a decision or a lapsed request brings it back.
    Parked,
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

impl From<serde_json::Error> for Stop {
    fn from(e: serde_json::Error) -> Self {
        Stop::Store(StoreError::Json(e))
    }
}

/// A fenced store write found the lease gone.
#[derive(Debug)]
pub(crate) struct LeaseLost;

impl From<LeaseLost> for Stop {
    fn from(_: LeaseLost) -> Self {
        Stop::LeaseLost
    }
}

/// A fenced store write: `false` means the lease is gone.
fn fenced(written: bool) -> Result<(), LeaseLost> {
    if written {
        Ok(())
    } else {
        Err(LeaseLost)
    }
}

/// What one claim of a task works with.
pub(crate) struct Ctx {
    pub core: Shared,
    pub task_id: String,
    pub owner: String,
    pub deadline: Instant,
    /// The hosts the task narrowed its fetches to, if it did: carried in
    /// every step's token and checked against every plan.
    pub allowed_hosts: Option<Vec<String>>,
    /// The vault entry behind the goal's placeholders, if it has any.
    pub vault_id: Option<String>,
    /// When the store last confirmed the lease (the claim, then each
    /// renewal): until a lease's length after it no other worker can own
    /// the task.
    pub lease_confirmed: Mutex<Instant>,
}

/// First and largest pause between two tries of a store call that failed
/// transiently.
const STORE_RETRY_FIRST: Duration = Duration::from_millis(100);
const STORE_RETRY_MAX: Duration = Duration::from_secs(2);

impl Ctx {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Runs one store call on behalf of the claimed task, waiting out a
    /// store that is briefly away (restarting, unreachable, locked, full):
    /// a transient failure is tried again, with backoff, for as long as
    /// the lease may still be this worker's. Giving up sooner would make
    /// the task wait out its lease and then run its current step again;
    /// past the lease another worker may own the task, and the writes are
    /// fenced by the lease owner anyway.
    pub async fn persist<T, F, Fut>(&self, mut call: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut pause = STORE_RETRY_FIRST;
        loop {
            match call().await {
                Err(e) if e.is_transient() && self.lease_may_hold(pause) => {
                    self.core.metrics.store_errors.inc();
                    tracing::warn!(task_id = %self.task_id, error = %e, retry_in_ms = pause.as_millis() as u64, "store unavailable; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(STORE_RETRY_MAX);
                }
                other => return other,
            }
        }
    }

    /// Whether, after waiting `wait`, the lease may still be held.
    fn lease_may_hold(&self, wait: Duration) -> bool {
        self.lease_confirmed.lock().elapsed() + wait < self.core.config.lease()
    }

    pub async fn event(&self, kind: &str, status: TaskStatus, step: Option<u32>, data: Value) {
        let written = self
            .persist(|| {
                self.core.event(
                    &self.task_id,
                    kind,
                    status.as_str(),
                    step.map(i64::from),
                    data.clone(),
                )
            })
            .await;
        if let Err(e) = written {
            // Events are progress reports; losing one must not fail the task.
            self.core.metrics.store_errors.inc();
            tracing::warn!(task_id = %self.task_id, error = %e, "event not recorded");
        }
    }

    /// The `on_retry` hook of an arm call: one `kind` event per retry, with
    /// `fields` and the attempt, the error and the delay before the next.
    pub fn retry_events(
        self: &Arc<Self>,
        kind: &'static str,
        status: TaskStatus,
        step: Option<u32>,
        fields: Value,
    ) -> impl FnMut(u32, String, Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let ctx = Arc::clone(self);
        move |attempt, error, delay| {
            let ctx = Arc::clone(&ctx);
            let mut data = fields.clone();
            data["attempt"] = attempt.into();
            data["error"] = error.into();
            data["delay_ms"] = (delay.as_millis() as u64).into();
            Box::pin(async move { ctx.event(kind, status, step, data).await })
        }
    }
}

pub(crate) struct Runner {
    ctx: Arc<Ctx>,
    task: TaskRow,
    /// Names of the task's input files, for the planner.
    files: Vec<String>,
    tokens: u64,
    cost: f64,
}

impl Runner {
    pub fn new(ctx: Arc<Ctx>, task: TaskRow) -> Runner {
        let tokens = u64::try_from(task.tokens_used).unwrap_or(0);
        let cost = task.cost_usd;
        Runner {
            ctx,
            task,
            files: Vec::new(),
            tokens,
            cost,
        }
    }

    pub async fn run(mut self) -> Result<Finish, Stop> {
        if self.over_budget() {
            return Err(self.budget_exceeded(Vec::new()).await);
        }
        self.files = self
            .ctx
            .persist(|| self.ctx.core.store.file_names(&self.task.id))
            .await?;
        self.plan().await?;
        // Only a task with files reads their bytes back.
        let uploaded = if self.files.is_empty() {
            Ok(())
        } else {
            crate::files::upload_inputs(&self.ctx.core, &self.task.id).await
        };
        if let Err(e) = uploaded {
            return Ok(Finish::failed(
                Code::ArmUnavailable,
                format!("The task's input files could not be put in its workspace: {e}"),
                None,
            ));
        }
        // Each round runs what is left of the current plan; a failure a
        // revised plan might get past asks the planner for one, within
        // `max_replans` and the budget, and the next round runs it.
        loop {
            let finish = match self.execute().await {
                Ok(outputs) => self.verify_and_finish(outputs).await?,
                Err(Stop::Finish(f)) => f,
                Err(stop) => return Err(stop),
            };
            if !self.revise(&finish).await? {
                // An attempt at a revision may have cost tokens since the
                // result was made: it reports what the task spent in all.
                let mut finish = finish;
                if let Some(r) = finish.result.as_mut() {
                    r.metadata.tokens_used = self.tokens;
                    r.metadata.cost_usd = self.cost;
                }
                return Ok(finish);
            }
        }
    }

    fn max_tokens(&self) -> u64 {
        u64::try_from(self.task.max_tokens).unwrap_or(0)
    }

    fn over_budget(&self) -> bool {
        self.tokens > self.max_tokens() || self.cost > self.task.max_cost_usd
    }

    async fn budget_exceeded(&self, criteria: Vec<CriterionOutcome>) -> Stop {
        let result =
            match partial_result(&self.ctx, &self.task, self.tokens, self.cost, criteria).await {
                Ok(r) => r,
                Err(e) => return Stop::Store(e),
            };
        Stop::Finish(Finish::failed(
            Code::BudgetExceeded,
            format!(
                "The task's budget is exhausted: {} tokens and ${:.4} used of {} tokens and ${:.4}",
                self.tokens,
                self.cost,
                self.max_tokens(),
                self.task.max_cost_usd
            ),
            result,
        ))
    }

    /// Moves the claimed task to `status` (fenced by the lease) and says so
    /// on its event stream.
    async fn enter(&mut self, status: TaskStatus) -> Result<(), Stop> {
        let written = self
            .ctx
            .persist(|| {
                self.ctx
                    .core
                    .store
                    .set_status(&self.task.id, &self.ctx.owner, status)
            })
            .await?;
        fenced(written)?;
        // The claimed row is this run's view of the task: a later round
        // (after a revision) must see that it left `executing`.
        self.task.status = status.as_str().to_string();
        self.ctx
            .event(
                "task.status",
                status,
                None,
                serde_json::json!({"status": status.as_str()}),
            )
            .await;
        Ok(())
    }

    async fn add_usage(&mut self, tokens: u64, cost: f64) -> Result<(), Stop> {
        self.tokens += tokens;
        self.cost += cost;
        self.ctx.core.metrics.llm_tokens.inc_by(tokens);
        self.ctx.core.metrics.llm_cost.inc_by(cost);
        let (tokens, cost) = (i64::try_from(self.tokens).unwrap_or(i64::MAX), self.cost);
        let stored = self
            .ctx
            .persist(|| {
                self.ctx
                    .core
                    .store
                    .set_usage(&self.task.id, &self.ctx.owner, tokens, cost)
            })
            .await?;
        Ok(fenced(stored)?)
    }
}
