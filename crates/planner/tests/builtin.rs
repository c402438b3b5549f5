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

#[test]
fn a_goal_needing_more_steps_than_allowed_is_declined() {
    // Found by the planner_builtin fuzz target: the built-in planner wrote
    // plans over `max_steps` (and over a constraint's "at most N steps"),
    // which the validator then refused as invalid instead of the planner
    // declining the goal.
    let b = BuiltinPlanner {
        allowed_commands: DEFAULT_ALLOWED_COMMANDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        max_steps: 7,
    };
    let eight = "echo a then echo b then echo c then echo d then echo e then echo f \
                 then echo g then echo h";
    let req = PlanRequest {
        goal: eight.into(),
        ..PlanRequest::default()
    };
    let why = b.plan(&req).unwrap_err().0;
    assert_eq!(why, "the goal needs 8 steps; plans may have at most 7");
    let req = PlanRequest {
        goal: "echo a then echo b then echo c".into(),
        constraints: vec!["Use at most 2 steps".into()],
        ..PlanRequest::default()
    };
    let why = b.plan(&req).unwrap_err().0;
    assert_eq!(
        why,
        "the goal needs 3 steps; the constraints allow at most 2"
    );
    let req = PlanRequest {
        goal: "echo a then echo b".into(),
        constraints: vec!["Use at most 2 steps".into()],
        ..PlanRequest::default()
    };
    assert_eq!(b.plan(&req).unwrap().plan.len(), 2);
}

/// Each step as `command args…`, a `python3 -c` program shown as `PROGRAM`
/// (the programs are constants; what matters is what goes in as argv).
fn plan_argv(goal: &str) -> Result<Vec<String>, String> {
    plan(goal).map(|steps| {
        steps
            .into_iter()
            .map(|s| match s.split_once(" -c ") {
                Some(("python3", rest)) if rest.contains('\n') => {
                    let tail = rest.rsplit('\n').next().unwrap_or("");
                    format!("python3 PROGRAM{tail}")
                }
                _ => s,
            })
            .collect()
    })
}

#[test]
fn new_families_pass_goal_values_as_arguments() {
    let cases: &[(&str, &[&str])] = &[
        (
            "show lines 3 to 7 of notes.txt",
            &["python3 PROGRAM range 3 7 notes.txt"],
        ),
        (
            "print lines 2-4 in notes.txt",
            &["python3 PROGRAM range 2 4 notes.txt"],
        ),
        (
            "What's the longest line in notes.txt?",
            &["python3 PROGRAM longest   notes.txt"],
        ),
        (
            "how many empty lines are in notes.txt",
            &["python3 PROGRAM blank-count   notes.txt"],
        ),
        (
            "which lines of notes.txt are blank",
            &["python3 PROGRAM blank-numbers   notes.txt"],
        ),
        (
            "show the unique lines of notes.txt",
            &["python3 PROGRAM distinct   notes.txt"],
        ),
        (
            "on which lines does 'TODO' appear in main.py, ignoring case?",
            &["python3 PROGRAM match-numbers ignore-case TODO main.py"],
        ),
        (
            "which lines of app.log mention error",
            &["grep -n -e error app.log"],
        ),
        (
            "list the files in /etc starting with host",
            &["python3 PROGRAM /etc files prefix host exact-case list"],
        ),
        (
            "how many directories in /usr/share end with 'doc'",
            &["python3 PROGRAM /usr/share directories suffix doc exact-case count"],
        ),
        (
            "which has more lines, a.txt or b.txt?",
            &["python3 PROGRAM lines a.txt b.txt more"],
        ),
        (
            "do a.txt and b.txt differ?",
            &["python3 PROGRAM same a.txt b.txt differ"],
        ),
        (
            "the 5 most common words in notes.txt",
            &["python3 PROGRAM 5 notes.txt"],
        ),
        (
            "how many letters are in 'hi there'",
            &["python3 PROGRAM letters text hi there"],
        ),
        (
            "convert 100 fahrenheit to celsius",
            &["python3 PROGRAM 100 fahrenheit celsius"],
        ),
        (
            "how many feet are in 3 miles?",
            &["python3 PROGRAM 3 mile foot"],
        ),
        ("2 GiB in MB", &["python3 PROGRAM 2 GiB MB"]),
        (
            "what is 2 to the power of 10",
            &["python3 PROGRAM power 2 10"],
        ),
        ("3 squared", &["python3 PROGRAM power 3 2"]),
        ("the square root of 81", &["python3 PROGRAM sqrt 81"]),
        (
            "print the primes below 20",
            &["python3 PROGRAM primes-below 20"],
        ),
        (
            "what version of python3 is installed",
            &["python3 --version"],
        ),
        (
            "What time is it in Tokyo?",
            &["python3 PROGRAM zone %H:%M:%S Asia/Tokyo"],
        ),
        (
            "what day of the week was July 4, 1976",
            &["python3 PROGRAM weekday 1976-07-04"],
        ),
        (
            "the date 30 days from now",
            &["python3 PROGRAM shift %Y-%m-%d 30"],
        ),
        (
            "how many days between 2024-01-01 and 2024-03-01",
            &["python3 PROGRAM between 2024-01-01 2024-03-01"],
        ),
        ("the date in YYYY-MM-DD format", &["date +%Y-%m-%d"]),
        ("the date in ISO 8601 format", &["date -I"]),
    ];
    for (goal, want) in cases {
        let got = plan_argv(goal).unwrap_or_else(|e| panic!("{goal}: refused: {e}"));
        assert_eq!(got, *want, "{goal}");
    }
}

