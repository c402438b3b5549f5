//! Plans built by hand, for the suites that feed plans to the validator or
//! the executor: only what a test varies is a parameter, the rest is one
//! plausible value.

use octollm_types::plan::{Plan, PlanStep, ToolCall};

pub fn shell(command: &str, args: &[&str], stdin: Option<&str>) -> ToolCall {
    ToolCall::Shell {
        command: command.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: stdin.map(str::to_string),
    }
}

/// Step `no` on `arm`, running `call`, after the steps in `deps`.
pub fn step(no: u32, arm: &str, call: Option<ToolCall>, deps: &[u32]) -> PlanStep {
    PlanStep {
        step: no,
        action: format!("step {no}"),
        required_arm: arm.into(),
        tool_call: call,
        acceptance_criteria: vec![],
        depends_on: deps.to_vec(),
        estimated_cost_tier: 1,
        estimated_duration_seconds: 5,
    }
}

pub fn plan(steps: Vec<PlanStep>) -> Plan {
    Plan {
        plan: steps,
        rationale: String::new(),
        confidence: 0.9,
        total_estimated_duration: 5,
        complexity_score: 0.1,
        planner: "test".into(),
        usage: Default::default(),
    }
}
