//! `octollm run` when a step waits for approval: under a pty it shows the
//! exact command and asks y/N (yes runs it, no fails the task with
//! `APPROVAL_REJECTED`); `--approve-all` asks nothing; through a pipe it
//! says how to decide and waits until someone does, here with `octollm
//! tasks approve`. Runs the real binary with its own in-process system and
//! the real sandbox; the pty comes from util-linux `script`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pty.rs"]
mod pty;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use octollm_testkit::run_ok;
use pty::{own_system_settings, require_script, run_under_pty, scratch, Scratch};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Every shell step needs approval; the system is the run's own.
fn settings(dir: &Scratch) -> Vec<(String, String)> {
    let mut s = own_system_settings(dir, "cli-approval", 3_960_000);
    s.push((
        "OCTOLLM_ORCHESTRATOR_APPROVAL_REQUIRED".into(),
        "shell_read".into(),
    ));
    s
}

/// Starts `cmd` with its stdio piped.
fn spawn(cmd: &mut Command, stdin: Stdio) -> Child {
    cmd.stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Everything `child` writes to stdout, line by line, as it comes.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        // Split on the prompt's space too: the prompt ends no line.
        while r.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                return;
            }
            buf.clear();
        }
    });
    rx
}

/// Reads lines until one contains `needle`; everything read so far.
fn until(rx: &mpsc::Receiver<String>, needle: &str, seen: &mut String) {
    while !seen.contains(needle) {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => seen.push_str(&line),
            Err(_) => panic!("no {needle:?} in: {seen:?}"),
        }
    }
}

fn rest(mut child: Child, rx: mpsc::Receiver<String>, seen: &mut String) -> i32 {
    let status = child.wait().unwrap();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.push_str(&line);
    }
    status.code().unwrap_or(-1)
}

/// `octollm run` under a pty, answering the prompt with `answer`.
fn answered(dir: &Scratch, goal: &str, answer: &str) -> (i32, String) {
    let mut child = spawn(
        run_under_pty(BIN).envs(settings(dir)).env("GOAL", goal),
        Stdio::piped(),
    );
    let rx = lines_of(&mut child);
    let mut seen = String::new();
    // The prompt has no newline of its own; the answer's echo ends its line.
    let mut stdin = child.stdin.take().unwrap();
    until(&rx, "waits for approval", &mut seen);
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(answer.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let code = rest(child, rx, &mut seen);
    drop(stdin);
    (code, seen)
}

#[test]
fn run_asks_at_a_terminal_and_says_how_to_decide_elsewhere() {
    require_script();
    let dir = scratch("cli-approval");

    let (code, tty) = answered(&dir, "Echo 'approved at a terminal'", "y\n");
    assert_eq!(code, 0, "{tty}");
    assert!(tty.contains("$ echo 'approved at a terminal'"), "{tty}");
    assert!(tty.contains("Approve step 1? [y/N]"), "{tty}");
    assert!(tty.contains("needs shell_read"), "{tty}");
    assert!(tty.contains("because of shell_read"), "{tty}");
    assert!(tty.contains("Step 1 approved"), "{tty}");
    assert!(tty.contains("✓ completed"), "{tty}");

    let (code, tty) = answered(&dir, "Echo 'never shown'", "n\n");
    assert_eq!(code, 1, "{tty}");
    assert!(tty.contains("Step 1 rejected"), "{tty}");
    assert!(tty.contains("APPROVAL_REJECTED"), "{tty}");
    assert!(tty.contains("declined at the terminal"), "{tty}");

    // --approve-all asks nothing, whatever the terminal.
    let out = run_ok(
        Command::new(BIN)
            .args(["run", "--approve-all", "Echo 'all approved'"])
            .envs(settings(&dir))
            .stdin(Stdio::null()),
        "octollm run --approve-all",
    );
    let piped = String::from_utf8_lossy(&out.stdout);
    assert!(piped.contains("all approved"), "{piped}");
    assert!(!piped.contains("[y/N]"), "{piped}");

    // Through a pipe: it says how to decide and waits for it.
    let mut child = spawn(
        Command::new(BIN)
            .args(["run", "Echo 'decided elsewhere'"])
            .envs(settings(&dir)),
        Stdio::null(),
    );
    let rx = lines_of(&mut child);
    let mut seen = String::new();
    until(&rx, "--url", &mut seen);
    let command = seen
        .lines()
        .find(|l| l.trim_start().starts_with("octollm tasks approve"))
        .unwrap()
        .trim()
        .to_string();
    assert!(!seen.contains("[y/N]"), "{seen}");
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let out = run_ok(Command::new(BIN).args(&args), "octollm tasks approve");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Step 1 approved"), "{said}");
    let code = rest(child, rx, &mut seen);
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("decided elsewhere"), "{seen}");
}
