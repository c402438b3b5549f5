//! The DAG: every step whose dependencies are done starts at once (unless
//! it waits for approval); the first failure stops the rest. Steps already finished by an earlier claim
//! are not run again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use octollm_types::orchestrator::StepStatus;
use octollm_types::plan::ToolCall;
use octollm_types::task::TaskStatus;
use serde_json::json;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::approval::Gate;
use super::step::{run_step, StepOutcome};
use super::{partial_result, Code, Finish, Revisable, Runner, Stop};
use crate::store::{now_ms, StepRow};

/// One stored step, decoded.
#[derive(Debug, Clone)]
pub(super) struct StepSpec {
    pub no: u32,
    pub action: String,
    pub arm: String,
    pub tool: Option<ToolCall>,
    pub deps: Vec<u32>,
}

impl StepSpec {
    pub(super) fn from_row(row: &StepRow) -> Result<StepSpec, serde_json::Error> {
        Ok(StepSpec {
            no: u32::try_from(row.step).unwrap_or(0),
            action: row.action.clone(),
            arm: row.required_arm.clone(),
            tool: row
                .tool_call
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            deps: serde_json::from_str(&row.depends_on)?,
        })
    }
}

impl Runner {
    /// A resumed task whose worker stopped while the task was failing (a
    /// step failed, the others were cancelled or skipped): the failure, as
    /// the live run would have ended with it. The failed step is the one
    /// to report, whatever order the others come in.
    async fn failed_before(&self, rows: &[StepRow]) -> Result<Option<Stop>, Stop> {
        let failed = rows.iter().find(|r| r.status() == StepStatus::Failed);
        let Some(row) = failed.or_else(|| {
            rows.iter()
                .find(|r| matches!(r.status(), StepStatus::Cancelled | StepStatus::Skipped))
        }) else {
            return Ok(None);
        };
        let msg = row.error.clone().unwrap_or_else(|| "step failed".into());
        let result =
            partial_result(&self.ctx, &self.task, self.tokens, self.cost, Vec::new()).await?;
        let mut finish = Finish::failed(Code::StepFailed, msg, result);
        // Stored errors read `CODE: message`.
        let code = row
            .error
            .as_deref()
            .and_then(|e| e.split_once(':'))
            .map(|(c, _)| c);
        if row.status() == StepStatus::Failed && code.is_none_or(Code::revisable_str) {
            let step = u32::try_from(row.step).unwrap_or(0);
            finish = finish.revisable(Revisable::Step(step));
        }
        Ok(Some(Stop::Finish(finish)))
    }

