//! Slot cgroups: the sandbox init is born in its slot's groups, the limits
//! hold on every reuse of a slot, per-run accounting is reset, nothing stays
//! in a slot after a run, the groups outlive the sandbox idle for the next
//! one, and a sandbox never shares groups another one holds. Needs root and
//! cgroup v1 memory + pids (as on the target host).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use octollm_sandbox::{ExecOutcome, ExecSpec, Sandbox, SandboxConfig};
use octollm_testkit::cgroup::{Group, SandboxCgroups};
use octollm_testkit::programs::{fork_bomb_forks, FORK_BOMB};

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Fixture {
    sandbox: Option<Sandbox>,
    parent: String,
    dir: PathBuf,
}

impl Fixture {
    fn new(edit: impl FnOnce(&mut SandboxConfig)) -> Fixture {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("octollm-sandbox-test-{tag}"));
        let mut config = SandboxConfig {
            root_dir: dir.join("root"),
            // Clear of the executor tests' ranges.
            uid_base: 3_600_000 + n * 100,
            cgroup_parent: format!("octollm-slot-test-{tag}"),
            ..SandboxConfig::default()
        };
        edit(&mut config);
        let parent = config.cgroup_parent.clone();
        Fixture {
            sandbox: Some(Sandbox::new(config).expect("full sandbox (run as root)")),
            parent,
            dir,
        }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    fn python(&self, code: &str) -> (ExecOutcome, String) {
        self.python_with(code, &mut |_| {})
    }

    fn python_with(&self, code: &str, on_output: &mut dyn FnMut(&[u8])) -> (ExecOutcome, String) {
        let spec = ExecSpec {
            program: "python3".into(),
            args: vec!["-c".into(), code.into()],
            stdin: Vec::new(),
            timeout: Duration::from_secs(20),
            workspace: None,
        };
        let o = self
            .sandbox()
            .run(&spec, &mut |_, chunk| on_output(chunk))
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        (o, out)
    }

    /// The slot groups, which must exist while the sandbox is used.
    fn slot_groups(&self) -> Vec<Group> {
        let cgroups = SandboxCgroups::locate(&self.parent);
        for p in cgroups.parents() {
            assert!(p.dir.is_dir(), "{} was not created", p.dir.display());
        }
        let groups = cgroups.groups();
        for g in &groups {
            assert!(g.is_slot(), "unexpected group {}", g.name);
        }
        groups
    }

