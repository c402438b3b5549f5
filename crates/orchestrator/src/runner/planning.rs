//! Planning: ask the planner arm once, check its plan with the same
//! validator the planner used, and store it. A resumed task reuses the
//! stored plan, so a crash never makes a task plan twice. Revisions of a
//! failed plan (`replan`) go through the same call and the same check.

use std::collections::BTreeSet;

use octollm_policy::plan::{validate, Rules};
use octollm_types::plan::{Plan, PlanRequest, Replan, Usage};
use octollm_types::task::TaskStatus;
use serde_json::json;

use super::{Code, Finish, Runner, Stop};
use crate::arms::{ArmError, EXECUTOR};
use crate::store::NewStep;

/// The orchestrator refuses only absurd plans by size; the planner applies
/// the configured step bounds itself.
const MAX_PLAN_STEPS: u32 = 64;

impl Runner {
    pub(super) async fn plan(&mut self) -> Result<(), Stop> {
        let core = self.ctx.core.clone();
        let stored = self
            .ctx
            .persist(|| core.store.get_plan(&self.task.id))
            .await?;
        if stored.is_some() {
            return Ok(());
        }
        self.enter(TaskStatus::Planning).await?;
        let req = self.plan_request(None)?;
        let plan = self.ask_planner(&req).await?;
        self.check(&plan).await?;
        let (plan_json, steps) = (serde_json::to_string(&plan)?, new_steps(&plan)?);
        self.ctx
            .persist(|| {
                core.store
                    .save_plan(&self.task.id, &plan_json, &plan.planner, &steps)
            })
            .await?;
        self.ctx
            .event(
                "task.plan",
                TaskStatus::Planning,
                None,
                json!({"plan": plan}),
            )
            .await;
        self.add_usage(plan.usage.total_tokens(), plan.usage.cost_usd)
            .await?;
        if self.over_budget() {
            return Err(self.budget_exceeded(Vec::new()).await);
        }
        Ok(())
    }

    /// The planner's request for this task: the screened goal and its
    /// constraints, and `replan` when a failed plan is to be revised.
    pub(super) fn plan_request(
        &self,
        replan: Option<Replan>,
    ) -> Result<PlanRequest, serde_json::Error> {
        Ok(PlanRequest {
            goal: self.task.screened_goal.clone(),
            constraints: serde_json::from_str(&self.task.constraints)?,
            context: serde_json::from_str(&self.task.context)?,
            acceptance_criteria: serde_json::from_str(&self.task.acceptance_criteria)?,
            available_arms: Some(self.ctx.core.arms.tool_names()),
            files: self.files.clone(),
            replan,
        })
    }

    /// One call to the planner arm; its refusals end the task. What a
    /// refused plan's model calls cost (`details.usage`) is still the
    /// task's to pay.
    pub(super) async fn ask_planner(&mut self, req: &PlanRequest) -> Result<Plan, Stop> {
        let core = &self.ctx.core;
        let Some((reg, planner)) = core.arms.planner() else {
            return Err(Stop::Finish(Finish::failed(
                Code::PlannerUnavailable,
                "no planner arm is registered",
                None,
            )));
        };
        let reply = core
            .arms
            .call(
                reg,
                core.config.arm_timeout(),
                Some(self.ctx.deadline),
                |timeout| planner.plan(req, timeout),
                self.ctx.retry_events(
                    "task.retrying",
                    TaskStatus::Planning,
                    None,
                    json!({"arm": "planner"}),
                ),
            )
            .await;
        match reply {
            Ok(p) => Ok(p),
            Err(ArmError::Deadline { .. }) => Err(Stop::Timeout),
            Err(ArmError::Refused { refusal, .. }) => {
                if let Some(usage) = refusal
                    .details
                    .get("usage")
                    .and_then(|u| serde_json::from_value::<Usage>(u.clone()).ok())
                {
                    self.add_usage(usage.total_tokens(), usage.cost_usd).await?;
                }
                let code = if refusal.code.starts_with("HTTP_") {
                    Code::PlanningFailed
                } else {
                    Code::Remote(refusal.code)
                };
                Err(Stop::Finish(Finish::failed(code, refusal.message, None)))
            }
            Err(e) => Err(Stop::Finish(Finish::failed(
                Code::PlannerUnavailable,
                e.to_string(),
                None,
            ))),
        }
    }

    /// The shared validator, against the arms registered here and the
    /// executor's policy when it can tell it.
    pub(super) async fn check(&self, plan: &Plan) -> Result<(), Stop> {
        let core = &self.ctx.core;
        let tool_arms = core.arms.tool_names();
        let mut policy = match core.arms.tool(EXECUTOR) {
            Some((_, arm)) => arm.policy().await,
            None => None,
        };
        // A task that narrowed its hosts plans against the narrower list,
        // so a fetch outside it is refused before anything runs.
        if let (Some(p), Some(task_hosts)) = (policy.as_mut(), &self.ctx.allowed_hosts) {
            let within: Vec<&String> = task_hosts.iter().filter(|h| p.hosts.covers(h)).collect();
            p.hosts = octollm_policy::HostList::new(within);
        }
        let registered: BTreeSet<String> = tool_arms.iter().cloned().collect();
        let rules = Rules::new(policy.as_ref(), &registered, MAX_PLAN_STEPS);
        let issues = validate(plan, &rules);
        if issues.is_empty() {
            return Ok(());
        }
        let code = if issues.iter().all(|i| i.rule == "unknown_arm") {
            Code::UnknownArm
        } else {
            Code::InvalidPlan
        };
        let text = issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Err(Stop::Finish(Finish::failed(
            code,
            format!("The plan is not valid: {text}"),
            None,
        )))
    }
}

/// The store rows of a plan's steps.
pub(super) fn new_steps(plan: &Plan) -> Result<Vec<NewStep>, serde_json::Error> {
    plan.plan
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
        .collect()
}
