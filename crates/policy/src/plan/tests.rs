use std::collections::BTreeSet;

use octollm_testkit::plan::{plan, shell, step};
use octollm_types::plan::{Plan, ToolCall};

use super::*;

fn rules_of(f: impl FnOnce(&Rules<'_>) -> Vec<&'static str>) -> Vec<&'static str> {
    let policy = ExecPolicy {
        commands: CommandPolicy::default(),
        hosts: HostList::new(["example.com"]),
        allow_plain_http: false,
    };
    let arms: BTreeSet<String> = ["executor".to_string()].into();
    let rules = Rules::new(Some(&policy), &arms, 7);
    f(&rules)
}

fn broken(p: Plan) -> Vec<&'static str> {
    rules_of(|r| validate(&p, r).into_iter().map(|i| i.rule).collect())
}

#[test]
fn a_good_pipeline_passes() {
    let p = plan(vec![
        step(1, "executor", Some(shell("ls", &["-1", "/tmp"], None)), &[]),
        step(
            2,
            "executor",
            Some(shell("wc", &["-l"], Some("{{step1.output}}"))),
            &[1],
        ),
    ]);
    assert_eq!(broken(p), Vec::<&str>::new());
}

#[test]
fn unknown_arms_are_refused_not_sent_to_the_executor() {
    let p = plan(vec![step(
        1,
        "teleporter",
        Some(shell("ls", &[], None)),
        &[],
    )]);
    assert_eq!(broken(p), vec!["unknown_arm"]);
}

#[test]
fn malformed_and_misordered_references_are_refused() {
    let p = plan(vec![
        step(1, "executor", Some(shell("echo", &["hi"], None)), &[]),
        step(
            2,
            "executor",
            Some(shell("wc", &[], Some("{{step_1}}"))),
            &[1],
        ),
        step(
            3,
            "executor",
            Some(shell("wc", &[], Some("{{step_1.output}}"))),
            &[],
        ),
        step(
            4,
            "executor",
            Some(shell("wc", &[], Some("{{step_5.output}}"))),
            &[],
        ),
    ]);
    assert_eq!(
        broken(p),
        vec![
            "malformed_reference",
            "reference_without_dependency",
            "reference_order"
        ]
    );
}

#[test]
fn policy_is_the_shared_one() {
    let p = plan(vec![
        step(1, "executor", Some(shell("sort", &["--co=sh"], None)), &[]),
        step(2, "executor", Some(shell("rm", &["-rf", "/"], None)), &[]),
        step(3, "executor", Some(shell("tail", &["-f", "x"], None)), &[]),
        step(4, "executor", Some(shell("sort", &["-o", "x"], None)), &[]),
    ]);
    // `sort -o` needs shell_write, which a token can carry: not a plan error.
    assert_eq!(
        broken(p),
        vec![
            "argument_forbidden",
            "command_not_allowed",
            "argument_forbidden"
        ]
    );
}

#[test]
fn urls_are_checked_against_the_host_list() {
    let get = |url: &str| ToolCall::Http {
        method: "GET".into(),
        url: url.into(),
    };
    let p = plan(vec![
        step(1, "executor", Some(get("https://example.com/x")), &[]),
        step(2, "executor", Some(get("https://evil.net/x")), &[]),
        step(3, "executor", Some(get("http://example.com/x")), &[]),
    ]);
    assert_eq!(broken(p), vec!["http_host_not_allowed", "http_scheme"]);
}

#[test]
fn structure_rules() {
    let mut p = plan(vec![
        step(1, "executor", Some(shell("ls", &[], None)), &[1]),
        step(3, "executor", None, &[9]),
    ]);
    p.confidence = 2.0;
    assert_eq!(
        broken(p),
        vec![
            "score_range",
            "depends_on_order",
            "step_numbering",
            "depends_on_unknown",
            "tool_call_required"
        ]
    );
    assert_eq!(broken(plan(vec![])), vec!["step_count"]);
}
