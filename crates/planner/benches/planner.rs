//! Built-in planning latency and validator throughput.
//!
//! `cargo bench -p octollm-planner --bench planner`

use std::collections::BTreeSet;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use octollm_planner::builtin::BuiltinPlanner;
use octollm_planner::policy::{Policy, PolicySource};
use octollm_planner::validate::{validate, Rules};
use octollm_planner::DEFAULT_ALLOWED_COMMANDS;
use octollm_types::plan::PlanRequest;

fn builtin() -> BuiltinPlanner {
    BuiltinPlanner {
        allowed_commands: DEFAULT_ALLOWED_COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        max_steps: 7,
    }
}

fn req(goal: &str) -> PlanRequest {
    PlanRequest {
        goal: goal.to_string(),
        ..PlanRequest::default()
    }
}

fn bench_builtin(c: &mut Criterion) {
    let b = builtin();
    let mut g = c.benchmark_group("builtin_plan");
    for (name, goal) in [
        ("echo", "Echo 'Hello from OctoLLM'"),
        ("list_and_count", "List files in /tmp and count them"),
        (
            "three_clauses",
            "List files in /tmp, sort them in reverse order and show the first 3",
        ),
        ("unsupported", "Write a poem about the sea"),
    ] {
        let r = req(goal);
        g.bench_function(name, |bench| {
            bench.iter(|| black_box(b.plan(black_box(&r)).is_ok()))
        });
    }
    g.finish();
}

fn bench_validator(c: &mut Criterion) {
    let b = builtin();
    let mut r =
        req("Find all .log files in /var/log, sort them, remove duplicates and show the first 5");
    r.acceptance_criteria = vec![
        "Output contains '.log'".into(),
        "Output is not empty".into(),
    ];
    let plan = b
        .plan(&r)
        .unwrap_or_else(|e| panic!("bench goal must plan: {e}"));
    let policy = Policy::new(
        DEFAULT_ALLOWED_COMMANDS.iter().map(|s| s.to_string()),
        vec!["example.com".to_string()],
        false,
        PolicySource::Config,
    );
    let arms: BTreeSet<String> = ["executor".to_string()].into();
    let rules = Rules::new(Some(&policy.exec), &arms, 7);
    assert!(validate(&plan, &rules).is_empty());
    let steps = plan.plan.len();
    c.bench_function(&format!("validate_{steps}_steps"), |bench| {
        bench.iter(|| black_box(validate(black_box(&plan), &rules).len()))
    });
}

criterion_group!(benches, bench_builtin, bench_validator);
criterion_main!(benches);
