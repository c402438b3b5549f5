//! Live progress of one task for `octollm run`: plain lines, plus a
//! spinner line redrawn in place when the output is a terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use octollm_types::orchestrator::{ApprovalRequest, TaskEvent, TaskView};
use octollm_types::task::TaskStatus;
use serde_json::Value;

use crate::render::escape::Escaper;
use crate::render::task;

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Erases the current terminal line (the spinner).
const CLEAR_LINE: &str = "\r\x1b[2K";

struct Running {
    action: String,
    started: Instant,
}

/// Turns task events into progress lines.
pub struct Progress<'a> {
    out: &'a mut dyn Write,
    tty: bool,
    quiet: bool,
    frame: usize,
    running: BTreeMap<u32, Running>,
    actions: BTreeMap<u32, String>,
    planning: Option<Instant>,
    spinner_shown: bool,
}

impl<'a> Progress<'a> {
    /// `tty` turns the spinner on; `quiet` prints nothing but the final
    /// task as JSON (`--json`).
    pub fn new(out: &'a mut dyn Write, tty: bool, quiet: bool) -> Self {
        Progress {
            out,
            tty: tty && !quiet,
            quiet,
            frame: 0,
            running: BTreeMap::new(),
            actions: BTreeMap::new(),
            planning: None,
            spinner_shown: false,
        }
    }

    fn clear_spinner(&mut self) {
        if self.spinner_shown {
            let _ = write!(self.out, "{CLEAR_LINE}");
            self.spinner_shown = false;
        }
    }

    /// One line of progress, above the spinner.
    pub fn line(&mut self, s: &str) {
        if self.quiet {
            return;
        }
        self.clear_spinner();
        let _ = writeln!(self.out, "{s}");
        self.spin();
    }

