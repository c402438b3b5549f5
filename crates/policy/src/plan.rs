//! The plan validator: applied to every plan, whoever wrote it, by the
//! planner before it answers and by the orchestrator before it runs a plan.

use std::collections::BTreeSet;
use std::fmt;

use octollm_types::plan::{Plan, ToolCall};
use serde::Serialize;

use crate::command::{CommandPolicy, Denial};
use crate::hosts::HostList;
use crate::refs::{self, RefError};

/// Tokens that only mean something to a shell; commands are exec'd
/// directly, so a plan that uses them has misunderstood how steps run.
pub const SHELL_OPERATORS: &[&str] = &[
    "|", "||", "&", "&&", ";", ">", ">>", "<", "<<", "2>", "2>>", "2>&1", "&>", "|&",
];

/// The arm that runs tool calls in the sandbox.
pub const EXECUTOR_ARM: &str = "executor";

/// What the executor will run and fetch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecPolicy {
    pub commands: CommandPolicy,
    pub hosts: HostList,
    pub allow_plain_http: bool,
}

/// Commands whose output is the same for the same arguments, whenever they
/// run: they read only their arguments, stdin and the sandbox's own
/// read-only view of the system.
const REPEATABLE: &[&str] = &[
    "echo", "cat", "ls", "grep", "head", "tail", "wc", "sort", "uniq", "find",
];

/// Whether a plan's answer can change between two runs: it reads the
/// clock (`date`), the outside world (HTTP), the task's files
/// (`/workspace`), or runs a program (`python3`, or a command this table
/// does not know). Such answers are never served from a result cache.
pub fn depends_on_world(plan: &Plan) -> bool {
    plan.plan.iter().any(|s| match &s.tool_call {
        None => false,
        Some(ToolCall::Http { .. }) => true,
        Some(ToolCall::Shell {
            command,
            args,
            stdin,
        }) => {
            !REPEATABLE.contains(&command.trim())
                || args
                    .iter()
                    .chain(stdin.iter())
                    .any(|a| a.contains("/workspace"))
        }
    })
}

/// One broken rule. `step` is `None` for plan-wide rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationIssue {
    pub step: Option<u32>,
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(s) => write!(f, "step {s} [{}]: {}", self.rule, self.message),
            None => write!(f, "plan [{}]: {}", self.rule, self.message),
        }
    }
}

/// Everything a plan is checked against.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    /// `None` when the checker does not know the executor's policy; the
    /// executor still enforces it on every call.
    pub policy: Option<&'a ExecPolicy>,
    /// Arms that exist.
    pub registered_arms: &'a BTreeSet<String>,
    /// Arms the caller said are available (`None`: all registered ones).
    pub available_arms: Option<&'a [String]>,
    pub min_steps: u32,
    pub max_steps: u32,
}

impl<'a> Rules<'a> {
    /// Plans of one to `max_steps` steps on any of `registered_arms`, checked
    /// against `policy` when it is known.
    pub fn new(
        policy: Option<&'a ExecPolicy>,
        registered_arms: &'a BTreeSet<String>,
        max_steps: u32,
    ) -> Self {
        Rules {
            policy,
            registered_arms,
            available_arms: None,
            min_steps: 1,
            max_steps,
        }
    }
}

struct Issues(Vec<ValidationIssue>);

impl Issues {
    fn push(&mut self, step: Option<u32>, rule: &'static str, message: String) {
        self.0.push(ValidationIssue {
            step,
            rule,
            message,
        })
    }
}

/// Checks `plan`; the list is empty when the plan is valid.
pub fn validate(plan: &Plan, rules: &Rules<'_>) -> Vec<ValidationIssue> {
    let mut issues = Issues(Vec::new());
    let n = plan.plan.len();
    if n < rules.min_steps as usize || n > rules.max_steps as usize {
        issues.push(
            None,
            "step_count",
            format!(
                "the plan has {n} steps; between {} and {} are allowed",
                rules.min_steps, rules.max_steps
            ),
        );
    }
    for (what, v) in [
        ("confidence", plan.confidence),
        ("complexity_score", plan.complexity_score),
    ] {
        if !(0.0..=1.0).contains(&v) {
            issues.push(
                None,
                "score_range",
                format!("{what} is {v}; it must lie between 0 and 1"),
            );
        }
    }
    for (i, step) in plan.plan.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let id = Some(step.step);
        if step.step != expected {
            issues.push(
                id,
                "step_numbering",
                format!("is at position {expected}; steps must be numbered 1..{n} in order"),
            );
        }
        if step.action.trim().is_empty() {
            issues.push(
                id,
                "action_required",
                "has an empty action description".into(),
            );
        }
        check_dependencies(step.step, &step.depends_on, n, &mut issues);
        let arm = step.required_arm.trim();
        check_arm(step.step, arm, rules, &mut issues);
        match &step.tool_call {
            None if arm == EXECUTOR_ARM => issues.push(
                id,
                "tool_call_required",
                "is an executor step without a tool_call".into(),
            ),
            None => {}
            Some(call) => {
                check_references(step.step, &step.depends_on, call, &mut issues);
                if arm == EXECUTOR_ARM {
                    check_call(step.step, call, rules.policy, &mut issues);
                }
            }
        }
    }
    issues.0
}

