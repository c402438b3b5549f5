//! `octollm exec` must not let a sandboxed command drive the operator's
//! terminal: under a pty escape sequences arrive rendered as text, while a
//! pipe still gets the command's bytes unchanged. Runs the real binary and
//! the real sandbox (needs root); the pty comes from util-linux `script`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/pty.rs"]
mod pty;

use std::process::{Command, Stdio};

use octollm_testkit::run_ok;
use pty::{require_script, sandbox_settings, scratch, Scratch};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Prints, on stdout and stderr, an OSC 52 clipboard write, a window-title
/// set, a device-attributes query and a one-character (C1) CSI.
const HOSTILE: &str = "import sys\n\
for s in (sys.stdout, sys.stderr):\n    \
s.buffer.write(b'A\\x1b]52;c;cHduZWQ=\\x07B\\x1b]0;pwned\\x07C\\x1b[cD\\xc2\\x9b2JE\\n'); s.flush()\n";

/// Settings giving this test its own mount point, data directory, cgroup
/// and uid range.
fn settings(dir: &Scratch) -> Vec<(String, String)> {
    let mut s = sandbox_settings(dir, "exec-tty", 3_980_000);
    s.push((
        "OCTOLLM_EXECUTOR_DATA_DIR".into(),
        dir.0.join("data").to_string_lossy().into_owned(),
    ));
    s.push(("OCTOLLM_EXECUTOR_MAX_CONCURRENCY".into(), "1".into()));
    s
}

#[test]
fn escape_sequences_do_not_reach_a_terminal_but_pass_through_a_pipe() {
    require_script();
    let dir = scratch("exec-tty");
    // Under a pty: `script` runs the binary on a fresh terminal and copies
    // everything written to it to its own stdout.
    let line = format!("{BIN} exec -- python3 -c \"$HOSTILE\"");
    let out = run_ok(
        Command::new("script")
            .args(["-q", "-e", "-c", &line, "/dev/null"])
            .envs(settings(&dir))
            .env("HOSTILE", HOSTILE)
            .stdin(Stdio::null()),
        "octollm exec under a pty",
    );
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.stdout.contains(&0x1b),
        "raw ESC reached the terminal: {tty:?}"
    );
    assert!(
        !out.stdout.contains(&0x07),
        "raw BEL reached the terminal: {tty:?}"
    );
    assert!(
        !out.stdout.windows(2).any(|w| w == b"\xc2\x9b"),
        "raw CSI reached the terminal: {tty:?}"
    );
    // Both streams, rendered visibly.
    assert_eq!(
        tty.matches("A^[]52;c;cHduZWQ=^GB^[]0;pwned^GC^[[cD\\u{9b}2JE")
            .count(),
        2,
        "{tty:?}"
    );

    // Through pipes the bytes are the command's own.
    let out = run_ok(
        Command::new(BIN)
            .args(["exec", "--", "python3", "-c", HOSTILE])
            .envs(settings(&dir))
            .stdin(Stdio::null()),
        "octollm exec through pipes",
    );
    let raw: &[u8] = b"A\x1b]52;c;cHduZWQ=\x07B\x1b]0;pwned\x07C\x1b[cD\xc2\x9b2JE\n";
    assert_eq!(out.stdout, raw);
    assert!(
        out.stderr.ends_with(raw),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}