#[test]
fn new_families_refuse_what_they_would_guess() {
    for goal in [
        "lines 3 and 7 of notes.txt",
        "the most common words in notes.txt",
        "convert 5 m to feet",
        "convert 10 kg to pounds",
        "what day of the week was 03/04/2024",
        "the time in EST",
        "what version of python is installed",
        "the date a week from now in UTC",
        "Print the date in US format",
        "are a.txt and b.txt the same file?",
        "are a.txt and b.txt the same size?",
        "how many letters and digits are in notes.txt",
        "how many times does the letter e appear in 'excellent'",
        "find files in /etc starting with host",
        "the primes between 10 and 20",
    ] {
        assert!(
            plan(goal).is_err(),
            "'{goal}' should be refused, got {:?}",
            plan(goal)
        );
    }
}

/// One count of one file is the number alone (a `wc FILE` prints the name
/// after it); several files keep `wc`'s per-file lines and total.
#[test]
fn one_file_count_is_the_number_alone() {
    for (goal, want) in [
        (
            "How many lines does notes.txt have?",
            "python3 PROGRAM lines notes.txt",
        ),
        ("count words in essay.md", "python3 PROGRAM words essay.md"),
        (
            "how many bytes is /etc/hosts",
            "python3 PROGRAM bytes /etc/hosts",
        ),
    ] {
        assert_eq!(plan_argv(goal).unwrap(), vec![want.to_string()], "{goal}");
    }
    assert_eq!(
        plan("count the lines in a.txt and b.txt").unwrap(),
        vec!["wc -l a.txt b.txt".to_string()]
    );
    // Arithmetic goes to the fixed evaluator as its argument, with the
    // operator words made symbols.
    for (goal, want) in [
        ("What is (2 + 3) * 4?", "python3 PROGRAM (2 + 3) * 4"),
        ("what is 100 divided by 7", "python3 PROGRAM 100 / 7"),
        ("Subtract 15 from 100", "python3 PROGRAM 100 - 15"),
    ] {
        assert_eq!(plan_argv(goal).unwrap(), vec![want.to_string()], "{goal}");
    }
    assert!(plan("what is 0x10").is_err(), "not 0 times 10");
    // "The word 'x'" counts whole words, and says how it matched.
    assert_eq!(
        plan("how many times does the word 'the' appear in notes.txt").unwrap(),
        vec![
            "grep -o -w -e the notes.txt".to_string(),
            "wc -l <{{step_1.output}}".to_string()
        ]
    );
}

/// A refusal names what it did not understand; a count of one word's
/// characters is a length.
#[test]
fn refusals_name_the_words_not_understood() {
    for (goal, words) in [
        ("How many CPUs does this machine have?", "'CPUs', 'machine'"),
        ("count the vowels in 'banana'", "'vowels'"),
    ] {
        let e = plan(goal).unwrap_err();
        assert!(e.contains(words), "{goal}: {e}");
        assert!(!e.contains("count the lines of"), "{goal}: {e}");
    }
    for goal in [
        "Count the characters in the word Hello",
        "How many characters are in the word 'Hello'?",
    ] {
        assert_eq!(
            plan_argv(goal).unwrap(),
            vec!["python3 PROGRAM length text Hello".to_string()],
            "{goal}"
        );
    }
}
