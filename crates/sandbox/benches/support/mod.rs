//! The three ways of running `/bin/true` that the overhead measurements
//! compare: a plain spawn, the full sandbox, and bubblewrap with an
//! equivalent policy. Shared by `benches/spawn_overhead.rs` and
//! `examples/overhead_interleaved.rs` so that both measure the same thing.

use std::process::{Command, Stdio};
use std::time::Duration;

use octollm_sandbox::{ExecSpec, Sandbox, SandboxConfig};

/// `/bin/true` spawned directly, with no isolation at all.
pub fn plain_command() -> Command {
    let mut c = Command::new("/bin/true");
    c.stdin(Stdio::null());
    c
}

/// The full sandbox (needs root) and a spec that runs `/bin/true` in it.
pub fn sandbox_and_spec() -> (Sandbox, ExecSpec) {
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("full sandbox (run as root)");
    let spec = ExecSpec {
        program: "/bin/true".into(),
        timeout: Duration::from_secs(10),
        workspace: None,
        ..Default::default()
    };
    (sandbox, spec)
}

/// `/bin/true` under bubblewrap with a policy close to the sandbox's.
pub fn bwrap_command() -> Command {
    let mut c = Command::new("bwrap");
    c.args([
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/workspace",
        "--chdir",
        "/workspace",
        "--remount-ro",
        "/",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "/bin/true",
    ]);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}
