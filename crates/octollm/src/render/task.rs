//! Tasks as text: the outcome block that ends `octollm run` and
//! `octollm tasks show`, the `tasks list` table, a task's step list, and
//! how an orchestrator error is shown.

use std::io::Write;

use octollm_orchestrator::ClientError;
use octollm_types::orchestrator::{StepStatus, TaskList, TaskView};
use octollm_types::task::TaskStatus;
use serde_json::{json, Value};

use crate::render::escape::Escaper;
use crate::render::human_ms;

/// Output, then `✓ completed in 1.2 s · 2 step(s) · …`, then the error.
pub fn outcome(out: &mut dyn Write, task: &TaskView) {
    if let Some(r) = &task.result {
        if !r.output.is_empty() {
            let _ = writeln!(out, "\nOutput:\n{}", r.output.trim_end());
        }
        let m = &r.metadata;
        // Steps that ran, the failed one too (`steps_executed` counts the
        // ones that completed); a cached answer ran none of its own.
        let ran = task
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Completed | StepStatus::Failed))
            .count()
            .max(m.steps_executed as usize);
        let _ = writeln!(
            out,
            "\n{} {} in {} · {} step(s) · {} tokens · ${:.4}{}",
            if task.status == TaskStatus::Completed {
                "✓"
            } else {
                "✗"
            },
            task.status.as_str(),
            human_ms(m.total_duration_ms),
            ran,
            m.tokens_used,
            m.cost_usd,
            match m.cache_age_seconds {
                Some(age) if m.cached => format!(" · cached ({age:.0} s old)"),
                _ if m.cached => " · cached".to_string(),
                _ => String::new(),
            }
        );
        // Each criterion, with how it was checked; an unverified one says why.
        for c in &m.criteria {
            let mark = match c.passed {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "?",
            };
            let _ = writeln!(
                out,
                "  {mark} criterion \"{}\" ({}): {}",
                c.criterion, c.method, c.reason
            );
        }
    } else {
        // A task still running has not failed: no cross until it ends.
        let mark = if task.status.is_terminal() {
            "✗"
        } else {
            "…"
        };
        let _ = writeln!(out, "\n{mark} {}", task.status.as_str());
    }
    if let Some(e) = &task.error {
        let _ = writeln!(out, "{}: {}", e.code, e.message);
    }
}

/// The `tasks list` table.
pub fn table(out: &mut dyn Write, list: &TaskList) {
    let _ = writeln!(
        out,
        "{:<36}  {:<10}  {:<24}  GOAL",
        "ID", "STATUS", "CREATED"
    );
    for t in &list.tasks {
        let goal: String = t.goal.chars().take(60).collect();
        let _ = writeln!(
            out,
            "{:<36}  {:<10}  {:<24}  {goal}",
            t.task_id,
            t.status.as_str(),
            t.created_at
        );
    }
    if list.tasks.is_empty() {
        let _ = writeln!(out, "(no tasks)");
    }
}

/// `tasks show`: the header and one line per step (the outcome follows).
pub fn detail(out: &mut dyn Write, t: &TaskView) {
    let _ = writeln!(
        out,
        "Task    {}\nStatus  {}\nGoal    {}\nCreated {}",
        t.task_id,
        t.status.as_str(),
        t.goal,
        t.created_at
    );
    for s in &t.steps {
        let mark = match s.status {
            StepStatus::Completed => "✓",
            StepStatus::Failed | StepStatus::Cancelled => "✗",
            StepStatus::Running => "…",
            StepStatus::AwaitingApproval => "⏸",
            _ => "·",
        };
        let dur = s
            .duration_ms
            .map(|d| format!("  ({})", human_ms(d)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {mark} [{}] {} — {}{dur}",
            s.step,
            s.action,
            s.status.as_str()
        );
        if let Some(e) = &s.error {
            let _ = writeln!(out, "      {e}");
        }
        if let Some(a) = &s.approval {
            if let Some(call) = a.request.call() {
                let line = call.command_line();
                let _ = writeln!(out, "      $ {}", Escaper::default().push(line.as_bytes()));
            }
            match &a.decision {
                None => {
                    let _ = writeln!(
                        out,
                        "      waits for approval (because of {}) until {}",
                        a.request.because.join(", "),
                        a.request.expires_at
                    );
                }
                Some(d) => {
                    let why = d
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "      {} by {} at {}{}",
                        d.decision.as_str(),
                        d.by,
                        d.at,
                        Escaper::default().push(why.as_bytes())
                    );
                }
            }
        }
    }
}

