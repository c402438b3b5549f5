//! A plan as a readable tree for `octollm plan`.

use std::fmt::Write;

use octollm_types::plan::{Plan, ToolCall};

/// Quotes an argument when it would be ambiguous unquoted.
/// A tool call as the command line a person would type, with where its
/// stdin comes from.
pub fn command_line(call: &ToolCall) -> String {
    let mut s = call.command_line();
    if let ToolCall::Shell {
        stdin: Some(input), ..
    } = call
    {
        let _ = write!(s, "  < {input}");
    }
    s
}

/// ```text
/// Plan (builtin, 2 steps, confidence 0.90)
/// ├─ 1. List files in /tmp   [executor]
/// │     $ ls -1 /tmp
/// └─ 2. Count them   [executor]  after 1
///       $ wc -l  < {{step_1.output}}
/// ```
pub fn render_tree(plan: &Plan) -> String {
    let mut out = String::new();
    let n = plan.plan.len();
    let _ = writeln!(
        out,
        "Plan ({}, {} step{}, confidence {:.2})",
        if plan.planner.is_empty() {
            "unknown"
        } else {
            &plan.planner
        },
        n,
        if n == 1 { "" } else { "s" },
        plan.confidence
    );
    for (i, step) in plan.plan.iter().enumerate() {
        let last = i + 1 == n;
        let (branch, cont) = if last {
            ("└─", "  ")
        } else {
            ("├─", "│ ")
        };
        let deps = if step.depends_on.is_empty() {
            String::new()
        } else {
            format!(
                "  after {}",
                step.depends_on
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            out,
            "{branch} {}. {}   [{}]{deps}",
            step.step, step.action, step.required_arm
        );
        if let Some(call) = &step.tool_call {
            let _ = writeln!(out, "{cont}    $ {}", command_line(call));
        }
    }
    if !plan.rationale.is_empty() {
        let _ = writeln!(out, "Rationale: {}", plan.rationale);
    }
    if plan.usage.total_tokens() > 0 {
        let _ = writeln!(
            out,
            "Usage: {} prompt + {} completion tokens, ${:.6}",
            plan.usage.prompt_tokens, plan.usage.completion_tokens, plan.usage.cost_usd
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_documented_tree() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "plan": [
                {"step": 1, "action": "List files in /tmp", "required_arm": "executor",
                 "tool_call": {"action_type": "shell", "command": "ls", "args": ["-1", "/tmp"]}},
                {"step": 2, "action": "Count them", "required_arm": "executor", "depends_on": [1],
                 "tool_call": {"action_type": "shell", "command": "wc", "args": ["-l"],
                               "stdin": "{{step_1.output}}"}}],
            "confidence": 0.9, "planner": "builtin", "rationale": "it's two steps"}))
        .unwrap();
        assert_eq!(
            render_tree(&plan),
            "Plan (builtin, 2 steps, confidence 0.90)\n\
             ├─ 1. List files in /tmp   [executor]\n\
             │     $ ls -1 /tmp\n\
             └─ 2. Count them   [executor]  after 1\n\
             \x20     $ wc -l  < {{step_1.output}}\n\
             Rationale: it's two steps\n"
        );
    }

    #[test]
    fn quotes_only_what_needs_it() {
        let call = ToolCall::Shell {
            command: "echo".into(),
            args: vec!["a b".into(), "it's".into(), "".into(), "x=1".into()],
            stdin: None,
        };
        assert_eq!(command_line(&call), r"echo 'a b' 'it'\''s' '' x=1");
        let http = ToolCall::Http {
            method: "GET".into(),
            url: "https://example.com".into(),
        };
        assert_eq!(command_line(&http), "GET https://example.com");
    }
}