    /// Between runs the slot groups hold nothing but our worker thread.
    fn assert_slots_idle(&self) {
        let groups = self.slot_groups();
        assert!(!groups.is_empty(), "no slot cgroup was created");
        for g in groups {
            let strays = g.foreign_tasks();
            assert!(strays.is_empty(), "{} holds {strays:?}", g.path.display());
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.sandbox.take());
        if let Ok(cgroups) = SandboxCgroups::try_locate(&self.parent) {
            cgroups.remove_parents();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const MEMORY_HOG: &str = r#"
chunks = []
for i in range(64):
    chunks.append(bytearray(32 << 20))
print("ALLOCATED-2GiB")
"#;

fn forks(out: &str) -> u64 {
    assert!(out.contains("stopped"), "fork bomb was not stopped: {out}");
    fork_bomb_forks(out).unwrap()
}

#[test]
fn slot_limits_hold_on_every_reuse_and_accounting_resets() {
    // One slot, so every run below reuses the same groups.
    let f = Fixture::new(|c| {
        c.slots = 1;
        c.pids_max = 32;
        c.memory_limit_bytes = 96 << 20;
    });
    for round in 0..2 {
        let (o, out) = f.python(FORK_BOMB);
        let n = forks(&out);
        // init + python + forks stay within pids.max.
        assert!(n + 2 <= 32, "round {round}: {n} forks");
        eprintln!("round {round}: stopped after {n} forks");
        assert!(!o.timed_out);
        f.assert_slots_idle();

        let (o, out) = f.python(MEMORY_HOG);
        assert!(!out.contains("ALLOCATED"), "round {round}: {out}");
        assert_ne!(o.exit_code, Some(0), "round {round}");
        assert!(
            o.oom_killed,
            "round {round}: the slot's memory cgroup did not act"
        );
        assert!(o.peak_rss_bytes <= 128 << 20, "peak {}", o.peak_rss_bytes);
        f.assert_slots_idle();

        // The next run in the slot starts with clean accounting.
        let (o, out) = f.python("print('fine')");
        assert_eq!(o.exit_code, Some(0), "{out}");
        assert!(
            !o.oom_killed,
            "an earlier run's OOM kill leaked into this one"
        );
        f.assert_slots_idle();
    }
}

#[test]
fn an_oom_kill_in_a_slot_never_picks_the_server_even_when_it_is_larger() {
    // The init shares the server's memory, so the OOM killer would see it as
    // the slot's biggest process (and killing it kills every process sharing
    // that memory: the server). Make this process far larger than the limit.
    let ballast: Vec<u8> = vec![1u8; 256 << 20];
    let touched: u64 = ballast.iter().step_by(4096).map(|b| u64::from(*b)).sum();
    let f = Fixture::new(|c| {
        c.slots = 1;
        c.memory_limit_bytes = 48 << 20;
    });
    for round in 0..2 {
        let (o, out) = f.python(MEMORY_HOG);
        assert!(!out.contains("ALLOCATED"), "round {round}: {out}");
        assert!(o.oom_killed, "round {round}: no OOM kill");
        f.assert_slots_idle();
    }
    // Still here, and the sandbox still works.
    let (o, out) = f.python("print('alive')");
    assert_eq!(o.exit_code, Some(0), "{out}");
    assert_eq!(touched, (256u64 << 20) / 4096);
}

#[test]
fn the_sandbox_is_born_in_its_slot_cgroup() {
    let f = Fixture::new(|c| c.slots = 2);
    let mut seen: Vec<u32> = Vec::new();
    let mut looked = false;
    // While the program is still running (it has printed and now sleeps),
    // the slot groups must hold its processes.
    let (o, out) = f.python_with(
        "import time\nprint('running', flush=True)\ntime.sleep(1)",
        &mut |_| {
            if !looked {
                looked = true;
                for g in f.slot_groups() {
                    seen.extend(g.foreign_tasks());
                }
            }
        },
    );
    assert_eq!(o.exit_code, Some(0), "{out}");
    assert!(looked);
    // init and python, in both the memory and the pids group.
    assert!(seen.len() >= 4, "slot groups held {seen:?} during the run");
    f.assert_slots_idle();
}

/// The shared slot groups of `f`'s sandbox: `slot-u<uid>` under each
/// parent, for the uids its runs used.
fn shared_groups(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = SandboxCgroups::locate(&f.parent)
        .groups()
        .into_iter()
        .map(|g| g.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn slot_groups_outlive_the_sandbox_idle_and_the_next_one_reuses_them() {
    let mut f = Fixture::new(|c| c.slots = 3);
    let base = f.sandbox().config().uid_base;
    let spec = ExecSpec {
        program: "true".into(),
        timeout: Duration::from_secs(10),
        workspace: None,
        ..Default::default()
    };
    let run_three = |sandbox: &Sandbox| {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    let o = sandbox.run(&spec, &mut |_, _| {}).unwrap();
                    assert_eq!(o.exit_code, Some(0));
                });
            }
        });
    };
    run_three(f.sandbox());
    let used = shared_groups(&f);
    assert!(!used.is_empty());
    for name in &used {
        let uid: u32 = name
            .strip_prefix("slot-u")
            .and_then(|u| u.parse().ok())
            .unwrap_or_else(|| panic!("{name} is not a shared slot group"));
        assert!((base..base + 3).contains(&uid), "{name}");
    }
    drop(f.sandbox.take());
    // What stays holds nothing: not our worker threads, not a sandbox.
    for g in SandboxCgroups::locate(&f.parent).groups() {
        let tasks = std::fs::read_to_string(g.path.join("tasks")).unwrap();
        assert!(
            tasks.trim().is_empty(),
            "{} holds {tasks}",
            g.path.display()
        );
    }
    assert_eq!(shared_groups(&f), used, "the groups stay for the next user");

