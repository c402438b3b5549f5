//! `octollm run --file`: the file is attached to the task, the built-in
//! planner reads its bare name as `/workspace/in/<name>`, and the step
//! reads it inside the real sandbox. Runs the real binary with its own
//! in-process system.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pty.rs"]
mod pty;

use std::process::{Command, Stdio};

use octollm_testkit::run_ok;
use pty::{own_system_settings, scratch};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

#[test]
fn run_attaches_a_file_that_every_step_reads() {
    let dir = scratch("cli-files");
    let data = dir.0.join("lines.txt");
    std::fs::write(&data, "one\ntwo\nthree\nfour\n").unwrap();
    let out = run_ok(
        Command::new(BIN)
            .args([
                "run",
                "--file",
                data.to_str().unwrap(),
                "Count the lines in lines.txt",
            ])
            .envs(own_system_settings(&dir, "cli-files", 3_930_000))
            .stdin(Stdio::null()),
        "octollm run --file",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/workspace/in/lines.txt"), "{text}");
    assert!(text.contains("\n4\n"), "{text}");
    let err = Command::new(BIN)
        .args([
            "run",
            "--file",
            "/nonexistent/x.txt",
            "Count the lines in x.txt",
        ])
        .envs(own_system_settings(&dir, "cli-files", 3_930_000))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("/nonexistent/x.txt"));
}
