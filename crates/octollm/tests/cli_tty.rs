//! `octollm run` as a person sees it on a terminal, and as a script sees it
//! through a pipe: under a pty the progress line is redrawn in place (a
//! spinner) and the outcome is marked; through a pipe every line is plain
//! text with no control sequence at all. Runs the real binary, which starts
//! its own in-process system with the real sandbox (needs root); the pty
//! comes from util-linux `script`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pty.rs"]
mod pty;

use std::process::{Command, Stdio};

use octollm_testkit::run_ok;
use pty::{own_system_settings, require_script, run_under_pty, scratch, Scratch};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Erases the terminal line before the spinner is drawn again.
const REDRAW: &str = "\r\x1b[2K";

fn settings(dir: &Scratch) -> Vec<(String, String)> {
    own_system_settings(dir, "cli-tty", 3_990_000)
}

#[test]
fn run_redraws_progress_on_a_terminal_and_writes_plain_lines_to_a_pipe() {
    require_script();
    let dir = scratch("cli-tty");
    let goal = "Echo 'hello from a terminal'";
    let out = run_ok(
        run_under_pty(BIN)
            .envs(settings(&dir))
            .env("GOAL", goal)
            .env_remove("NO_COLOR")
            .stdin(Stdio::null()),
        "octollm run under a pty",
    );
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains(REDRAW),
        "no spinner redraw on a terminal: {tty:?}"
    );
    assert!(tty.contains("✓ completed"), "{tty:?}");
    assert!(tty.contains("hello from a terminal"), "{tty:?}");

    let out = run_ok(
        Command::new(BIN)
            .args(["run", goal])
            .envs(settings(&dir))
            .stdin(Stdio::null()),
        "octollm run through a pipe",
    );
    let piped = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b),
        "control sequences in piped output: {piped:?}"
    );
    assert!(piped.contains("Plan (1 step"), "{piped}");
    assert!(piped.contains("✓ completed"), "{piped}");
    assert!(piped.contains("hello from a terminal"), "{piped}");
}
