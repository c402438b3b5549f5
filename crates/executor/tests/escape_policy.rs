//! SC-001, the argument policy: allowlisted commands abused through the
//! way GNU `getopt_long` reads options (abbreviations, clusters, attached
//! values). Each case goes through the real HTTP API with a capability
//! token that lacks what the attack needs, and checks the harm did not
//! happen: no program beyond the allowlist ran, no file was written, the
//! clock was not set, and the audit log never claims less than was used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{output, Server};
use octollm_types::token::{self, caps};
use serde_json::{json, Value};

const SECRET: &str = "policy-secret";

async fn server() -> Server {
    Server::start_with(|c| c.token_secret = SECRET.into()).await
}

fn read_only() -> String {
    token::issue_for(SECRET.as_bytes(), "t", &[caps::SHELL_READ], 60).unwrap()
}

async fn run(s: &Server, command: &str, args: &[&str], stdin: &str, tok: &str) -> (u16, Value) {
    s.post(
        json!({"action_type": "shell", "command": command, "args": args,
                  "stdin": stdin, "timeout_seconds": 10, "capability_token": tok}),
    )
    .await
}

/// Runs `command` once per spelling in `spellings` and checks that each is
/// refused with 403 and `code`; the replies are returned for further checks.
async fn refused_each(
    s: &Server,
    command: &str,
    spellings: &[&[&str]],
    stdin: &str,
    tok: &str,
    code: &str,
) -> Vec<Value> {
    let mut replies = Vec::new();
    for args in spellings {
        let (status, v) = run(s, command, args, stdin, tok).await;
        assert_eq!(
            (status, v["error_code"].as_str()),
            (403, Some(code)),
            "{command} {args:?}: {v}"
        );
        replies.push(v);
    }
    replies
}

/// The audit log's records of `command`, by outcome.
fn audited(s: &Server, command: &str) -> Vec<String> {
    std::fs::read_to_string(s.audit_path())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["command"] == command || v.get("command").is_none())
        .filter_map(|v| v["outcome"].as_str().map(String::from))
        .collect()
}

/// Finding 4: `sort --co=python3` would run Python on sort's temporary
/// files under a `shell_read` token. Padding lines force a spill to disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_compress_program_abbreviation_cannot_run_python() {
    let s = server().await;
    let mut stdin = "x\n".repeat(40_000);
    stdin.push_str("import os; print('PWNED', os.getpid())\n");
    let spellings: &[&[&str]] = &[
        &["--co=python3", "-S", "64K"],
        &["--compress", "python3", "-S", "64K"],
        &["-S", "64K", "--compress-pro=python3"],
    ];
    let tok = read_only();
    for v in refused_each(&s, "sort", spellings, &stdin, &tok, "DANGEROUS_ARGUMENT").await {
        assert!(!output(&v).contains("PWNED"));
    }
    // Each attempt is on record as refused; none as run.
    let outcomes = audited(&s, "sort");
    assert_eq!(
        outcomes.iter().filter(|o| *o == "denied").count(),
        3,
        "{outcomes:?}"
    );
    assert!(
        !outcomes
            .iter()
            .any(|o| ["success", "failure", "timeout", "oom"].contains(&o.as_str())),
        "{outcomes:?}"
    );
    s.assert_clean().await;
}

/// Finding 5: `sort --compress-prog=sh` would run `/bin/sh`, which is not
/// on the allowlist, on lines read from stdin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_compress_program_cannot_run_a_shell() {
    let s = server().await;
    let stdin = format!("{}echo SHELL-RAN\n", "y\n".repeat(40_000));
    let py = token::issue_for(
        SECRET.as_bytes(),
        "t",
        &[caps::SHELL_READ, caps::SHELL_WRITE, caps::PYTHON_EXEC],
        60,
    )
    .unwrap();
    // Refused whatever the token carries: no capability allows it.
    let spellings: &[&[&str]] = &[
        &["--compress-prog=sh", "-S", "64K"],
        &["--compress-program", "sh"],
    ];
    for v in refused_each(&s, "sort", spellings, &stdin, &py, "DANGEROUS_ARGUMENT").await {
        assert!(!output(&v).contains("SHELL-RAN"));
    }
    s.assert_clean().await;
}

/// Finding 6: `sort --ou=FILE` and `sort -uoFILE` write files; without
/// `shell_write` they are refused, and no file appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_output_spellings_need_shell_write() {
    let s = server().await;
    let spellings: &[&[&str]] = &[
        &["--ou=/workspace/out.txt"],
        &["--out", "/workspace/out.txt"],
        &["-uo/workspace/out.txt"],
        &["-ruo", "/workspace/out.txt"],
    ];
    let tok = read_only();
    refused_each(&s, "sort", spellings, "b\na\n", &tok, "CAPABILITY_MISSING").await;
    // With the capability the same line runs, and the audit says so.
    let rw = token::issue_for(
        SECRET.as_bytes(),
        "t",
        &[caps::SHELL_READ, caps::SHELL_WRITE],
        60,
    )
    .unwrap();
    let (status, v) = run(&s, "sort", &["-uo/workspace/out.txt"], "b\na\n", &rw).await;
    assert_eq!(status, 200, "{v}");
    let used: Vec<&str> = v["provenance"]["capabilities_used"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(used, vec!["shell_read", "shell_write"]);
    s.assert_clean().await;
}

/// Finding 7: `date --se=@86400`, `--s=@86400` and `-s@86400` set the clock.
/// Refused by the policy; the host clock is checked unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_set_spellings_are_refused() {
    let s = server().await;
    let before = chrono::Utc::now();
    let spellings: &[&[&str]] = &[
        &["--se=@86400"],
        &["--s=@86400"],
        &["-s@86400"],
        &["-us", "@86400"],
    ];
    let tok = read_only();
    refused_each(&s, "date", spellings, "", &tok, "DANGEROUS_ARGUMENT").await;
    // Still a date, not 1970.
    let now = chrono::Utc::now();
    assert!(now >= before && (now - before).num_seconds() < 60);
    let (status, v) = run(&s, "date", &["-u", "+%Y"], "", &read_only()).await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(output(&v).trim(), "1970");
    s.assert_clean().await;
}