    /// Runs every unfinished step, independent ones concurrently. Returns
    /// each step's raw output. A step that needs approval waits while the
    /// others run; when only waiting steps are left the task is parked.
    pub(super) async fn execute(&mut self) -> Result<HashMap<u32, String>, Stop> {
        let core = self.ctx.core.clone();
        if self.task.status() != TaskStatus::Executing {
            self.enter(TaskStatus::Executing).await?;
        }
        let rows = self
            .ctx
            .persist(|| core.store.get_steps(&self.task.id))
            .await?;
        if let Some(stop) = self.failed_before(&rows).await? {
            return Err(stop);
        }
        let mut specs = BTreeMap::new();
        let mut outputs = HashMap::new();
        for row in &rows {
            let spec = StepSpec::from_row(row)?;
            if row.status() == StepStatus::Completed {
                outputs.insert(spec.no, row.output.clone().unwrap_or_default());
            }
            specs.insert(spec.no, spec);
        }
        let mut gates = self.gates().await?;
        let mut in_flight = HashSet::new();
        let mut set: JoinSet<(u32, StepOutcome)> = JoinSet::new();
        // Decisions made elsewhere are looked for this often while a step
        // waits and others run.
        let look_every = Duration::from_millis(core.config.poll_interval_ms.clamp(100, 1000));
        loop {
            for spec in specs.values() {
                let ready = !outputs.contains_key(&spec.no)
                    && !in_flight.contains(&spec.no)
                    && spec.deps.iter().all(|d| outputs.contains_key(d));
                if !ready {
                    continue;
                }
                let gate = match gates.get(&spec.no) {
                    Some(g) => g.clone(),
                    None => {
                        let g = self.gate(spec, &outputs).await?;
                        gates.insert(spec.no, g.clone());
                        g
                    }
                };
                let approval = match gate {
                    Gate::Waiting(_) => continue,
                    Gate::Refused(decision) => {
                        set.abort_all();
                        let (code, message) = self.refuse(spec, &decision).await?;
                        return Err(self.step_failed(code, message, spec.no).await?);
                    }
                    Gate::Run(approval) => approval,
                };
                in_flight.insert(spec.no);
                let ctx = self.ctx.clone();
                let spec = spec.clone();
                let inputs = outputs.clone();
                // A spawned step leaves the task's span unless given one
                // inside it.
                let span = tracing::info_span!("step", task_id = %ctx.task_id, step = spec.no,
                    action = %spec.action, arm = %spec.arm);
                set.spawn(
                    async move {
                        let no = spec.no;
                        (no, run_step(ctx, spec, inputs, approval).await)
                    }
                    .instrument(span),
                );
            }
            let now = now_ms();
            let lapsed: Vec<u32> = gates
                .iter()
                .filter(|(no, g)| {
                    matches!(g, Gate::Waiting(at) if *at <= now) && !outputs.contains_key(no)
                })
                .map(|(no, _)| *no)
                .collect();
            if !lapsed.is_empty() {
                for no in lapsed {
                    let gate = self.expire(no).await?;
                    gates.insert(no, gate);
                }
                continue;
            }
            let wake_at = gates
                .iter()
                .filter(|(no, _)| !outputs.contains_key(no))
                .filter_map(|(_, g)| match g {
                    Gate::Waiting(at) => Some(*at),
                    _ => None,
                })
                .min();
            let joined = match (wake_at, set.is_empty()) {
                (None, true) => break,
                (Some(at), true) => return Err(self.park(at).await),
                (None, false) => set.join_next().await,
                (Some(at), false) => {
                    let until_lapse = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                    tokio::select! {
                        joined = set.join_next() => joined,
                        () = tokio::time::sleep(look_every.min(until_lapse)) => {
                            gates = self.gates().await?;
                            continue;
                        }
                    }
                }
            };
            let Some(joined) = joined else {
                break;
            };
            let (no, outcome) = match joined {
                Ok(v) => v,
                Err(e) => (
                    0,
                    StepOutcome::Failed {
                        code: Code::Internal,
                        message: format!("a step runner stopped unexpectedly: {e}"),
                        step: 0,
                    },
                ),
            };
            in_flight.remove(&no);
            match outcome {
                StepOutcome::Done { raw } => {
                    outputs.insert(no, raw);
                }
                StepOutcome::Failed {
                    code,
                    message,
                    step,
                } => {
                    set.abort_all();
                    return Err(self.step_failed(code, message, step).await?);
                }
                StepOutcome::Stop(stop) => return Err(stop),
            }
        }
        if outputs.len() < specs.len() {
            return Err(Stop::Finish(Finish::failed(
                Code::InvalidPlan,
                "Some steps depend on steps that do not exist",
                None,
            )));
        }
        Ok(outputs)
    }

    /// How the task ends after step `step` failed with `code`: the steps
    /// still open are closed, what finished is kept as a partial result.
    async fn step_failed(&self, code: Code, message: String, step: u32) -> Result<Stop, Stop> {
        let why = format!("Stopped because step {step} failed");
        self.ctx
            .persist(|| {
                self.ctx.core.store.close_open_steps(
                    &self.task.id,
                    &self.ctx.owner,
                    StepStatus::Cancelled,
                    &why,
                )
            })
            .await?;
        let result =
            partial_result(&self.ctx, &self.task, self.tokens, self.cost, Vec::new()).await?;
        // A revised plan cannot bring back an arm that is down or mend the
        // orchestrator itself.
        let revisable = code.revisable();
        let mut finish = Finish::failed(code, message, result);
        if let Some(e) = finish.error.as_mut() {
            e.details = json!({"step": step});
        }
        if revisable {
            finish = finish.revisable(Revisable::Step(step));
        }
        Ok(Stop::Finish(finish))
    }
}
