//! The built-in planner on goal phrasings beyond the scenario suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_planner::builtin::BuiltinPlanner;
use octollm_planner::DEFAULT_ALLOWED_COMMANDS;
use octollm_types::plan::{PlanRequest, ToolCall};

fn plan(goal: &str) -> Result<Vec<String>, String> {
    let b = BuiltinPlanner {
        allowed_commands: DEFAULT_ALLOWED_COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        max_steps: 7,
    };
    let req = PlanRequest {
        goal: goal.into(),
        ..PlanRequest::default()
    };
    b.plan(&req).map_err(|e| e.0).map(|p| {
        p.plan
            .iter()
            .map(|s| match s.tool_call.as_ref().unwrap() {
                ToolCall::Shell {
                    command,
                    args,
                    stdin,
                } => {
                    let mut line = std::iter::once(command.clone())
                        .chain(args.iter().cloned())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if let Some(i) = stdin {
                        line.push_str(&format!(" <{i}"));
                    }
                    line
                }
                ToolCall::Http { method, url } => format!("{method} {url}"),
            })
            .collect()
    })
}

#[test]
fn common_shapes_become_exact_tool_calls() {
    let cases: &[(&str, &[&str])] = &[
        (
            "List files in /tmp and count them",
            &["ls -1 /tmp", "wc -l <{{step_1.output}}"],
        ),
        ("Echo the current date", &["date"]),
        ("Echo task 17", &["echo task 17"]),
        ("echo \"Hello,   World!\"", &["echo Hello,   World!"]),
        ("Print 'it's done'", &["echo it's done"]),
        (
            "please show me the last 3 lines of /var/log/app.log",
            &["tail -n 3 /var/log/app.log"],
        ),
        (
            "Display the first ten lines of ./data/report.csv",
            &["head -n 10 ./data/report.csv"],
        ),
        ("How many lines does notes.txt have?", &["wc -l notes.txt"]),
        ("count words in essay.md", &["wc -w essay.md"]),
        (
            "Grep for \"connection refused\" in /var/log/nginx/error.log",
            &["grep -e connection refused /var/log/nginx/error.log"],
        ),
        (
            "Find lines that do not contain 'debug' in app.log",
            &["grep -v -e debug app.log"],
        ),
        (
            "Search case-insensitively for warning in build.log",
            &["grep -i -e warning build.log"],
        ),
        (
            "Find all Rust files in ./crates",
            &["find ./crates -type f -name *.rs"],
        ),
        (
            "Locate files named Cargo.toml",
            &["find . -type f -name Cargo.toml"],
        ),
        ("Find empty files in /tmp", &["find /tmp -type f -empty"]),
        (
            "list all hidden files in /home/alice",
            &["ls -1A /home/alice"],
        ),
        ("Show the contents of /etc/hosts", &["cat /etc/hosts"]),
        ("What day of the week is it?", &["date +%A"]),
        ("Give me the unix timestamp", &["date +%s"]),
        (
            "Download https://example.org/index.html",
            &["GET https://example.org/index.html"],
        ),
        (
            "Fetch https://example.com and search for 'Example Domain'",
            &[
                "GET https://example.com",
                "grep -e Example Domain <{{step_1.output}}",
            ],
        ),
        ("What is (2 + 3) * 4?", &["python3 -c print((2 + 3) * 4)"]),
        ("Run wc -l /etc/passwd", &["wc -l /etc/passwd"]),
        ("ls -la /var/tmp", &["ls -la /var/tmp"]),
        (
            "Sort numbers.txt numerically in descending order",
            &["sort -r -n numbers.txt"],
        ),
        (
            "Count the .txt files in /srv/docs",
            &[
                "find /srv/docs -maxdepth 1 -type f -name *.txt",
                "wc -l <{{step_1.output}}",
            ],
        ),
        (
            "Then list /opt and afterwards show the date",
            &["ls -1 /opt", "date"],
        ),
        (
            "Fetch https://example.com/uuid and extract the UUID",
            &[
                "GET https://example.com/uuid",
                "grep -oE [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12} <{{step_1.output}}",
            ],
        ),
        (
            "Extract the email addresses from /srv/notes.txt",
            &["grep -oE [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,} /srv/notes.txt"],
        ),
    ];
    for (goal, want) in cases {
        let got = plan(goal).unwrap_or_else(|e| panic!("{goal}: refused: {e}"));
        assert_eq!(got, *want, "{goal}");
    }
}

#[test]
fn refuses_rather_than_inventing() {
    for goal in [
        "Write a poem about the sea",
        "Delete all files in /tmp",
        "rm -rf /",
        "Run rm -rf /tmp/x",
        "List files in /tmp owned by root",
        "Send the list of files in /tmp to bob@example.com",
        "Compress /var/log into an archive",
        "echo hi > /etc/motd",
        "run ls /tmp && rm x",
        "Translate 'hello' into French",
        "What is the meaning of life?",
        "Install nginx",
        "Show me the 3 largest files in /var/log",
        "",
    ] {
        assert!(
            plan(goal).is_err(),
            "'{goal}' should be refused, got {:?}",
            plan(goal)
        );
    }
}

#[test]
fn network_constraint_and_step_limit_are_honoured() {
    let b = BuiltinPlanner {
        allowed_commands: DEFAULT_ALLOWED_COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        max_steps: 7,
    };
    let req = PlanRequest {
        goal: "Fetch https://example.com".into(),
        constraints: vec!["No network access".into()],
        ..PlanRequest::default()
    };
    assert!(b.plan(&req).unwrap_err().0.contains("network"));
    let req = PlanRequest {
        goal: "Echo done".into(),
        acceptance_criteria: vec!["Output contains 'done'".into(), "Output is a number".into()],
        constraints: vec!["Use at most 2 steps".into()],
        ..PlanRequest::default()
    };
    let p = b.plan(&req).unwrap();
    // Criteria are checked by the orchestrator on the output, not by extra
    // grep steps: the plan is the echo alone, carrying the criteria.
    assert_eq!(p.plan.len(), 1, "{p:?}");
    assert!(p.plan[0]
        .acceptance_criteria
        .contains(&"Output is a number".to_string()));
}