fn check_dependencies(step: u32, depends_on: &[u32], n: usize, issues: &mut Issues) {
    let id = Some(step);
    let mut seen = BTreeSet::new();
    for &dep in depends_on {
        if !seen.insert(dep) {
            issues.push(
                id,
                "depends_on_duplicate",
                format!("lists step {dep} twice in depends_on"),
            );
        } else if dep == 0 || dep as usize > n {
            issues.push(
                id,
                "depends_on_unknown",
                format!("depends on step {dep}, which does not exist"),
            );
        } else if dep >= step {
            issues.push(
                id,
                "depends_on_order",
                format!(
                    "depends on step {dep}, which does not come before it (the plan must be a DAG)"
                ),
            );
        }
    }
}

fn check_arm(step: u32, arm: &str, rules: &Rules<'_>, issues: &mut Issues) {
    let id = Some(step);
    if !rules.registered_arms.contains(arm) {
        issues.push(
            id,
            "unknown_arm",
            format!(
                "requires arm '{arm}', which is not registered (registered: {})",
                rules
                    .registered_arms
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    } else if let Some(avail) = rules.available_arms {
        if !avail.iter().any(|a| a == arm) {
            issues.push(
                id,
                "arm_unavailable",
                format!("requires arm '{arm}', which is not available for this request"),
            );
        }
    }
}

fn check_references(step: u32, depends_on: &[u32], call: &ToolCall, issues: &mut Issues) {
    let id = Some(step);
    for text in refs::call_texts(call) {
        let found = match refs::references(text) {
            Ok(found) => found,
            Err(e @ RefError::Malformed(_)) | Err(e @ RefError::Unavailable(_)) => {
                issues.push(id, "malformed_reference", e.to_string());
                continue;
            }
        };
        for r in found {
            if r == 0 || r >= step {
                issues.push(
                    id,
                    "reference_order",
                    format!("refers to the output of step {r}, which does not come before it"),
                );
            } else if !depends_on.contains(&r) {
                issues.push(
                    id,
                    "reference_without_dependency",
                    format!("uses the output of step {r} but does not list it in depends_on"),
                );
            }
        }
    }
}

fn check_call(step: u32, call: &ToolCall, policy: Option<&ExecPolicy>, issues: &mut Issues) {
    let id = Some(step);
    match call {
        ToolCall::Shell { command, args, .. } => {
            let cmd = command.trim();
            if cmd.is_empty() {
                issues.push(
                    id,
                    "command_required",
                    "has a shell tool_call with an empty command".into(),
                );
                return;
            }
            if cmd.contains(char::is_whitespace)
                || SHELL_OPERATORS.iter().any(|op| cmd.contains(op))
            {
                issues.push(
                    id,
                    "shell_syntax",
                    format!("command '{cmd}' is a shell line; give one program in 'command' and its arguments in 'args' (no shell is used)"),
                );
                return;
            }
            if let Some(arg) = args.iter().find(|a| SHELL_OPERATORS.contains(&a.trim())) {
                issues.push(
                    id,
                    "shell_syntax",
                    format!("argument '{arg}' is shell syntax; commands are exec'd without a shell, so pipe a step's output with \"stdin\": \"{{{{step_N.output}}}}\" in a later step"),
                );
            }
            let Some(policy) = policy else { return };
            match policy.commands.check(cmd, args) {
                Ok(_) => {}
                Err(Denial::NotAllowed { .. }) => {
                    let hint = cmd
                        .rsplit('/')
                        .next()
                        .filter(|base| cmd.contains('/') && policy.commands.is_allowed(base))
                        .map(|base| format!(" (use the bare name '{base}')"))
                        .unwrap_or_default();
                    issues.push(
                        id,
                        "command_not_allowed",
                        format!(
                            "command '{cmd}' is not in the executor's allowlist{hint}; allowed: {}",
                            policy.commands.allowed().join(", ")
                        ),
                    );
                }
                Err(d @ Denial::DangerousArgument { .. }) => {
                    issues.push(id, "argument_forbidden", d.to_string())
                }
            }
        }
        ToolCall::Http { method, url } => {
            let m = method.trim().to_ascii_uppercase();
            if m != "GET" && m != "HEAD" {
                issues.push(
                    id,
                    "http_method",
                    format!("HTTP method '{method}' is not allowed; use GET or HEAD"),
                );
            }
            // A URL built from an earlier step's output is checked by the
            // executor once it is known.
            if !refs::references(url).map(|r| r.is_empty()).unwrap_or(false) {
                return;
            }
            match url::Url::parse(url.trim()) {
                Err(e) => issues.push(id, "http_url", format!("URL '{url}' is not valid: {e}")),
                Ok(u) => check_url(step, url, &u, policy, issues),
            }
        }
    }
}

fn check_url(step: u32, raw: &str, u: &url::Url, policy: Option<&ExecPolicy>, issues: &mut Issues) {
    let id = Some(step);
    let plain_ok = policy.is_some_and(|p| p.allow_plain_http);
    if !(u.scheme() == "https" || (u.scheme() == "http" && plain_ok)) && policy.is_some() {
        issues.push(
            id,
            "http_scheme",
            format!(
                "URL '{raw}' uses {}; the executor fetches over https only",
                u.scheme()
            ),
        );
    }
    match (u.host_str(), policy) {
        (None, _) => issues.push(id, "http_url", format!("URL '{raw}' has no host")),
        (Some(h), Some(p)) if !p.hosts.allows(h) => issues.push(
            id,
            "http_host_not_allowed",
            format!(
                "host '{h}' is not in the executor's allowed hosts ({}); an operator adds it with the setting OCTOLLM_EXECUTOR_HTTP_ALLOWED_HOSTS",
                p.hosts.describe()
            ),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
