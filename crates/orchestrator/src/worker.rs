//! The worker pool: claims tasks from the durable queue, keeps their leases
//! alive, enforces deadlines and cancellation, and records how each ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_types::orchestrator::StepStatus;
use octollm_types::task::TaskStatus;
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::core::Shared;
use crate::metrics::StatusLabels;
use crate::runner::{partial_result, Code, Ctx, Finish, Runner, Stop};
use crate::store::{now_ms, TaskFinish, TaskRow};

/// Stops the workers of one orchestrator gracefully.
pub struct Handle {
    core: Shared,
    stop_claims: watch::Sender<bool>,
    hard_stop: watch::Sender<bool>,
    workers: Mutex<Option<JoinSet<()>>>,
}

impl Handle {
    /// Stops claiming, gives running tasks `shutdown_grace_seconds` to
    /// finish, then stops the rest and releases their leases so another
    /// process can take them over at once.
    pub async fn shutdown(&self) {
        let _ = self.stop_claims.send(true);
        let Some(mut set) = self.workers.lock().take() else {
            return;
        };
        let grace = Duration::from_secs(self.core.config.shutdown_grace_seconds);
        let drained =
            tokio::time::timeout(grace, async { while set.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            let _ = self.hard_stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(10), async {
                while set.join_next().await.is_some() {}
            })
            .await;
        }
    }

    /// This process's id, the prefix of its lease owners.
    pub fn process_id(&self) -> &str {
        &self.core.process_id
    }
}

