//! Verification: the acceptance criteria (deterministic matchers first,
//! the LLM judge for the rest), and the task's result.

use std::collections::{HashMap, HashSet};

use octollm_types::orchestrator::{CriterionOutcome, ResultMetadata, StepStatus, TaskResult};
use octollm_types::task::TaskStatus;

use super::{Code, Ctx, Finish, Revisable, Runner, Stop};
use crate::error::StoreError;
use crate::store::{now_ms, StepRow, TaskRow};
use crate::{criteria, judge};

impl Runner {
    pub(super) async fn verify_and_finish(
        &mut self,
        outputs: HashMap<u32, String>,
    ) -> Result<Finish, Stop> {
        let core = self.ctx.core.clone();
        let rows = self
            .ctx
            .persist(|| core.store.get_steps(&self.task.id))
            .await?;
        let (raw, display) = task_output(&rows, &outputs);
        let wanted: Vec<String> = serde_json::from_str(&self.task.acceptance_criteria)?;
        let mut outcomes = Vec::with_capacity(wanted.len());
        let mut for_judge = Vec::new();
        for c in &wanted {
            match criteria::check(c, &raw) {
                Some(o) => outcomes.push(o),
                None => for_judge.push(c.clone()),
            }
        }
        if !for_judge.is_empty() {
            outcomes.extend(self.judge(&display, &for_judge, &outcomes).await?);
            // Report them in the order the task gave them.
            outcomes.sort_by_key(|o| wanted.iter().position(|w| *w == o.criterion));
        }
        let result = TaskResult {
            output: display,
            metadata: ResultMetadata {
                steps_executed: rows
                    .iter()
                    .filter(|r| r.status() == StepStatus::Completed)
                    .count() as u32,
                total_duration_ms: u64::try_from(now_ms() - self.task.created_at).unwrap_or(0),
                tokens_used: self.tokens,
                cost_usd: self.cost,
                cached: false,
                cached_from: None,
                cache_age_seconds: None,
                criteria: outcomes.clone(),
            },
        };
        let failed: Vec<&CriterionOutcome> = outcomes
            .iter()
            .filter(|o| o.passed == Some(false))
            .collect();
        if let Some(first) = failed.first() {
            return Ok(Finish::failed(
                Code::AcceptanceFailed,
                format!(
                    "{} acceptance criterion(s) not met; first: '{}' ({})",
                    failed.len(),
                    first.criterion,
                    first.reason
                ),
                Some(result),
            )
            .revisable(Revisable::Criteria(outcomes)));
        }
        Ok(Finish {
            status: TaskStatus::Completed,
            result: Some(result),
            error: None,
            revisable: None,
        })
    }

    async fn judge(
        &mut self,
        output: &str,
        wanted: &[String],
        so_far: &[CriterionOutcome],
    ) -> Result<Vec<CriterionOutcome>, Stop> {
        let Some(client) = self.ctx.core.judge.clone() else {
            return Ok(wanted.iter().map(|c| criteria::unverified(c)).collect());
        };
        let prompt = judge::prompt(&self.task.screened_goal, output, wanted);
        let reply_cap: u64 = 256;
        let would_use = judge::estimate_tokens(&prompt) + reply_cap;
        if self.tokens + would_use > self.max_tokens() || self.cost >= self.task.max_cost_usd {
            return Err(self.budget_exceeded(so_far.to_vec()).await);
        }
        let timeout = self.ctx.remaining().min(self.ctx.core.config.arm_timeout());
        match judge::judge(&client, prompt, wanted, reply_cap as u32, timeout).await {
            Ok((outcomes, usage)) => {
                self.add_usage(usage.total_tokens(), usage.cost_usd).await?;
                if self.over_budget() {
                    let mut all = so_far.to_vec();
                    all.extend(outcomes);
                    return Err(self.budget_exceeded(all).await);
                }
                Ok(outcomes)
            }
            Err(e) => Ok(wanted
                .iter()
                .map(|c| CriterionOutcome {
                    criterion: c.clone(),
                    method: "llm_judge".into(),
                    passed: None,
                    reason: format!("the LLM judge was unavailable: {e}"),
                })
                .collect()),
        }
    }
}

/// The steps whose output is the task's: every step nothing depends on, in
/// plan order. A step another step consumed is an intermediate; a step
/// nothing consumed is something the goal asked to see ("echo Hello and
/// then show the date" wants both).
fn sink_steps(rows: &[StepRow]) -> Vec<&StepRow> {
    let deps: HashSet<u32> = rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<u32>>(&r.depends_on).unwrap_or_default())
        .collect();
    let mut sinks: Vec<&StepRow> = rows
        .iter()
        .filter(|r| u32::try_from(r.step).is_ok_and(|n| !deps.contains(&n)))
        .collect();
    sinks.sort_by_key(|r| r.step);
    sinks
}

/// The task's output: raw (what criteria are checked on) and as shown.
/// One sink step's output stands alone; several are shown one after the
/// other, each under a label naming its step, and checked together.
fn task_output(rows: &[StepRow], outputs: &HashMap<u32, String>) -> (String, String) {
    let sinks = sink_steps(rows);
    let raw_of = |r: &StepRow| {
        u32::try_from(r.step)
            .ok()
            .and_then(|n| outputs.get(&n))
            .cloned()
            .unwrap_or_default()
    };
    let shown_of = |r: &StepRow| r.display_output.clone().unwrap_or_default();
    match sinks.as_slice() {
        [] => (String::new(), String::new()),
        [one] => (raw_of(one), shown_of(one)),
        many => {
            let raw: Vec<String> = many.iter().map(|r| raw_of(r)).collect();
            let shown: Vec<String> = many
                .iter()
                .map(|r| format!("[step {}] {}\n{}", r.step, r.action, shown_of(r)))
                .collect();
            (join_lines(&raw), join_lines(&shown))
        }
    }
}

/// Outputs one after the other, each ending in a newline.
fn join_lines(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| {
            if p.ends_with('\n') || p.is_empty() {
                p.clone()
            } else {
                format!("{p}\n")
            }
        })
        .collect()
}

/// The result of a task that stopped early: the last finished step's output.
pub(crate) async fn partial_result(
    ctx: &Ctx,
    task: &TaskRow,
    tokens: u64,
    cost: f64,
    criteria: Vec<CriterionOutcome>,
) -> Result<Option<TaskResult>, StoreError> {
    let rows = ctx.persist(|| ctx.core.store.get_steps(&task.id)).await?;
    let done: Vec<&StepRow> = rows
        .iter()
        .filter(|r| r.status() == StepStatus::Completed)
        .collect();
    if done.is_empty() && tokens == 0 {
        return Ok(None);
    }
    Ok(Some(TaskResult {
        output: done
            .last()
            .and_then(|r| r.display_output.clone())
            .unwrap_or_default(),
        metadata: ResultMetadata {
            steps_executed: done.len() as u32,
            total_duration_ms: u64::try_from(now_ms() - task.created_at).unwrap_or(0),
            tokens_used: tokens,
            cost_usd: cost,
            cached: false,
            cached_from: None,
            cache_age_seconds: None,
            criteria,
        },
    }))
}
