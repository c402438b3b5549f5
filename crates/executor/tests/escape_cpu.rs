//! CPU and resource accounting, through the real HTTP API and the real
//! sandbox: CPU spinners are held to the execution's CPU quota, and the
//! usage in provenance is the execution cgroup's (shared memory included),
//! not the sandbox init's rusage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{output, Server};
use octollm_testkit::cgroup::{Hierarchy, SandboxCgroups};
use serde_json::{json, Value};

/// CPU time charged so far to every group of the sandbox, read from the
/// host: the parent group aggregates its slot (v1) or per-execution (v2)
/// groups, including removed ones.
fn host_cpu_usage(parent: &str) -> Duration {
    let cgroups = SandboxCgroups::locate(parent);
    let files: Vec<(Hierarchy, PathBuf)> = cgroups
        .parents()
        .iter()
        .map(|p| match p.hierarchy {
            Hierarchy::V1 => (p.hierarchy, p.dir.join("cpuacct.usage")),
            Hierarchy::V2 => (p.hierarchy, p.dir.join("cpu.stat")),
        })
        .filter(|(_, f)| f.exists())
        .collect();
    let (hierarchy, file) = files
        .first()
        .unwrap_or_else(|| panic!("no CPU accounting for the sandbox's groups: {cgroups:?}"));
    let text = std::fs::read_to_string(file).unwrap();
    match hierarchy {
        Hierarchy::V1 => Duration::from_nanos(text.trim().parse().unwrap()),
        Hierarchy::V2 => {
            let usec = text
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            Duration::from_micros(usec)
        }
    }
}

fn usage(v: &Value) -> (Duration, u64, Duration) {
    let p = &v["provenance"];
    let cpu = Duration::from_millis(p["resource_usage"]["cpu_time_ms"].as_u64().unwrap());
    let mem = p["resource_usage"]["max_memory_bytes"].as_u64().unwrap();
    let wall = Duration::from_millis(p["execution_duration_ms"].as_u64().unwrap());
    (cpu, mem, wall)
}

