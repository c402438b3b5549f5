//! The executor arm's sandbox: run one untrusted command, contained.
//!
//! The allowlist in front of this crate is not a security boundary (it lets
//! `python3` through), so everything here assumes the program is hostile.
//! One execution gets, in the order they are applied:
//!
//! | layer | what it stops |
//! |---|---|
//! | user namespace mapped to a per-slot unprivileged host uid | host root powers; signalling other sandboxes |
//! | mount namespace; a tmpfs root, `/tmp` and `/workspace` the executor makes per run and the device nodes it makes per sandbox (`mounts`); `/usr` a read-only overlay; `pivot_root`, old root detached, `/` read-only | seeing or changing host files; the mount table naming host devices, uids or memory |
//! | a task's workspace (a quota-sized tmpfs of its own, handed to the slot uid) bound at `/workspace`, its inputs read-only at `/workspace/in` ([`workspace`]) | filling the host's disk; one task reading or changing another's files |
//! | pid namespace with our own PID 1 | seeing or signalling host processes; orphans outliving the run |
//! | `/proc` masks (`/dev/null` or an empty read-only directory over host-naming entries); PID 1 renamed `init`, its argument strings erased | the kernel command line, boot id, disks, kernel symbols; the server's own command line through `/proc/1/cmdline` |
//! | net namespace with only loopback | any network egress |
//! | ipc, uts, cgroup namespaces | host SysV IPC, hostname, cgroup paths |
//! | cgroup memory + pids + CPU quota (the init is born in them, see `cgroup`); usage read from the groups | memory hogs, fork bombs, CPU hogs starving the host |
//! | rlimits, every one set (never the server's) | CPU, address space, stack, file size, open files, core dumps, locked memory, queued signals, real-time priority, nice |
//! | capabilities dropped (bounding set too), securebits locked, `no_new_privs` | regaining privilege via exec or setuid files |
//! | Landlock | writes outside `/workspace` and `/tmp`; TCP bind/connect; signals out of the domain |
//! | seccomp | mount, namespaces, ptrace, bpf, perf, kexec, modules, keys, io_uring; inotify/fanotify/dnotify (host activity on the shared `/usr`); every socket but AF_UNIX and AF_INET/AF_INET6 TCP (no raw, packet, netlink, vsock, MPTCP, SCTP; UDP only with `allow_udp`, since cgroup v1 does not charge its buffers) |
//! | clean environment, output caps, wall-clock timeout | secret leaks, output floods, runaway processes |
//!
//! The API is blocking: [`Sandbox::run`] supervises the process on the
//! calling thread (async callers use `spawn_blocking`).

#![allow(unsafe_code)]

mod cgroup;
mod child;
mod config;
mod landlock;
mod layers;
mod mounts;
mod plan;
mod seccomp;
mod slot;
mod supervise;
mod sys;
pub mod workspace;

use std::time::Duration;

use parking_lot::{Condvar, Mutex};

pub use cgroup::{CgroupVersion, Controller};
pub use config::{ExecSpec, SandboxConfig};
pub use layers::{HostSupport, Layer, Readiness};
pub use plan::WORKSPACE;
pub use seccomp::DENIED_SUMMARY as SECCOMP_DENIED;
pub use workspace::WorkspaceMount;

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The result of one execution.
#[derive(Debug, Clone, Default)]
pub struct ExecOutcome {
    /// Captured stdout, at most `stdout_cap` bytes.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// Exit status when the command exited normally.
    pub exit_code: Option<i32>,
    /// Signal that ended the command, if any.
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// The memory cgroup killed something for exceeding its limit.
    pub oom_killed: bool,
    pub duration: Duration,
    /// CPU time of everything that ran in the execution's cgroup (the
    /// init's rusage only on a host without one).
    pub cpu_time: Duration,
    /// Peak memory charged to the execution's cgroup, shared memory and
    /// page cache included (the init's max RSS only without one).
    pub peak_rss_bytes: u64,
    /// Layers that were in force.
    pub layers: Vec<Layer>,
    /// Layers that were wanted but not applied (degraded mode only).
    pub missing: Vec<Layer>,
}

