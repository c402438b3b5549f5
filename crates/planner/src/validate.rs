//! Plan validation: applied to every plan, whoever wrote it.

use std::collections::BTreeSet;
use std::fmt;

use octollm_types::plan::{Plan, ToolCall};
use serde::Serialize;

use crate::policy::{Policy, SHELL_OPERATORS};

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
    pub policy: &'a Policy,
    /// Arms registered with the planner.
    pub registered_arms: &'a BTreeSet<String>,
    /// Arms the caller said are available (`None`: all registered ones).
    pub available_arms: Option<&'a [String]>,
    pub min_steps: u32,
    pub max_steps: u32,
}

/// Step numbers named by `{{step_N.output}}` references in `text`.
pub fn step_refs(text: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        rest = &rest[open + 2..];
        let Some(close) = rest.find("}}") else { break };
        let inner = rest[..close].trim();
        if let Some(num) = inner
            .strip_prefix("step_")
            .or_else(|| inner.strip_prefix("step"))
            .and_then(|r| r.strip_suffix(".output"))
        {
            out.push(num.trim().parse().unwrap_or(0));
        }
        rest = &rest[close + 2..];
    }
    out
}

/// Checks `plan`; the list is empty when the plan is valid.
pub fn validate(plan: &Plan, rules: &Rules<'_>) -> Vec<ValidationIssue> {
    let mut issues = Vec::new();
    let mut push = |step: Option<u32>, rule: &'static str, message: String| {
        issues.push(ValidationIssue {
            step,
            rule,
            message,
        })
    };
    let n = plan.plan.len();
    if n < rules.min_steps as usize || n > rules.max_steps as usize {
        push(
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
            push(
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
            push(
                id,
                "step_numbering",
                format!("is at position {expected}; steps must be numbered 1..{n} in order"),
            );
        }
        if step.action.trim().is_empty() {
            push(
                id,
                "action_required",
                "has an empty action description".into(),
            );
        }
        let mut seen = BTreeSet::new();
        for &dep in &step.depends_on {
            if !seen.insert(dep) {
                push(
                    id,
                    "depends_on_duplicate",
                    format!("lists step {dep} twice in depends_on"),
                );
            } else if dep == 0 || dep as usize > n {
                push(
                    id,
                    "depends_on_unknown",
                    format!("depends on step {dep}, which does not exist"),
                );
            } else if dep >= step.step {
                push(
                    id,
                    "depends_on_order",
                    format!("depends on step {dep}, which does not come before it (the plan must be a DAG)"),
                );
            }
        }

        let arm = step.required_arm.trim();
        if !rules.registered_arms.contains(arm) {
            push(
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
                push(
                    id,
                    "arm_unavailable",
                    format!("requires arm '{arm}', which is not available for this request"),
                );
            }
        }

        if arm == "executor" {
            match &step.tool_call {
                None => push(
                    id,
                    "tool_call_required",
                    "is an executor step without a tool_call".into(),
                ),
                Some(call) => {
                    check_call(step.step, &step.depends_on, call, rules.policy, &mut push)
                }
            }
        }
    }
    issues
}

fn check_call(
    step: u32,
    depends_on: &[u32],
    call: &ToolCall,
    policy: &Policy,
    push: &mut impl FnMut(Option<u32>, &'static str, String),
) {
    let id = Some(step);
    match call {
        ToolCall::Shell {
            command,
            args,
            stdin,
        } => {
            let cmd = command.trim();
            if cmd.is_empty() {
                push(
                    id,
                    "command_required",
                    "has a shell tool_call with an empty command".into(),
                );
                return;
            }
            if cmd.contains(char::is_whitespace)
                || SHELL_OPERATORS.iter().any(|op| cmd.contains(op))
            {
                push(
                    id,
                    "shell_syntax",
                    format!("command '{cmd}' is a shell line; give one program in 'command' and its arguments in 'args' (no shell is used)"),
                );
                return;
            }
            if !policy.command_allowed(cmd) {
                let hint = cmd
                    .rsplit('/')
                    .next()
                    .filter(|base| cmd.contains('/') && policy.command_allowed(base))
                    .map(|base| format!(" (use the bare name '{base}')"))
                    .unwrap_or_default();
                push(
                    id,
                    "command_not_allowed",
                    format!(
                        "command '{cmd}' is not in the executor's allowlist{hint}; allowed: {}",
                        policy.commands_csv()
                    ),
                );
            }
            for arg in args {
                if SHELL_OPERATORS.contains(&arg.trim()) {
                    push(
                        id,
                        "shell_syntax",
                        format!("argument '{arg}' is shell syntax; commands are exec'd without a shell, so pipe a step's output with \"stdin\": \"{{{{step_N.output}}}}\" in a later step"),
                    );
                } else if let Some((form, why)) = Policy::forbidden_arg(cmd, arg) {
                    push(
                        id,
                        "argument_forbidden",
                        format!("argument '{arg}' ({cmd} {form}) is refused: it {why}"),
                    );
                }
            }
            let refs = args.iter().chain(stdin.iter());
            for text in refs {
                for r in step_refs(text) {
                    if r == 0 || r >= step {
                        push(
                            id,
                            "reference_order",
                            format!(
                                "refers to the output of step {r}, which does not come before it"
                            ),
                        );
                    } else if !depends_on.contains(&r) {
                        push(
                            id,
                            "reference_without_dependency",
                            format!(
                                "uses the output of step {r} but does not list it in depends_on"
                            ),
                        );
                    }
                }
            }
        }
        ToolCall::Http { method, url } => {
            let m = method.trim().to_ascii_uppercase();
            if m != "GET" && m != "HEAD" {
                push(
                    id,
                    "http_method",
                    format!("HTTP method '{method}' is not allowed; use GET or HEAD"),
                );
            }
            match reqwest::Url::parse(url.trim()) {
                Err(e) => push(id, "http_url", format!("URL '{url}' is not valid: {e}")),
                Ok(u) => {
                    let scheme_ok =
                        u.scheme() == "https" || (u.scheme() == "http" && policy.allow_plain_http);
                    if !scheme_ok {
                        push(
                            id,
                            "http_scheme",
                            format!(
                                "URL '{url}' uses {}; the executor fetches over https only",
                                u.scheme()
                            ),
                        );
                    }
                    match u.host_str() {
                        None => push(id, "http_url", format!("URL '{url}' has no host")),
                        Some(h) if !policy.host_allowed(h) => push(
                            id,
                            "http_host_not_allowed",
                            format!(
                                "host '{h}' is not in the executor's allowed hosts ({})",
                                if policy.allowed_hosts.is_empty() {
                                    "none configured".to_string()
                                } else {
                                    policy.allowed_hosts.join(", ")
                                }
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
        }
    }
}