    /// A question on the current line, the spinner stopped, for the
    /// answer to be typed after it.
    pub fn prompt(&mut self, s: &str) {
        if self.quiet {
            return;
        }
        self.clear_spinner();
        let _ = write!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// Redraws the spinner with what is running and for how long.
    pub fn spin(&mut self) {
        if !self.tty || self.quiet {
            return;
        }
        let label = if let Some((n, r)) = self.running.iter().next() {
            let more = if self.running.len() > 1 {
                format!(" (+{} more)", self.running.len() - 1)
            } else {
                String::new()
            };
            format!(
                "[{n}] {}{more}  {:.1}s",
                r.action,
                r.started.elapsed().as_secs_f64()
            )
        } else if let Some(p) = self.planning {
            format!("planning…  {:.1}s", p.elapsed().as_secs_f64())
        } else {
            return;
        };
        self.frame = (self.frame + 1) % SPINNER.len();
        let _ = write!(self.out, "{CLEAR_LINE}{} {label}", SPINNER[self.frame]);
        let _ = self.out.flush();
        self.spinner_shown = true;
    }

    pub fn event(&mut self, ev: &TaskEvent) {
        let d = &ev.data;
        let step = ev.step.unwrap_or(0);
        match ev.kind.as_str() {
            "task.status" if ev.status == TaskStatus::Planning => {
                self.planning = Some(Instant::now());
                self.line("Planning…");
            }
            "task.plan" => {
                self.planning = None;
                self.plan(d);
            }
            "task.replanning" => {
                let n = d.get("revision").and_then(Value::as_u64).unwrap_or(0);
                self.line(&format!(
                    "↻ Asking for revision {n} of the plan after {}: {}",
                    str_at(d, "/reason/code"),
                    str_at(d, "/reason/message")
                ));
            }
            "task.replanned" => {
                self.planning = None;
                let kept: Vec<String> = d
                    .get("kept_steps")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(ToString::to_string).collect())
                    .unwrap_or_default();
                if !kept.is_empty() {
                    self.line(&format!(
                        "  finished step(s) {} kept, not run again",
                        kept.join(", ")
                    ));
                }
                self.plan(d);
            }
            "task.replan_failed" => {
                self.planning = None;
                self.line(&format!(
                    "✗ The plan could not be revised: {}",
                    str_at(d, "/error/message")
                ));
            }
            "step.started" => {
                let action = str_at(d, "/action").to_string();
                let cmd = str_at(d, "/command");
                self.running.insert(
                    step,
                    Running {
                        action: action.clone(),
                        started: Instant::now(),
                    },
                );
                if !self.tty {
                    self.line(&format!("… [{step}] {action}  $ {cmd}"));
                } else {
                    self.spin();
                }
            }
            "approval_requested" => self.approval(step, d),
            "approval_decided" => {
                let by = str_at(d, "/approval/by");
                let what = str_at(d, "/approval/decision");
                self.line(&format!("  [{step}] {what} by {by}"));
            }
            "step.retrying" => {
                let err = str_at(d, "/error");
                let attempt = d.get("attempt").and_then(Value::as_u64).unwrap_or(0);
                self.line(&format!("  ↻ [{step}] retry {attempt}: {err}"));
            }
            "step.completed" | "step.failed" => {
                self.running.remove(&step);
                let action = d
                    .get("action")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| self.actions.get(&step).cloned())
                    .unwrap_or_default();
                let took = crate::render::human_ms(
                    d.get("duration_ms").and_then(Value::as_u64).unwrap_or(0),
                );
                if ev.kind == "step.completed" {
                    self.line(&format!("✓ [{step}] {action}  ({took})"));
                } else {
                    let msg = d
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("failed");
                    self.line(&format!("✗ [{step}] {action}  ({took}) — {msg}"));
                }
            }
            _ => {}
        }
    }

    /// An `approval_requested` event: the step exactly as it would run,
    /// escaped, since a plan's text may come from a model.
    fn approval(&mut self, step: u32, d: &Value) {
        let Ok(req) = serde_json::from_value::<ApprovalRequest>(d.clone()) else {
            self.line(&format!("⏸ [{step}] waits for approval"));
            return;
        };
        let Some(call) = req.call() else {
            self.line(&format!("⏸ [{step}] waits for approval"));
            return;
        };
        let safe = |s: &str| Escaper::default().push(s.as_bytes()).replace('\n', "\\n");
        let stdin = match req.stdin.source.as_str() {
            "steps" => {
                let from: Vec<String> = req.stdin.steps.iter().map(u32::to_string).collect();
                format!(
                    ", stdin: output of step {} ({} bytes)",
                    from.join(", "),
                    req.stdin.bytes
                )
            }
            "text" => format!(", stdin: {} bytes of text", req.stdin.bytes),
            _ => String::new(),
        };
        self.line(&format!(
            "⏸ [{step}] {} waits for approval\n    $ {}\n    needs {}{}; because of {}",
            safe(&req.action),
            safe(&call.command_line()),
            req.capabilities.join(", "),
            stdin,
            req.because.join(", ")
        ));
    }

    /// The plan of a `task.plan` event, one line per step.
    fn plan(&mut self, d: &Value) {
        let steps = d
            .pointer("/plan/plan")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let planner = str_at(d, "/plan/planner");
        self.line(&format!(
            "Plan ({} step{}, {planner} planner):",
            steps.len(),
            if steps.len() == 1 { "" } else { "s" }
        ));
        for s in steps {
            let n = u32::try_from(s.get("step").and_then(Value::as_u64).unwrap_or(0)).unwrap_or(0);
            let action = str_at(&s, "/action").to_string();
            let deps: Vec<String> = s
                .get("depends_on")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_u64)
                        .map(|d| d.to_string())
                        .collect()
                })
                .unwrap_or_default();
            let after = if deps.is_empty() {
                String::new()
            } else {
                format!("  (after {})", deps.join(", "))
            };
            self.actions.insert(n, action.clone());
            self.line(&format!("  {n}. {action}{after}"));
        }
    }

    /// Ends the progress with the task's outcome (or, quiet, the task as JSON).
    pub fn finish(&mut self, task: &TaskView) {
        self.running.clear();
        self.planning = None;
        self.clear_spinner();
        if self.quiet {
            let _ = writeln!(
                self.out,
                "{}",
                serde_json::to_string_pretty(task).unwrap_or_default()
            );
        } else {
            task::outcome(self.out, task);
        }
    }
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(kind: &str, status: &str, step: Option<u32>, data: Value) -> TaskEvent {
        serde_json::from_value(json!({"seq": 1, "task_id": "t", "kind": kind,
            "status": status, "step": step, "data": data, "at": "now"}))
        .unwrap()
    }

    fn events() -> Vec<TaskEvent> {
        let plan = json!({"plan": {"planner": "builtin", "plan": [
            {"step": 1, "action": "List", "depends_on": []},
            {"step": 2, "action": "Count", "depends_on": [1]}]}});
        vec![
            ev("task.status", "planning", None, json!({})),
            ev("task.plan", "executing", None, plan),
            ev(
                "step.started",
                "executing",
                Some(1),
                json!({"action": "List", "command": "ls -1 /tmp"}),
            ),
            ev(
                "step.retrying",
                "executing",
                Some(1),
                json!({"attempt": 1, "error": "busy"}),
            ),
            ev(
                "step.completed",
                "executing",
                Some(1),
                json!({"duration_ms": 12}),
            ),
            ev(
                "step.started",
                "executing",
                Some(2),
                json!({"action": "Count", "command": "wc -l"}),
            ),
            ev(
                "step.failed",
                "executing",
                Some(2),
                json!({"action": "Count", "duration_ms": 1500,
                "error": {"message": "boom"}}),
            ),
        ]
    }

    fn render(tty: bool, quiet: bool) -> String {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, tty, quiet);
        p.line("Task t");
        for e in events() {
            p.event(&e);
            p.spin();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_output_has_no_spinner() {
        let text = render(false, false);
        assert_eq!(
            text,
            "Task t\nPlanning…\nPlan (2 steps, builtin planner):\n  1. List\n  2. Count  (after 1)\n\
             … [1] List  $ ls -1 /tmp\n  ↻ [1] retry 1: busy\n✓ [1] List  (12 ms)\n\
             … [2] Count  $ wc -l\n✗ [2] Count  (1.5 s) — boom\n"
        );
    }

    #[test]
    fn a_revision_says_why_what_is_kept_and_the_new_plan() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false, false);
        p.event(&ev(
            "task.replanning",
            "planning",
            None,
            json!({"revision": 1, "reason": {"code": "NON_ZERO_EXIT", "message": "Step 2 failed"}}),
        ));
        p.event(&ev(
            "task.replanned",
            "planning",
            None,
            json!({"revision": 1, "kept_steps": [1], "plan": {"planner": "openai:gpt", "plan": [
                {"step": 1, "action": "List", "depends_on": []},
                {"step": 2, "action": "Count lines", "depends_on": [1]}]}}),
        ));
        p.event(&ev(
            "task.replan_failed",
            "planning",
            None,
            json!({"revision": 2, "error": {"code": "LLM_UNAVAILABLE", "message": "down"}}),
        ));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "↻ Asking for revision 1 of the plan after NON_ZERO_EXIT: Step 2 failed\n\
             \x20 finished step(s) 1 kept, not run again\n\
             Plan (2 steps, openai:gpt planner):\n  1. List\n  2. Count lines  (after 1)\n\
             ✗ The plan could not be revised: down\n"
        );
    }

    #[test]
    fn a_terminal_gets_the_spinner_redrawn_in_place() {
        let text = render(true, false);
        assert!(text.contains("\r\x1b[2K"), "{text:?}");
        assert!(text.contains("planning…"), "{text:?}");
        assert!(text.contains("[1] List  "), "{text:?}");
        assert!(
            !text.contains("$ ls"),
            "started steps live in the spinner: {text:?}"
        );
        let plan_at = text.find("Plan (").unwrap();
        let done_at = text.find("✓ [1] List").unwrap();
        assert!(plan_at < done_at, "{text:?}");
    }

    #[test]
    fn quiet_prints_only_the_task() {
        assert!(render(true, true).is_empty());
    }
}