pub(crate) fn start(core: Shared) -> Handle {
    let (stop_claims, stop_rx) = watch::channel(false);
    let (hard_stop, hard_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for i in 0..core.config.workers {
        let owner = format!("{}/{i}", core.process_id);
        set.spawn(worker(
            core.clone(),
            owner,
            stop_rx.clone(),
            hard_rx.clone(),
        ));
    }
    set.spawn(gauges(core.clone(), stop_rx.clone()));
    set.spawn(recount_queue(core.clone(), stop_rx.clone()));
    if core.config.retention_days > 0 {
        set.spawn(retention(core.clone(), stop_rx));
    }
    Handle {
        core,
        stop_claims,
        hard_stop,
        workers: Mutex::new(Some(set)),
    }
}

async fn gauges(core: Shared, mut stop: watch::Receiver<bool>) {
    loop {
        if let Ok(n) = core.store.open_tasks().await {
            core.metrics.open_tasks.set(n);
        }
        core.arms.publish_breakers();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Sets admission control's count of waiting tasks from the store, every
/// second: it corrects what this process cannot see by itself.
async fn recount_queue(core: Shared, mut stop: watch::Receiver<bool>) {
    loop {
        match core.store.queued_tasks().await {
            Ok(n) => core.admission.recount(n),
            Err(e) => tracing::debug!(error = %e, "recounting the queue failed"),
        }
        core.metrics.queued_tasks.set(core.admission.queued());
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Erases finished tasks older than `retention_days`, now and every hour.
/// Any process may do it: a task erased twice is erased once.
async fn retention(core: Shared, mut stop: watch::Receiver<bool>) {
    let keep_ms =
        i64::try_from(core.config.retention_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    loop {
        let cutoff = crate::store::now_ms().saturating_sub(keep_ms);
        match core.store.erase_finished_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(target: "audit", erased = n, retention_days = core.config.retention_days, "finished tasks past retention erased")
            }
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; retrying in an hour"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn worker(
    core: Shared,
    owner: String,
    mut stop: watch::Receiver<bool>,
    hard: watch::Receiver<bool>,
) {
    let poll = Duration::from_millis(core.config.poll_interval_ms.max(10));
    loop {
        if *stop.borrow() {
            return;
        }
        match core.store.claim(&owner, core.config.lease()).await {
            Ok(Some(task)) => {
                core.metrics.claims.inc();
                if task.status == TaskStatus::Pending.as_str() {
                    core.admission.left();
                }
                // Everything done for the task, its end recorded included,
                // is in its span, in the trace it was submitted in.
                let span = tracing::info_span!("task", task_id = %task.id, trace_id = tracing::field::Empty);
                octollm_server::trace::resume(&span, task.traceparent.as_deref());
                run_claimed(&core, task, &owner, hard.clone())
                    .instrument(span)
                    .await;
            }
            Ok(None) => {
                tokio::select! {
                    _ = core.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                core.metrics.store_errors.inc();
                tracing::warn!(error = %e, "claiming a task failed");
                tokio::time::sleep(poll * 4).await;
            }
        }
    }
}

/// How one claim of a task came to an end, whichever side ended it.
enum Ending {
    // Boxed: a finished run carries the whole result, the others little.
    Finished(Box<Finish>),
    LeaseLost,
    Timeout,
    Cancelled,
    Shutdown,
    Parked,
    StoreFailed(crate::error::StoreError),
}

impl From<Result<Finish, Stop>> for Ending {
    fn from(r: Result<Finish, Stop>) -> Self {
        match r {
            Ok(f) | Err(Stop::Finish(f)) => Ending::Finished(Box::new(f)),
            Err(Stop::Timeout) => Ending::Timeout,
            Err(Stop::LeaseLost) => Ending::LeaseLost,
            Err(Stop::Store(e)) => Ending::StoreFailed(e),
            Err(Stop::Parked) => Ending::Parked,
        }
    }
}

async fn wait_true(rx: &mut watch::Receiver<bool>) {
    // A dropped sender never flips the switch.
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Keeps the lease; returns when it is lost. Flips `cancel` when a cancel
/// was requested through another process.
async fn keep_lease(ctx: &Ctx, cancel: &watch::Sender<bool>) {
    let core = &ctx.core;
    let (id, owner) = (ctx.task_id.as_str(), ctx.owner.as_str());
    let every = core.config.renew_every();
    loop {
        tokio::time::sleep(every).await;
        // Bounded: a store that is down makes the pool wait for a
        // connection, and the lease must be given up on time.
        let renewal = tokio::time::timeout(
            every.max(Duration::from_secs(1)),
            core.store.renew(id, owner, core.config.lease()),
        )
        .await;
        match renewal {
            Ok(Ok(Some(cancel_requested))) => {
                *ctx.lease_confirmed.lock() = Instant::now();
                if cancel_requested {
                    let _ = cancel.send(true);
                }
            }
            Ok(Ok(None)) => return,
            failed => {
                core.metrics.store_errors.inc();
                let error = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_string(),
                };
                tracing::warn!(task_id = %id, error, "lease renewal failed");
                // Past the lease another worker may already run the task.
                if ctx.lease_confirmed.lock().elapsed() >= core.config.lease() {
                    return;
                }
            }
        }
    }
}

async fn run_claimed(core: &Shared, task: TaskRow, owner: &str, mut hard: watch::Receiver<bool>) {
    let id = task.id.clone();
    let (cancel_tx, mut cancel_rx) = watch::channel(task.cancel_requested != 0);
    core.running.lock().insert(id.clone(), cancel_tx.clone());
    core.metrics.running_tasks.inc();
    let left = Duration::from_millis(u64::try_from(task.deadline_at - now_ms()).unwrap_or(0));
    let ctx = Arc::new(Ctx {
        core: core.clone(),
        task_id: id.clone(),
        owner: owner.to_string(),
        deadline: Instant::now() + left,
        allowed_hosts: task.narrowed_hosts(),
        vault_id: task.vault_id.clone(),
        lease_confirmed: Mutex::new(Instant::now()),
    });
    let ending = {
        let run = Runner::new(ctx.clone(), task.clone()).run();
        tokio::pin!(run);
        let lease = keep_lease(&ctx, &cancel_tx);
        tokio::pin!(lease);
        tokio::select! {
            biased;
            _ = wait_true(&mut cancel_rx) => Ending::Cancelled,
            _ = tokio::time::sleep_until(ctx.deadline.into()) => Ending::Timeout,
            _ = wait_true(&mut hard) => Ending::Shutdown,
            _ = &mut lease => Ending::LeaseLost,
            r = &mut run => Ending::from(r),
        }
    };
    let finish = match ending {
        Ending::Finished(f) => Some(*f),
        Ending::Timeout => Some(
            stopped(
                &ctx,
                &task,
                TaskStatus::Failed,
                Code::Timeout,
                timeout_message(&task),
            )
            .await,
        ),
        Ending::Cancelled => Some(
            stopped(
                &ctx,
                &task,
                TaskStatus::Cancelled,
                Code::Cancelled,
                "The task was cancelled by request".into(),
            )
            .await,
        ),
        Ending::LeaseLost => {
            core.metrics.leases_lost.inc();
            tracing::warn!(task_id = %id, "lease lost; another worker owns the task");
            None
        }
        Ending::StoreFailed(e) => {
            core.metrics.store_errors.inc();
            tracing::error!(task_id = %id, error = %e, "store failed mid-task; the lease will lapse and the task resume");
            None
        }
        // The run gave the task back itself; a decision or a lapsed
        // request queues it again.
        Ending::Parked => None,
        Ending::Shutdown => {
            if let Err(e) = core.store.release(&id, owner).await {
                tracing::warn!(task_id = %id, error = %e, "could not release the lease");
            }
            None
        }
    };
    if let Some(f) = finish {
        record(&ctx, &task, f).await;
    }
    core.running.lock().remove(&id);
    core.metrics.running_tasks.dec();
}

fn timeout_message(task: &TaskRow) -> String {
    format!(
        "The task exceeded its deadline of {} s; the running step was stopped",
        task.max_time_seconds
    )
}

/// The end of a task stopped from outside its run: open steps are closed
/// and whatever finished is kept as a partial result.
async fn stopped(
    ctx: &Ctx,
    task: &TaskRow,
    status: TaskStatus,
    code: Code,
    message: String,
) -> Finish {
    let store = &ctx.core.store;
    let step_status = if status == TaskStatus::Cancelled {
        StepStatus::Cancelled
    } else {
        StepStatus::Failed
    };
    if let Err(e) = ctx
        .persist(|| store.close_open_steps(&task.id, &ctx.owner, step_status, &message))
        .await
    {
        tracing::warn!(task_id = %task.id, error = %e, "could not close open steps");
    }
    let (tokens, cost) = match ctx.persist(|| store.get_task(&task.id)).await {
        Ok(Some(t)) => (u64::try_from(t.tokens_used).unwrap_or(0), t.cost_usd),
        _ => (u64::try_from(task.tokens_used).unwrap_or(0), task.cost_usd),
    };
    let result = partial_result(ctx, task, tokens, cost, Vec::new())
        .await
        .ok()
        .flatten();
    Finish::ended(status, code, message, result)
}

async fn record(ctx: &Ctx, task: &TaskRow, f: Finish) {
    let core = &ctx.core;
    // What the steps left behind is kept before the end is recorded, so a
    // reader who sees the end sees the artifacts.
    crate::files::collect(ctx, task).await;
    let result_json = f
        .result
        .as_ref()
        .and_then(|r| serde_json::to_string(r).ok());
    let error_json = f.error.as_ref().and_then(|e| serde_json::to_string(e).ok());
    let finish = TaskFinish {
        // Only ends are recorded here; an open status would be a bug upstream.
        status: match f.status {
            TaskStatus::Completed => TaskStatus::Completed,
            TaskStatus::Cancelled => TaskStatus::Cancelled,
            _ => TaskStatus::Failed,
        },
        result: result_json,
        error: error_json,
        error_code: f.error.as_ref().map(|e| e.code.clone()),
        finished_at: now_ms(),
    };
    if f.status != TaskStatus::Completed {
        let why = f
            .error
            .as_ref()
            .map_or("The task stopped", |e| e.message.as_str());
        if let Err(e) = ctx
            .persist(|| {
                core.store
                    .close_open_steps(&task.id, &ctx.owner, StepStatus::Cancelled, why)
            })
            .await
        {
            tracing::warn!(task_id = %task.id, error = %e, "could not close open steps");
        }
    }
    let status = finish.status.as_str();
    let kind = format!("task.{status}");
    let data = json!({"status": status, "result": f.result, "error": f.error}).to_string();
    match ctx
        .persist(|| {
            core.store
                .finish_task(&task.id, &ctx.owner, &finish, &kind, &data)
        })
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            core.metrics.leases_lost.inc();
            return;
        }
        Err(e) => {
            core.metrics.store_errors.inc();
            tracing::error!(task_id = %task.id, error = %e, "could not record the end of the task");
            return;
        }
    }
    let _ = core.events.send(Arc::from(task.id.as_str()));
    core.metrics
        .finished
        .get_or_create(&StatusLabels {
            status: status.to_string(),
        })
        .inc();
    if finish.error_code.as_deref() == Some(Code::BudgetExceeded.as_str()) {
        core.metrics.budget_exceeded.inc();
    }
    core.metrics
        .task_duration
        .observe(((finish.finished_at - task.created_at).max(0) as f64) / 1000.0);
    tracing::info!(task_id = %task.id, status, "task finished");
}
