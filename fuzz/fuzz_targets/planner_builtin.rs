//! The built-in planner on any goal, attached files, constraints and
//! criteria.
//!
//! It may refuse a goal, but a plan it writes must pass the project's own
//! validator on every rule the planner itself is responsible for:
//! numbering, dependencies (a DAG of earlier steps), arms, actions, tool
//! calls of allowlisted commands. Rules that judge what the *goal* asked
//! for (a host that is not allowed, an argument that is refused, shell
//! syntax or a reference typed into the goal) are the validator's to
//! report, and may fail. Planning is deterministic.

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use octollm_planner::builtin::BuiltinPlanner;
use octollm_planner::validate::{validate, Rules};
use octollm_policy::files::check_name;
use octollm_policy::{CommandPolicy, ExecPolicy, HostList, DEFAULT_COMMANDS};
use octollm_types::plan::PlanRequest;

/// The planner's default bound (`[planner] max_steps`).
const MAX_STEPS: u32 = 7;
/// The planner's default `max_goal_chars`: longer goals never reach it.
const MAX_GOAL_CHARS: usize = 10_000;

/// Rules a plan may break because of what the goal itself asked for.
const GOAL_RULES: &[&str] = &[
    "http_host_not_allowed",
    "http_scheme",
    "http_url",
    "argument_forbidden",
    "shell_syntax",
    "malformed_reference",
    "reference_order",
    "reference_without_dependency",
];

// The input is lines: the goal first, then `file:NAME`,
// `constraint:TEXT` and `criterion:TEXT` lines in any order (a line
// without a tag continues the goal).
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut req = PlanRequest {
        goal: lines.next().unwrap_or_default().to_string(),
        ..PlanRequest::default()
    };
    for line in lines {
        if let Some(name) = line.strip_prefix("file:") {
            // The orchestrator admits only these names.
            if check_name(name).is_ok() {
                req.files.push(name.to_string());
            }
        } else if let Some(c) = line.strip_prefix("constraint:") {
            req.constraints.push(c.to_string());
        } else if let Some(c) = line.strip_prefix("criterion:") {
            req.acceptance_criteria.push(c.to_string());
        } else {
            req.goal.push('\n');
            req.goal.push_str(line);
        }
    }
    // The planner turns these away before any planning.
    if req.goal.trim().is_empty() || req.goal.chars().count() > MAX_GOAL_CHARS {
        return;
    }
    let planner = BuiltinPlanner {
        allowed_commands: DEFAULT_COMMANDS.iter().map(|c| c.to_string()).collect(),
        max_steps: MAX_STEPS,
    };
    let planned = planner.plan(&req);
    assert_eq!(planned, planner.plan(&req), "planning is deterministic");
    let Ok(plan) = planned else { return };

    let policy = ExecPolicy {
        commands: CommandPolicy::new(DEFAULT_COMMANDS),
        hosts: HostList::new(["example.com", "*.example.org"]),
        allow_plain_http: false,
    };
    let arms: BTreeSet<String> = ["executor".to_string()].into();
    let rules = Rules::new(Some(&policy), &arms, MAX_STEPS);
    let broken: Vec<_> = validate(&plan, &rules)
        .into_iter()
        .filter(|i| !GOAL_RULES.contains(&i.rule))
        .collect();
    assert!(
        broken.is_empty(),
        "the built-in planner wrote an invalid plan for {:?}: {broken:#?}\n{plan:#?}",
        req.goal
    );
});