/// What to do about an error, when the CLI can tell.
pub fn hint(e: &ClientError) -> Option<&'static str> {
    match e {
        ClientError::Unreachable { .. } => Some(
            "nothing answers there: start OctoLLM with `octollm up` (or `octollm run GOAL`, \
             which starts an in-process system), or name a running orchestrator with --url URL",
        ),
        _ => None,
    }
}

/// `✗ CODE: message`, what to do about it, and the injection findings of a
/// rejected goal.
pub fn error(out: &mut dyn Write, e: &ClientError) {
    let _ = writeln!(out, "✗ {e}");
    if let Some(h) = hint(e) {
        let _ = writeln!(out, "  {h}");
    }
    let findings = e
        .envelope()
        .and_then(|env| env.error.details.pointer("/injections"))
        .and_then(Value::as_array);
    for f in findings.into_iter().flatten() {
        let _ = writeln!(
            out,
            "  - {} ({})",
            f.get("category").and_then(Value::as_str).unwrap_or("?"),
            f.get("severity").and_then(Value::as_str).unwrap_or("?")
        );
    }
}

/// The error as one JSON line: the server's envelope when it sent one.
pub fn error_json(out: &mut dyn Write, e: &ClientError) {
    let body = e
        .envelope()
        .and_then(|env| serde_json::to_value(env).ok())
        .unwrap_or_else(|| {
            let code = match e {
                ClientError::Unreachable { .. } => "ORCHESTRATOR_UNREACHABLE",
                _ => "CLI_ERROR",
            };
            let mut error = json!({"code": code, "message": e.to_string()});
            if let Some(h) = hint(e) {
                error["details"] = json!({"hint": h});
            }
            json!({ "error": error })
        });
    let _ = writeln!(out, "{body}");
}

/// An error the command line met itself (bad input, a goal it cannot
/// plan) as the SPEC §2 envelope, for `--json`; null `details` are left out.
pub fn cli_error_json(out: &mut dyn Write, code: &str, message: &str, details: &Value) {
    let mut error = json!({"code": code, "message": message});
    if !details.is_null() {
        error["details"] = details.clone();
    }
    let _ = writeln!(out, "{}", json!({ "error": error }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: &str) -> TaskView {
        serde_json::from_value(json!({
            "task_id": "t", "status": status, "goal": "g", "screened_goal": "g",
            "priority": 0, "budget": {"max_tokens": 1, "max_cost_usd": 0.0, "max_time_seconds": 1},
            "tokens_used": 0, "cost_usd": 0.0, "created_at": "x", "updated_at": "x"
        }))
        .unwrap()
    }

    fn shown(status: &str) -> String {
        let mut out = Vec::new();
        outcome(&mut out, &task(status));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_running_task_gets_no_failure_mark() {
        for open in ["pending", "planning", "executing"] {
            let text = shown(open);
            assert!(!text.contains('✗'), "{open}: {text:?}");
            assert!(text.contains(&format!("… {open}")), "{text:?}");
        }
        assert!(shown("failed").contains("✗ failed"));
        assert!(shown("cancelled").contains("✗ cancelled"));
    }

    #[test]
    fn a_failed_task_counts_the_step_that_failed() {
        let mut t = task("failed");
        let step = |n: u32, status: &str| {
            json!({"step": n, "action": "a", "required_arm": "executor", "status": status,
                   "attempts": 1})
        };
        t.steps = serde_json::from_value(json!([
            step(1, "completed"),
            step(2, "failed"),
            step(3, "skipped")
        ]))
        .unwrap();
        t.result = serde_json::from_value(json!({"output": "x", "metadata": {
            "steps_executed": 1, "total_duration_ms": 5, "tokens_used": 0, "cost_usd": 0.0,
            "cached": false}}))
        .unwrap();
        let mut out = Vec::new();
        outcome(&mut out, &t);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(" · 2 step(s) · "), "{text}");
    }
}
