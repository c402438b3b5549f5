//! The planner, the orchestrator and the executor read one policy table:
//! for every refused or capability-gated option in it, spelled every way
//! `getopt_long` accepts (full name, abbreviations, `=value`, a separate
//! value, attached short values, clusters), the planner's validation, the
//! orchestrator's token scoping and the executor's enforcement in the real
//! sandbox give the same verdict.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use octollm_executor::{Executor, ExecutorConfig};
use octollm_planner::policy::{Policy, PolicySource};
use octollm_planner::validate::{validate, Rules};
use octollm_policy::table::{Effect, Opt, Syntax, Value, COMMANDS};
use octollm_testkit::plan::{plan, shell, step};
use octollm_types::exec::ExecuteRequest;
use octollm_types::plan::{Plan, ToolCall};
use octollm_types::token::{self, caps};

const SECRET: &str = "agreement-secret";

/// Every spelling of `o` with the value `V` (when it takes one).
fn spellings(syntax: Syntax, o: &Opt, flag: Option<char>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if syntax == Syntax::Primaries {
        if let Some(l) = o.long {
            out.push(v(&[".", &format!("-{l}")]));
        }
        return out;
    }
    if let Some(l) = o.long {
        for n in 1..=l.len() {
            let name = &l[..n];
            match o.value {
                Value::None => out.push(v(&[&format!("--{name}")])),
                Value::Optional => {
                    out.push(v(&[&format!("--{name}")]));
                    out.push(v(&[&format!("--{name}=name")]));
                }
                Value::Required => {
                    out.push(v(&[&format!("--{name}=out.txt")]));
                    out.push(v(&[&format!("--{name}"), "out.txt"]));
                }
            }
        }
    }
    if let Some(s) = o.short {
        match o.value {
            Value::None | Value::Optional => out.push(v(&[&format!("-{s}")])),
            Value::Required => {
                out.push(v(&[&format!("-{s}"), "out.txt"]));
                out.push(v(&[&format!("-{s}out.txt")]));
            }
        }
        if let Some(f) = flag {
            let tail = if o.value == Value::Required {
                "out.txt"
            } else {
                ""
            };
            out.push(v(&[&format!("-{f}{s}{tail}")]));
        }
    }
    out
}

/// A one-step plan that makes `call`.
fn plan_of(call: &ToolCall) -> Plan {
    plan(vec![step(1, "executor", Some(call.clone()), &[])])
}

async fn run(
    ex: &Executor,
    command: &str,
    args: &[String],
    token: String,
) -> (u16, Option<String>) {
    let req = ExecuteRequest {
        action_type: "shell".into(),
        command: command.into(),
        args: args.to_vec(),
        stdin: Some(String::new()),
        method: None,
        url: None,
        timeout_seconds: Some(5.0),
        capability_token: Some(token),
        workspace: None,
    };
    let reply = ex.execute(req, None).await;
    (reply.status.as_u16(), reply.body.error_code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planner_orchestrator_and_executor_agree_on_every_row() {
    let dir = std::env::temp_dir().join(format!("octollm-agreement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = ExecutorConfig {
        data_dir: dir.join("data").to_string_lossy().into_owned(),
        sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
        sandbox_cgroup_parent: format!("octollm-agreement-{}", std::process::id()),
        sandbox_uid_base: 3_900_000,
        token_secret: SECRET.into(),
        ..ExecutorConfig::default()
    };
    let ex = Executor::start(config).await.unwrap();
    let planner_view = Policy::new(
        ex.policy().allowed().to_vec(),
        ex.hosts().entries().to_vec(),
        ex.allow_plain_http(),
        PolicySource::Executor,
    );
    let arms: BTreeSet<String> = ["executor".to_string()].into();
    let rules = Rules::new(Some(&planner_view.exec), &arms, 7);
    let read_only = token::issue_for(SECRET.as_bytes(), "t", &[caps::SHELL_READ], 60).unwrap();
    let mut checked = 0;
    for row in COMMANDS {
        let flag = row
            .options
            .iter()
            .find(|o| o.effect == Effect::Allow && o.value == Value::None)
            .and_then(|o| o.short);
        let mut cases: Vec<(Vec<String>, Effect)> = Vec::new();
        for o in row.options.iter().filter(|o| o.effect != Effect::Allow) {
            for args in spellings(row.syntax, o, flag) {
                cases.push((args, o.effect));
            }
        }
        if let Some(rule) = row.operands {
            let args: Vec<String> = (0..=rule.more_than).map(|i| format!("f{i}")).collect();
            cases.push((args, rule.effect));
        }
        for (args, effect) in cases {
            let line = format!("{} {}", row.name, args.join(" "));
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let call = shell(row.name, &argv, None);
            let issues = validate(&plan_of(&call), &rules);
            let scoped =
                octollm_orchestrator::caps::token_for(SECRET.as_bytes(), "t", &call, None, 60)
                    .unwrap();
            let (status, code) = run(&ex, row.name, &args, scoped).await;
            match effect {
                Effect::Deny(_) => {
                    assert!(
                        issues.iter().any(|i| i.rule == "argument_forbidden"),
                        "planner accepted `{line}`: {issues:?}"
                    );
                    assert_eq!(
                        (status, code.as_deref()),
                        (403, Some("DANGEROUS_ARGUMENT")),
                        "executor on `{line}`"
                    );
                }
                Effect::Requires(cap, _) => {
                    assert!(issues.is_empty(), "planner refused `{line}`: {issues:?}");
                    assert_ne!(
                        status, 403,
                        "executor refused `{line}` with the scoped token ({code:?})"
                    );
                    let (status, code) = run(&ex, row.name, &args, read_only.clone()).await;
                    assert_eq!(
                        (status, code.as_deref()),
                        (403, Some("CAPABILITY_MISSING")),
                        "`{line}` ran without {cap}"
                    );
                }
                Effect::Allow => unreachable!("only gated rows are walked"),
            }
            checked += 1;
        }
    }
    // sort, tail, date, find and uniq all have gated rows.
    assert!(checked >= 60, "only {checked} spellings checked");
    let _ = std::fs::remove_dir_all(&dir);
}