impl ExecOutcome {
    /// A shell-style status: the exit code, or 128 + signal.
    pub fn status_code(&self) -> i32 {
        match (self.exit_code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => -1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("sandbox layers unavailable on this host: {}", names(.0))]
    Unavailable(Vec<Layer>),
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    #[error("command not found in the sandbox PATH: {0}")]
    NotFound(String),
    #[error("arguments must not contain NUL bytes")]
    InvalidArgument,
    #[error("sandbox set-up failed at {stage}: {source}")]
    Setup {
        stage: String,
        source: std::io::Error,
    },
    #[error("exec failed inside the sandbox: {0}")]
    Exec(std::io::Error),
    #[error("sandbox I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn names(layers: &[Layer]) -> String {
    layers
        .iter()
        .map(|l| l.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A configured sandbox; cheap to share (`Arc`) between threads.
pub struct Sandbox {
    config: SandboxConfig,
    root: plan::RootPlan,
    cgroups: cgroup::CgroupParents,
    layers: Vec<Layer>,
    missing: Vec<Layer>,
    running: std::sync::atomic::AtomicUsize,
    /// Indexed by `uid - uid_base`; only the holder of that uid locks it.
    slots: Vec<Mutex<slot::Slot>>,
    /// Slot groups that could not be emptied after a run; removed on drop.
    retired: Mutex<Vec<cgroup::SlotCgroup>>,
}

/// Host uids in use by any sandbox of this process. Slots are tracked
/// process-wide so two `Sandbox` values with overlapping uid ranges still
/// never run two executions under one uid.
static UIDS_IN_USE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static UID_FREED: Condvar = Condvar::new();

impl Sandbox {
    /// What this host offers, without setting anything up.
    pub fn probe() -> HostSupport {
        HostSupport::probe()
    }

    /// Prepares the sandbox: probes the host, creates the mount point and the
    /// parent cgroups, builds the seccomp program and the root recipe. Fails
    /// closed when a layer is missing, unless `allow_degraded` is set (the
    /// structural layers — namespaces, pivot_root — are never optional).
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        if config.slots == 0 {
            return Err(SandboxError::Config("slots must be at least 1".into()));
        }
        if config.uid_base == 0 || config.uid_base.checked_add(config.slots).is_none() {
            return Err(SandboxError::Config(
                "uid_base must be a non-root uid range".into(),
            ));
        }
        if !config.cpu_limit.is_finite() || !(0.0..=4096.0).contains(&config.cpu_limit) {
            return Err(SandboxError::Config(
                "cpu_limit must be a number of CPUs between 0 (no limit) and 4096".into(),
            ));
        }
        let want_cpu = cgroup::cpu_quota_us(config.cpu_limit).is_some();
        let support = HostSupport::probe();
        let mut ready = support.wanted(want_cpu);
        let cgroups =
            cgroup::CgroupParents::create(&support.cgroups, &config.cgroup_parent, want_cpu);
        for (layer, ok) in [
            (Layer::CgroupMemory, cgroups.has_memory()),
            (Layer::CgroupPids, cgroups.has_pids()),
            (Layer::CgroupCpu, cgroups.has_cpu()),
        ] {
            if !ok {
                ready.lose(layer);
            }
        }
        ready.verdict(config.allow_degraded)?;
        let layers::Readiness { layers, missing } = ready;
        // Readying the first slot (its groups and worker thread) is system
        // calls and a thread start, building the root recipe mostly our own
        // work: side by side they overlap on a second core, which a
        // one-shot command, whose first run follows at once, gains from. A
        // slot that fails here is readied again, with the error, by `run`.
        let mut first = slot::Slot::default();
        let limits = cgroup::Limits::of(&config);
        let root = std::thread::scope(|s| {
            let ready = s.spawn(|| first.prepare(0, config.uid_base, &cgroups, limits));
            let root = build_root_plan(&config, &layers, &support);
            let _ = ready.join();
            root
        })?;
        let mut slots: Vec<Mutex<slot::Slot>> = vec![Mutex::new(first)];
        slots.extend((1..config.slots).map(|_| Mutex::default()));
        Ok(Sandbox {
            config,
            root,
            cgroups,
            layers,
            missing,
            running: std::sync::atomic::AtomicUsize::new(0),
            slots,
            retired: Mutex::new(Vec::new()),
        })
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Layers every execution gets on this host.
    pub fn layers_available(&self) -> &[Layer] {
        &self.layers
    }

    /// Layers this host cannot provide (non-empty only in degraded mode).
    pub fn layers_missing(&self) -> &[Layer] {
        &self.missing
    }

    /// Executions running right now.
    pub fn slots_in_use(&self) -> usize {
        self.running.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `spec` to completion or timeout, streaming output chunks to `sink`
    /// (up to the caps) and returning the captured result. Blocks; waits for
    /// a free slot first when all are busy.
    pub fn run(
        &self,
        spec: &ExecSpec,
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, SandboxError> {
        if spec.timeout.is_zero() {
            return Err(SandboxError::Config("timeout must be positive".into()));
        }
        let uid = self.acquire_uid();
        self.running
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.run_in_slot(uid, spec, sink);
        self.running
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        self.release_uid(uid);
        result
    }

    fn run_in_slot(
        &self,
        uid: u32,
        spec: &ExecSpec,
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> Result<ExecOutcome, SandboxError> {
        let index = (uid - self.config.uid_base) as usize;
        let slot = self
            .slots
            .get(index)
            .ok_or_else(|| SandboxError::Config("uid outside the slot range".into()))?;
        // Uncontended: only the holder of `uid` takes this lock.
        let mut slot = slot.lock();
        // Open before the run, held until it ends: the init binds them by
        // descriptor (see `plan::RunPlan::workspace`).
        let ws_files = match &spec.workspace {
            Some(ws) => {
                workspace::hand_over(&ws.dir, uid)?;
                Some((
                    workspace::detached(&ws.dir)?,
                    workspace::detached(&ws.inputs)?,
                ))
            }
            None => None,
        };
        let ws_fds = ws_files.as_ref().map(|(d, i)| {
            use std::os::fd::AsRawFd;
            (d.as_raw_fd(), i.as_raw_fd())
        });
        // Also held until the run ends, for the same reason.
        let fresh = mounts::RunMounts::create(&self.root.mounts, uid, ws_fds.is_none())?;
        let result =
            plan::RunPlan::build(&self.config, spec, uid, ws_fds, &fresh).and_then(|run| {
                slot.prepare(index, uid, &self.cgroups, cgroup::Limits::of(&self.config))?;
                supervise::run(self, &mut slot, &run, spec, sink)
            });
        // Also after a failed run: the init is reaped by now either way, and
        // nothing of it may stay in the slot for the next execution.
        match slot.finish_run() {
            Ok(()) => result,
            Err(retired) => {
                let slot::Retired { error, cgroup } = *retired;
                self.retired.lock().extend(cgroup);
                Err(error)
            }
        }
    }

    fn acquire_uid(&self) -> u32 {
        let mut used = UIDS_IN_USE.lock();
        loop {
            let free = (0..self.config.slots)
                .map(|i| self.config.uid_base + i)
                .find(|uid| !used.contains(uid));
            if let Some(uid) = free {
                used.push(uid);
                return uid;
            }
            UID_FREED.wait(&mut used);
        }
    }

    fn release_uid(&self, uid: u32) {
        UIDS_IN_USE.lock().retain(|u| *u != uid);
        UID_FREED.notify_all();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Stops the slot workers, then removes their groups (a group can only
        // be removed once its worker thread has exited).
        self.slots.clear();
        self.retired.lock().clear();
        self.cgroups.remove_if_empty();
    }
}

/// The seccomp program, the Landlock policy and the root recipe for the
/// layers in force.
fn build_root_plan(
    config: &SandboxConfig,
    layers: &[Layer],
    support: &HostSupport,
) -> Result<plan::RootPlan, SandboxError> {
    let landlock = if layers.contains(&Layer::Landlock) {
        landlock::Policy::for_abi(support.landlock_abi)
    } else {
        None
    };
    let seccomp = if layers.contains(&Layer::Seccomp) {
        seccomp::build(config.allow_udp)
    } else {
        None
    };
    prepare_root_dir(&config.root_dir)?;
    let kit = mounts::Kit::create(plan::DEV_NODES)?;
    plan::RootPlan::build(config, kit, support.overlay_in_userns, landlock, seccomp)
}

/// The mount point must exist, be a real directory (not a symlink an
/// attacker could redirect) and be traversable by the unprivileged slot uid.
fn prepare_root_dir(dir: &std::path::Path) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(SandboxError::Config(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    let mut parent = dir.parent();
    while let Some(p) = parent {
        let mode = std::fs::metadata(p)?.permissions().mode();
        if mode & 0o001 == 0 {
            return Err(SandboxError::Config(format!(
                "{} must be searchable by other users (the sandbox uid)",
                p.display()
            )));
        }
        parent = p.parent();
    }
    Ok(())
}

pub(crate) fn timeout_grace() -> Duration {
    Duration::from_millis(500)
}