    // A new sandbox on the same slots makes no groups of its own, and its
    // limits replace the last one's (a higher memory limit included, which
    // the kernel refuses while the swap limit is still the old, lower one).
    let limit = SandboxConfig::default().memory_limit_bytes * 2;
    let config = SandboxConfig {
        root_dir: f.dir.join("root2"),
        uid_base: base,
        slots: 3,
        cgroup_parent: f.parent.clone(),
        memory_limit_bytes: limit,
        pids_max: 40,
        ..SandboxConfig::default()
    };
    f.sandbox = Some(Sandbox::new(config).unwrap());
    run_three(f.sandbox());
    let again = shared_groups(&f);
    assert!(
        again.iter().all(|n| used.contains(n)),
        "{again:?} against {used:?}"
    );
    for g in SandboxCgroups::locate(&f.parent).groups() {
        let read = |file: &str| std::fs::read_to_string(g.path.join(file)).ok();
        for file in ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"] {
            if let Some(v) = read(file) {
                assert_eq!(v.trim(), limit.to_string(), "{}/{file}", g.path.display());
            }
        }
        if let Some(v) = read("pids.max") {
            assert_eq!(v.trim(), "41", "{}", g.path.display());
        }
    }
    f.assert_slots_idle();
}

#[test]
fn a_second_sandbox_on_held_slots_runs_in_groups_of_its_own() {
    let f = Fixture::new(|c| c.slots = 1);
    let (o, _) = f.python("print('first')");
    assert_eq!(o.exit_code, Some(0));
    // The first sandbox's slot worker holds `slot-u<base>` from now on; a
    // second sandbox of the same slots and parent must not share it (its
    // after-run check would kill the other's processes).
    let second = Sandbox::new(SandboxConfig {
        root_dir: f.dir.join("root2"),
        ..f.sandbox().config().clone()
    })
    .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let spec = ExecSpec {
        program: "python3".into(),
        args: vec![
            "-c".into(),
            "import time\nprint('running', flush=True)\ntime.sleep(1)".into(),
        ],
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let o = second
        .run(&spec, &mut |_, _| {
            if seen.is_empty() {
                for g in f.slot_groups() {
                    if !g.foreign_tasks().is_empty() {
                        seen.push(g.name.clone());
                    }
                }
            }
        })
        .unwrap();
    assert_eq!(o.exit_code, Some(0));
    assert!(!seen.is_empty(), "the second sandbox ran in no group");
    for name in &seen {
        let own = format!("slot-{}-", std::process::id());
        assert!(
            name.starts_with(&own),
            "ran in {name}, not a group of its own"
        );
    }
    drop(second);
    // Its own groups go with it; the shared ones stay with the first.
    let left = SandboxCgroups::locate(&f.parent).groups();
    assert!(
        left.iter().all(|g| g.name.starts_with("slot-u")),
        "{:?}",
        left.iter().map(|g| &g.name).collect::<Vec<_>>()
    );
    f.assert_slots_idle();
}

#[test]
fn the_predicted_layers_are_the_ones_a_sandbox_gets() {
    // What `octollm doctor` reports is read without setting anything up;
    // it must match what building the sandbox finds, with and without a
    // CPU quota.
    for cpu_limit in [1.0, 0.0] {
        let f = Fixture::new(|c| c.cpu_limit = cpu_limit);
        let predicted = octollm_sandbox::HostSupport::probe().readiness(f.sandbox().config());
        assert_eq!(
            predicted.layers,
            f.sandbox().layers_available(),
            "cpu {cpu_limit}"
        );
        assert_eq!(
            predicted.missing,
            f.sandbox().layers_missing(),
            "cpu {cpu_limit}"
        );
        assert!(predicted.verdict(false).is_ok());
    }
}
