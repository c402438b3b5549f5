//! Per-execution overhead of `/bin/true`, side by side: a plain spawn, the
//! full sandbox, and bubblewrap with an equivalent policy. Needs root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use octollm_sandbox::{ExecSpec, Sandbox, SandboxConfig};

fn bwrap_command() -> Command {
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

fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("exec_true");
    g.measurement_time(Duration::from_secs(8)).sample_size(200);
    g.bench_function("plain_spawn", |b| {
        b.iter(|| {
            let st = Command::new("/bin/true")
                .stdin(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success());
        })
    });
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("full sandbox (run as root)");
    let spec = ExecSpec {
        program: "/bin/true".into(),
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    g.bench_function("octollm_sandbox", |b| {
        b.iter(|| {
            let o = sandbox.run(&spec, &mut |_, _| {}).unwrap();
            assert_eq!(o.exit_code, Some(0));
        })
    });
    match bwrap_command().status() {
        Ok(st) if st.success() => {
            g.bench_function("bwrap", |b| {
                b.iter(|| assert!(bwrap_command().status().unwrap().success()))
            });
        }
        other => eprintln!(
            "bwrap comparison NOT measured: bwrap is missing or failed ({other:?}); install the Debian package 'bubblewrap'"
        ),
    }
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
