//! Runs one claimed task: plan, the step DAG, verification, the result.
//!
//! Everything it learns is written to the store before it moves on, so a
//! worker that takes the task over after a crash starts from the last
//! finished step. Deadlines, cancellation and lost leases are the worker's
//! business: it drops this future, which aborts whatever is in flight.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_types::exec::{ExecuteRequest, ExecuteResponse};
use octollm_types::orchestrator::{CriterionOutcome, ResultMetadata, TaskError, TaskResult};
use octollm_types::plan::{Plan, PlanRequest, ToolCall};
use octollm_types::reflex::{ProcessRequest, ProcessResponse};
use octollm_types::task::TaskStatus;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::arms::{ArmError, Reply};
use crate::core::Shared;
use crate::error::StoreError;
use crate::metrics::StatusLabels;
use crate::store::{now_ms, NewStep, StepFinish, StepRow, TaskRow};
use crate::{caps, criteria, judge, refs};

/// How a task ends.
#[derive(Debug, Clone)]
pub(crate) struct Finish {
    pub status: TaskStatus,
    pub result: Option<TaskResult>,
    pub error: Option<TaskError>,
}

impl Finish {
    pub fn failed(code: &str, message: impl Into<String>, result: Option<TaskResult>) -> Self {
        Finish {
            status: TaskStatus::Failed,
            result,
            error: Some(TaskError {
                code: code.to_string(),
                message: message.into(),
                details: Value::Null,
            }),
        }
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

/// What one claim of a task works with.
pub(crate) struct Ctx {
    pub core: Shared,
    pub task_id: String,
    pub owner: String,
    pub deadline: Instant,
}

impl Ctx {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub async fn event(&self, kind: &str, status: &str, step: Option<u32>, data: Value) {
        if let Err(e) = self
            .core
            .event(&self.task_id, kind, status, step.map(i64::from), data)
            .await
        {
            // Events are progress reports; losing one must not fail the task.
            self.core.metrics.store_errors.inc();
            tracing::warn!(task_id = %self.task_id, error = %e, "event not recorded");
        }
    }
}

#[derive(Debug, Clone)]
struct StepSpec {
    no: u32,
    action: String,
    arm: String,
    tool: Option<ToolCall>,
    deps: Vec<u32>,
}

impl StepSpec {
    fn from_row(row: &StepRow) -> Result<StepSpec, serde_json::Error> {
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

enum StepOutcome {
    Done { raw: String },
    Failed(TaskError),
    Stop(Stop),
}

pub(crate) struct Runner {
    ctx: Arc<Ctx>,
    task: TaskRow,
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
            tokens,
            cost,
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
            "BUDGET_EXCEEDED",
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

    async fn add_usage(&mut self, tokens: u64, cost: f64) -> Result<(), Stop> {
        self.tokens += tokens;
        self.cost += cost;
        self.ctx.core.metrics.llm_tokens.inc_by(tokens);
        self.ctx.core.metrics.llm_cost.inc_by(cost);
        let stored = self
            .ctx
            .core
            .store
            .set_usage(
                &self.task.id,
                &self.ctx.owner,
                i64::try_from(self.tokens).unwrap_or(i64::MAX),
                self.cost,
            )
            .await?;
        if stored {
            Ok(())
        } else {
            Err(Stop::LeaseLost)
        }
    }

    pub async fn run(mut self) -> Result<Finish, Stop> {
        if self.over_budget() {
            return Err(self.budget_exceeded(Vec::new()).await);
        }
        self.plan().await?;
        let outputs = self.execute().await?;
        self.verify_and_finish(outputs).await
    }

    /// Plans once; a resumed task reuses the stored plan.
    async fn plan(&mut self) -> Result<(), Stop> {
        let core = self.ctx.core.clone();
        if core.store.get_plan(&self.task.id).await?.is_some() {
            return Ok(());
        }
        if !core
            .store
            .set_status(&self.task.id, &self.ctx.owner, "planning")
            .await?
        {
            return Err(Stop::LeaseLost);
        }
        self.ctx
            .event(
                "task.status",
                "planning",
                None,
                json!({"status": "planning"}),
            )
            .await;
        let req = PlanRequest {
            goal: self.task.screened_goal.clone(),
            constraints: serde_json::from_str(&self.task.constraints)?,
            context: serde_json::from_str(&self.task.context)?,
            acceptance_criteria: serde_json::from_str(&self.task.acceptance_criteria)?,
            available_arms: None,
        };
        let ctx = self.ctx.clone();
        let reply = core
            .arms
            .call(
                &core.arms.planner,
                "/api/v1/plan",
                &req,
                core.config.arm_timeout(),
                Some(self.ctx.deadline),
                |attempt, error, delay| {
                    let ctx = ctx.clone();
                    async move {
                        ctx.event(
                            "task.retrying",
                            "planning",
                            None,
                            json!({"arm": "planner", "attempt": attempt, "error": error, "delay_ms": delay.as_millis() as u64}),
                        )
                        .await;
                    }
                },
            )
            .await;
        let reply = match reply {
            Ok(r) => r,
            Err(ArmError::Deadline { .. }) => return Err(Stop::Timeout),
            Err(e) => {
                return Err(Stop::Finish(Finish::failed(
                    "PLANNER_UNAVAILABLE",
                    e.to_string(),
                    None,
                )))
            }
        };
        if reply.status != 200 {
            let code = reply.error_code().unwrap_or("PLANNING_FAILED").to_string();
            return Err(Stop::Finish(Finish::failed(
                &code,
                reply.error_message(),
                None,
            )));
        }
        let plan: Plan = match serde_json::from_value(reply.body) {
            Ok(p) => p,
            Err(e) => {
                return Err(Stop::Finish(Finish::failed(
                    "INVALID_PLAN",
                    format!("The planner's answer is not a plan: {e}"),
                    None,
                )))
            }
        };
        if let Err(msg) = check_plan(&plan) {
            return Err(Stop::Finish(Finish::failed("INVALID_PLAN", msg, None)));
        }
        let steps: Vec<NewStep> = plan
            .plan
            .iter()
            .map(|s| {
                Ok(NewStep {
                    step: i64::from(s.step),
                    action: s.action.clone(),
                    required_arm: s.required_arm.clone(),
                    tool_call: s
                        .tool_call
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()?,
                    depends_on: serde_json::to_string(&s.depends_on)?,
                })
            })
            .collect::<Result<_, serde_json::Error>>()?;
        core.store
            .save_plan(
                &self.task.id,
                &serde_json::to_string(&plan)?,
                &plan.planner,
                &steps,
            )
            .await?;
        self.ctx
            .event("task.plan", "planning", None, json!({"plan": plan}))
            .await;
        self.add_usage(plan.usage.total_tokens(), plan.usage.cost_usd)
            .await?;
        if self.over_budget() {
            return Err(self.budget_exceeded(Vec::new()).await);
        }
        Ok(())
    }

    /// Runs every unfinished step, independent ones concurrently. Returns
    /// each step's raw output.
    async fn execute(&mut self) -> Result<HashMap<u32, String>, Stop> {
        let core = self.ctx.core.clone();
        if self.task.status != "executing" {
            if !core
                .store
                .set_status(&self.task.id, &self.ctx.owner, "executing")
                .await?
            {
                return Err(Stop::LeaseLost);
            }
            self.ctx
                .event(
                    "task.status",
                    "executing",
                    None,
                    json!({"status": "executing"}),
                )
                .await;
        }
        let rows = core.store.get_steps(&self.task.id).await?;
        let mut specs = BTreeMap::new();
        let mut outputs = HashMap::new();
        for row in &rows {
            let spec = StepSpec::from_row(row)?;
            match row.status.as_str() {
                "completed" | "skipped" => {
                    outputs.insert(spec.no, row.output.clone().unwrap_or_default());
                }
                "failed" | "cancelled" => {
                    // The task was about to fail when its worker stopped.
                    let msg = row.error.clone().unwrap_or_else(|| "step failed".into());
                    let result =
                        partial_result(&self.ctx, &self.task, self.tokens, self.cost, Vec::new())
                            .await?;
                    return Err(Stop::Finish(Finish::failed("STEP_FAILED", msg, result)));
                }
                _ => {}
            }
            specs.insert(spec.no, spec);
        }
        let mut in_flight = HashSet::new();
        let mut set: JoinSet<(u32, StepOutcome)> = JoinSet::new();
        loop {
            for spec in specs.values() {
                let ready = !outputs.contains_key(&spec.no)
                    && !in_flight.contains(&spec.no)
                    && spec.deps.iter().all(|d| outputs.contains_key(d));
                if ready {
                    in_flight.insert(spec.no);
                    let ctx = self.ctx.clone();
                    let spec = spec.clone();
                    let inputs = outputs.clone();
                    set.spawn(async move {
                        let no = spec.no;
                        (no, run_step(ctx, spec, inputs).await)
                    });
                }
            }
            let Some(joined) = set.join_next().await else {
                break;
            };
            let (no, outcome) = match joined {
                Ok(v) => v,
                Err(e) => (
                    0,
                    StepOutcome::Failed(TaskError {
                        code: "INTERNAL_ERROR".into(),
                        message: format!("a step runner stopped unexpectedly: {e}"),
                        details: Value::Null,
                    }),
                ),
            };
            in_flight.remove(&no);
            match outcome {
                StepOutcome::Done { raw } => {
                    outputs.insert(no, raw);
                }
                StepOutcome::Failed(err) => {
                    set.abort_all();
                    core.store
                        .close_open_steps(
                            &self.task.id,
                            "cancelled",
                            &format!("Stopped because step {no} failed"),
                        )
                        .await?;
                    let result =
                        partial_result(&self.ctx, &self.task, self.tokens, self.cost, Vec::new())
                            .await?;
                    return Err(Stop::Finish(Finish {
                        status: TaskStatus::Failed,
                        result,
                        error: Some(err),
                    }));
                }
                StepOutcome::Stop(stop) => return Err(stop),
            }
        }
        if outputs.len() < specs.len() {
            return Err(Stop::Finish(Finish::failed(
                "INVALID_PLAN",
                "Some steps depend on steps that do not exist",
                None,
            )));
        }
        Ok(outputs)
    }

    async fn verify_and_finish(&mut self, outputs: HashMap<u32, String>) -> Result<Finish, Stop> {
        let core = self.ctx.core.clone();
        let rows = core.store.get_steps(&self.task.id).await?;
        let sink = sink_step(&rows);
        let raw = sink
            .and_then(|n| outputs.get(&n))
            .cloned()
            .unwrap_or_default();
        let display = sink
            .and_then(|n| rows.iter().find(|r| r.step == i64::from(n)))
            .and_then(|r| r.display_output.clone())
            .unwrap_or_default();
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
        }
        let result = TaskResult {
            output: display,
            metadata: ResultMetadata {
                steps_executed: rows.iter().filter(|r| r.status == "completed").count() as u32,
                total_duration_ms: u64::try_from(now_ms() - self.task.created_at).unwrap_or(0),
                tokens_used: self.tokens,
                cost_usd: self.cost,
                cached: false,
                criteria: outcomes.clone(),
            },
        };
        let failed: Vec<&CriterionOutcome> = outcomes
            .iter()
            .filter(|o| o.passed == Some(false))
            .collect();
        if let Some(first) = failed.first() {
            return Ok(Finish::failed(
                "ACCEPTANCE_FAILED",
                format!(
                    "{} acceptance criterion(s) not met; first: '{}' ({})",
                    failed.len(),
                    first.criterion,
                    first.reason
                ),
                Some(result),
            ));
        }
        Ok(Finish {
            status: TaskStatus::Completed,
            result: Some(result),
            error: None,
        })
    }

    async fn judge(
        &mut self,
        output: &str,
        wanted: &[String],
        so_far: &[CriterionOutcome],
    ) -> Result<Vec<CriterionOutcome>, Stop> {
        let Some(client) = self.ctx.core.judge.clone() else {
            return Ok(wanted.iter().map(|c| criteria::unchecked(c)).collect());
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

/// Structural checks the orchestrator relies on, whoever wrote the plan.
fn check_plan(plan: &Plan) -> Result<(), String> {
    if plan.plan.is_empty() {
        return Err("The plan has no steps".into());
    }
    let mut seen = HashSet::new();
    for s in &plan.plan {
        if s.step == 0 || !seen.insert(s.step) {
            return Err(format!("Step number {} is invalid or repeated", s.step));
        }
        if let Some(d) = s.depends_on.iter().find(|d| **d >= s.step) {
            return Err(format!(
                "Step {} depends on step {d}, which is not earlier",
                s.step
            ));
        }
        let mut texts = Vec::new();
        match &s.tool_call {
            Some(ToolCall::Shell { args, stdin, .. }) => {
                texts.extend(args.iter().cloned());
                texts.extend(stdin.iter().cloned());
            }
            Some(ToolCall::Http { url, .. }) => texts.push(url.clone()),
            None => {}
        }
        for r in texts.iter().flat_map(|t| refs::referenced_steps(t)) {
            if r >= s.step {
                return Err(format!(
                    "Step {} refers to the output of step {r}, which is not earlier",
                    s.step
                ));
            }
        }
    }
    Ok(())
}

/// The step whose output is the task's: the last step nothing depends on.
fn sink_step(rows: &[StepRow]) -> Option<u32> {
    let deps: HashSet<u32> = rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<u32>>(&r.depends_on).unwrap_or_default())
        .collect();
    rows.iter()
        .filter_map(|r| u32::try_from(r.step).ok())
        .filter(|n| !deps.contains(n))
        .max()
}

/// The result of a task that stopped early: the last finished step's output.
pub(crate) async fn partial_result(
    ctx: &Ctx,
    task: &TaskRow,
    tokens: u64,
    cost: f64,
    criteria: Vec<CriterionOutcome>,
) -> Result<Option<TaskResult>, StoreError> {
    let rows = ctx.core.store.get_steps(&task.id).await?;
    let done: Vec<&StepRow> = rows.iter().filter(|r| r.status == "completed").collect();
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
            criteria,
        },
    }))
}

fn command_line(call: &ToolCall) -> String {
    match call {
        ToolCall::Shell { command, args, .. } => {
            let mut s = command.clone();
            for a in args {
                s.push(' ');
                if a.is_empty() || a.contains(char::is_whitespace) {
                    s.push_str(&format!("'{a}'"));
                } else {
                    s.push_str(a);
                }
            }
            s
        }
        ToolCall::Http { method, url } => format!("{method} {url}"),
    }
}

fn truncate(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

async fn run_step(ctx: Arc<Ctx>, spec: StepSpec, inputs: HashMap<u32, String>) -> StepOutcome {
    let core = ctx.core.clone();
    let id = ctx.task_id.clone();
    let step = i64::from(spec.no);
    let attempt = match core.store.start_step(&id, step, &ctx.owner).await {
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
        Err(msg) => return fail_step(&ctx, &spec, 0, "INVALID_PLAN", msg).await,
    };
    ctx.event(
        "step.started",
        "executing",
        Some(spec.no),
        json!({"step": spec.no, "action": spec.action, "arm": spec.arm, "attempt": attempt,
               "command": resolved.as_ref().map(command_line)}),
    )
    .await;
    let started = Instant::now();
    let outcome = match &resolved {
        None => Ok((String::new(), None)),
        Some(call) if spec.arm == "executor" || core.arms.by_name(&spec.arm).is_none() => {
            execute(&ctx, &spec, call).await
        }
        Some(_) => Err((
            "UNSUPPORTED_ARM".to_string(),
            format!("Arm '{}' does not run tool calls", spec.arm),
        )),
    };
    let (raw, provenance) = match outcome {
        Ok(v) => v,
        Err((code, msg)) if code == "TIMEOUT" => {
            let _ = msg;
            return StepOutcome::Stop(Stop::Timeout);
        }
        Err((code, msg)) => {
            return fail_step(
                &ctx,
                &spec,
                started.elapsed().as_millis() as i64,
                &code,
                msg,
            )
            .await
        }
    };
    let raw = truncate(&raw, core.config.max_output_bytes as usize);
    let display = screen_output(&ctx, &raw).await;
    let duration = started.elapsed();
    let finish = StepFinish {
        status: "completed",
        output: Some(raw.clone()),
        display_output: Some(display.clone()),
        error: None,
        provenance: provenance.map(|p| p.to_string()),
        finished_at: now_ms(),
        duration_ms: duration.as_millis() as i64,
    };
    match core.store.finish_step(&id, step, &ctx.owner, &finish).await {
        Ok(true) => {}
        Ok(false) => return StepOutcome::Stop(Stop::LeaseLost),
        Err(e) => return StepOutcome::Stop(Stop::Store(e)),
    }
    core.metrics
        .steps
        .get_or_create(&StatusLabels {
            status: "completed".into(),
        })
        .inc();
    core.metrics.step_duration.observe(duration.as_secs_f64());
    ctx.event(
        "step.completed",
        "executing",
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
    code: &str,
    message: String,
) -> StepOutcome {
    let finish = StepFinish {
        status: "failed",
        output: None,
        display_output: None,
        error: Some(format!("{code}: {message}")),
        provenance: None,
        finished_at: now_ms(),
        duration_ms,
    };
    match ctx
        .core
        .store
        .finish_step(&ctx.task_id, i64::from(spec.no), &ctx.owner, &finish)
        .await
    {
        Ok(true) => {}
        Ok(false) => return StepOutcome::Stop(Stop::LeaseLost),
        Err(e) => return StepOutcome::Stop(Stop::Store(e)),
    }
    ctx.core
        .metrics
        .steps
        .get_or_create(&StatusLabels {
            status: "failed".into(),
        })
        .inc();
    ctx.event(
        "step.failed",
        "executing",
        Some(spec.no),
        json!({"step": spec.no, "action": spec.action, "duration_ms": duration_ms, "error": {"code": code, "message": message}}),
    )
    .await;
    StepOutcome::Failed(TaskError {
        code: code.to_string(),
        message: format!("Step {} ({}) failed: {message}", spec.no, spec.action),
        details: json!({"step": spec.no}),
    })
}

type ExecResult = Result<(String, Option<Value>), (String, String)>;

/// Runs one tool call on the executor: `(output, provenance)` or `(code, message)`.
async fn execute(ctx: &Arc<Ctx>, spec: &StepSpec, call: &ToolCall) -> ExecResult {
    let core = &ctx.core;
    // Leave the executor time to answer its own timeout before the deadline.
    let remaining = ctx.remaining().saturating_sub(Duration::from_millis(250));
    if remaining < Duration::from_millis(100) {
        return Err(("TIMEOUT".into(), "deadline reached".into()));
    }
    let step_timeout = remaining
        .as_secs_f64()
        .min(core.config.step_timeout_seconds.max(0.1));
    let token = match &core.token_secret {
        Some(secret) => {
            let ttl = step_timeout.ceil() as i64 + core.config.token_ttl_seconds as i64;
            match caps::token_for(secret, &ctx.task_id, call, ttl) {
                Ok(t) => Some(t),
                Err(e) => return Err(("INTERNAL_ERROR".into(), format!("capability token: {e}"))),
            }
        }
        None => None,
    };
    let mut req = match call {
        ToolCall::Shell {
            command,
            args,
            stdin,
        } => ExecuteRequest {
            action_type: "shell".into(),
            command: command.clone(),
            args: args.clone(),
            stdin: stdin.clone(),
            method: None,
            url: None,
            timeout_seconds: None,
            capability_token: None,
        },
        ToolCall::Http { method, url } => ExecuteRequest {
            action_type: "http".into(),
            command: String::new(),
            args: Vec::new(),
            stdin: None,
            method: Some(method.clone()),
            url: Some(url.clone()),
            timeout_seconds: None,
            capability_token: None,
        },
    };
    req.timeout_seconds = Some((step_timeout * 1000.0).floor() / 1000.0);
    req.capability_token = token;
    let hook_ctx = ctx.clone();
    let no = spec.no;
    let reply = core
        .arms
        .call(
            &core.arms.executor,
            "/api/v1/execute",
            &req,
            Duration::from_secs_f64(step_timeout + 5.0),
            Some(ctx.deadline),
            move |attempt, error, delay| {
                let ctx = hook_ctx.clone();
                async move {
                    ctx.event(
                        "step.retrying",
                        "executing",
                        Some(no),
                        json!({"step": no, "arm": "executor", "attempt": attempt, "error": error, "delay_ms": delay.as_millis() as u64}),
                    )
                    .await;
                }
            },
        )
        .await;
    let reply: Reply = match reply {
        Ok(r) => r,
        Err(ArmError::Deadline { .. }) => {
            return Err(("TIMEOUT".into(), "deadline reached".into()))
        }
        Err(e) => return Err(("ARM_UNAVAILABLE".into(), e.to_string())),
    };
    let resp: ExecuteResponse = match serde_json::from_value(reply.body.clone()) {
        Ok(r) => r,
        Err(_) => {
            return Err((
                reply.error_code().unwrap_or("EXECUTOR_ERROR").to_string(),
                reply.error_message(),
            ))
        }
    };
    if reply.status == 200 && resp.success {
        let prov = resp
            .provenance
            .as_ref()
            .and_then(|p| serde_json::to_value(p).ok());
        return Ok((resp.output, prov));
    }
    if reply.status == 408 || resp.timed_out {
        if ctx.remaining() < Duration::from_millis(500) {
            return Err(("TIMEOUT".into(), "deadline reached".into()));
        }
        return Err((
            "STEP_TIMEOUT".into(),
            resp.error.unwrap_or_else(|| "the command timed out".into()),
        ));
    }
    let code = resp
        .error_code
        .clone()
        .unwrap_or_else(|| "STEP_FAILED".into());
    let mut message = resp
        .error
        .clone()
        .unwrap_or_else(|| format!("the executor answered HTTP {}", reply.status));
    let stderr = resp.stderr.trim();
    if !stderr.is_empty() {
        message = format!("{message}: {}", truncate(stderr, 500));
    }
    Err((code, message))
}

/// The output as users may see it: PII and secrets redacted by the reflex layer.
async fn screen_output(ctx: &Ctx, raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    let core = &ctx.core;
    let mut req = ProcessRequest::new(raw);
    req.check_injection = false;
    req.use_cache = false;
    let reply = core
        .arms
        .call(
            &core.arms.reflex,
            "/api/v1/reflex/process",
            &req,
            core.config.arm_timeout().min(Duration::from_secs(10)),
            Some(ctx.deadline),
            crate::arms::no_retry_hook,
        )
        .await;
    let screened = match reply {
        Ok(r) if r.status == 200 => serde_json::from_value::<ProcessResponse>(r.body)
            .ok()
            .map(|p| p.redacted_text.unwrap_or_else(|| raw.to_string())),
        _ => None,
    };
    match screened {
        Some(s) => s,
        None if core.config.reflex_fail_open => raw.to_string(),
        None => "[output withheld: the reflex layer could not screen it]".to_string(),
    }
}