fn layers(v: &Value) -> Vec<String> {
    v["provenance"]["sandbox"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// Four processes that spin for two seconds of wall time each, then print
/// the CPU time they got.
const SPINNERS: &str = r#"
import os, time
end = time.time() + 2.0
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        while time.time() < end:
            pass
        print("spun", time.process_time(), flush=True)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
"#;

#[tokio::test]
async fn four_spinners_get_one_cpu() {
    let s = Server::start().await;
    assert_eq!(s.config.cpu_limit, 1.0, "the default is one CPU");
    let parent = s.config.sandbox_cgroup_parent.clone();
    // Create the groups first (the sandbox is built on the first request).
    let (_, v) = s.shell("echo", &[]).await;
    assert_eq!(v["success"], true, "{v}");
    let host_before = host_cpu_usage(&parent);
    let started = Instant::now();
    let (status, v) = s.python(SPINNERS).await;
    let host_wall = started.elapsed();
    let host_cpu = host_cpu_usage(&parent).saturating_sub(host_before);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true, "{v}");
    assert!(layers(&v).iter().any(|l| l == "cgroup_cpu"), "{v}");

    // What the spinners themselves got, over their two-second window.
    let spun: Vec<f64> = output(&v)
        .lines()
        .filter_map(|l| l.strip_prefix("spun "))
        .map(|t| t.trim().parse().unwrap())
        .collect();
    assert_eq!(spun.len(), 4, "all four spinners ran: {v}");
    let self_reported: f64 = spun.iter().sum();

    let (cpu, _, wall) = usage(&v);
    eprintln!(
        "four spinners: self-reported {self_reported:.2} s CPU in 2 s; provenance {cpu:?} CPU in \
         {wall:?}; host cgroup delta {host_cpu:?} in {host_wall:?} ({} host CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // They really ran (not a vacuous pass)...
    assert!(self_reported > 0.5, "spinners got {self_reported} s");
    assert!(cpu > Duration::from_millis(500), "provenance cpu {cpu:?}");
    assert!(
        host_cpu > Duration::from_millis(500),
        "host saw {host_cpu:?}"
    );
    // ...on at most ~1.3 CPUs, by each measure.
    assert!(
        self_reported <= 2.0 * 1.3,
        "spinners used {self_reported:.2} s of CPU in 2 s"
    );
    assert!(
        cpu.as_secs_f64() <= wall.as_secs_f64() * 1.3,
        "provenance: {cpu:?} of CPU in {wall:?}"
    );
    assert!(
        host_cpu.as_secs_f64() <= host_wall.as_secs_f64() * 1.3,
        "host: {host_cpu:?} of CPU in {host_wall:?}"
    );
    // Provenance reports the group's time, as the host sees it.
    let diff = (host_cpu.as_secs_f64() - cpu.as_secs_f64()).abs();
    assert!(diff < 0.25, "provenance {cpu:?} vs host {host_cpu:?}");
    s.assert_clean().await;
}

#[tokio::test]
async fn a_fractional_cpu_limit_holds() {
    let s = Server::start_with(|c| c.cpu_limit = 0.5).await;
    let (_, v) = s.python(SPINNERS).await;
    assert_eq!(v["success"], true, "{v}");
    let (cpu, _, wall) = usage(&v);
    eprintln!("four spinners at cpu_limit 0.5: {cpu:?} CPU in {wall:?}");
    assert!(cpu > Duration::from_millis(300), "{cpu:?}");
    assert!(
        cpu.as_secs_f64() <= wall.as_secs_f64() * 0.7,
        "{cpu:?} of CPU in {wall:?}"
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn cpu_limit_zero_means_no_quota_and_no_layer() {
    let s = Server::start_with(|c| c.cpu_limit = 0.0).await;
    let (_, v) = s.shell("echo", &[]).await;
    assert_eq!(v["success"], true, "{v}");
    assert!(!layers(&v).iter().any(|l| l == "cgroup_cpu"), "{v}");
    assert!(v["provenance"]["sandbox"].get("missing").is_none(), "{v}");
    s.assert_clean().await;
}

const LIMIT: u64 = 96 << 20;

fn assert_peak_near_limit(what: &str, v: &Value) {
    assert_eq!(v["success"], false, "{what}: {v}");
    assert!(!output(v).contains("DONE"), "{what}: {v}");
    let (_, peak, _) = usage(v);
    eprintln!(
        "{what}: peak {} MiB of a {} MiB limit",
        peak >> 20,
        LIMIT >> 20
    );
    assert!(peak >= LIMIT / 10 * 8, "{what}: peak {peak} of {LIMIT}");
    assert!(peak <= LIMIT + (1 << 20), "{what}: peak {peak} of {LIMIT}");
}

#[tokio::test]
async fn a_shared_memory_hog_reports_its_real_peak() {
    let s = Server::start_with(|c| {
        c.memory_limit_bytes = LIMIT;
        // Room on /tmp for more than the memory limit.
        c.tmp_size_bytes = 512 << 20;
    })
    .await;
    let hogs = [
        // Shared anonymous memory: charged to the group, never to anyone's
        // private RSS.
        (
            "MAP_SHARED|MAP_ANONYMOUS",
            r#"
import mmap
m = mmap.mmap(-1, 512 << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
for i in range(512):
    m.write(b"\1" * (1 << 20))
print("DONE")
"#,
        ),
        // tmpfs pages written through write(): mapped by nobody at all
        // (files of 8 MiB, under RLIMIT_FSIZE).
        (
            "tmpfs file",
            r#"
for n in range(64):
    with open(f"/tmp/hog{n}", "wb") as f:
        for i in range(8):
            f.write(b"\1" * (1 << 20))
print("DONE")
"#,
        ),
    ];
    for (what, code) in hogs {
        let (_, v) = s.python(code).await;
        assert_peak_near_limit(what, &v);
    }
    s.assert_clean().await;
}

#[tokio::test]
async fn a_short_command_reports_plausible_usage() {
    let s = Server::start_with(|c| c.memory_limit_bytes = LIMIT).await;
    // A busy run first: the slot's groups are reused, and the next run must
    // not be charged for it.
    let (_, v) = s
        .python(
            r#"
import time
x = bytearray(48 << 20)
end = time.time() + 0.5
while time.time() < end:
    pass
print("DONE")
"#,
        )
        .await;
    assert_eq!(v["success"], true, "{v}");
    let (busy_cpu, busy_peak, _) = usage(&v);
    assert!(busy_cpu >= Duration::from_millis(200), "{v}");
    assert!(busy_peak >= 48 << 20, "{v}");
    for _ in 0..2 {
        let (status, v) = s
            .post(json!({"action_type": "shell", "command": "echo", "args": ["hi"]}))
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["success"], true, "{v}");
        let (cpu, peak, wall) = usage(&v);
        eprintln!("echo: {cpu:?} CPU, peak {peak} bytes, in {wall:?}");
        assert!(
            cpu <= wall + Duration::from_millis(50),
            "{cpu:?} in {wall:?}"
        );
        assert!(
            cpu < Duration::from_millis(150),
            "charged for the earlier run: {cpu:?}"
        );
        assert!(peak > 0, "{v}");
        assert!(peak < 16 << 20, "echo peaked at {peak}");
    }
    s.assert_clean().await;
}
