//! cgroups: the memory limit, `pids.max`, the CPU quota, and where a run's
//! CPU time and peak memory are read.
//!
//! RLIMIT_NPROC is not enough against a fork bomb (it is per uid and does not
//! bind a process that is root in the init namespace), so `pids.max` on a
//! cgroup that holds the whole sandbox is the real defence. Our groups live
//! under `<our own cgroup>/<cgroup_parent>/`: this process may itself sit in a
//! nested (and limited) cgroup, and its children must stay inside it.
//!
//! Nothing is ever *moved* into a group per execution. Moving a task (a write
//! to `cgroup.procs`) takes the kernel's global threadgroup rwsem for writing,
//! which waits for an RCU grace period: that alone cost more than the whole
//! rest of an execution. Instead the sandbox init is *born* in its groups:
//! - cgroup v1 (memory and pids here) lets single threads join a group, so
//!   each concurrency slot has its own long-lived groups ([`SlotCgroup`]) and
//!   a worker thread that joined them once; every init it clones starts
//!   inside them. Per-run accounting is reset between runs, and the groups
//!   are checked empty after each run. They also outlive the process, named
//!   for the slot's uid and locked by whoever uses them, because making and
//!   removing them was a large share of a one-shot command.
//! - cgroup v2 has no per-thread membership for domain controllers, but
//!   `clone3(CLONE_INTO_CGROUP)` creates the init directly in a fresh
//!   per-execution group ([`ExecCgroup`]).
//!
//! The CPU quota is `cpu.cfs_quota_us` on v1 (per slot) and `cpu.max` on v2.
//! Usage is the group's, not the init's rusage (which misses whatever the
//! init did not reap and all shared memory): v1 `cpuacct.usage` (a counter,
//! so a run's share is its increase) and `memory.max_usage_in_bytes`
//! (reset per run), v2 `cpu.stat usage_usec` and `memory.peak`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which hierarchy a controller lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Directory that will hold the per-execution groups of one controller.
#[derive(Debug, Clone)]
pub struct ControllerDir {
    pub version: CgroupVersion,
    /// This process's own cgroup directory for the controller.
    pub own: PathBuf,
}

/// The controllers this host lets us use.
#[derive(Debug, Clone, Default)]
pub struct CgroupSupport {
    pub memory: Option<ControllerDir>,
    pub pids: Option<ControllerDir>,
    /// The CPU bandwidth controller (the quota).
    pub cpu: Option<ControllerDir>,
    /// cgroup v1 CPU accounting (v2 accounts CPU in every group).
    pub cpuacct: Option<ControllerDir>,
}

struct CgroupMount {
    fstype: String,
    mount_point: PathBuf,
    root: String,
    options: String,
}

fn mounts() -> Vec<CgroupMount> {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        if post[0] == "cgroup" || post[0] == "cgroup2" {
            out.push(CgroupMount {
                fstype: post[0].to_string(),
                root: pre[3].to_string(),
                mount_point: PathBuf::from(pre[4]),
                options: post[2].to_string(),
            });
        }
    }
    out
}

/// `/proc/self/cgroup` as (controllers, path) pairs; v2 has empty controllers.
fn own_groups() -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string("/proc/self/cgroup") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            Some((it.next()?.to_string(), it.next()?.to_string()))
        })
        .collect()
}

fn join(mount: &CgroupMount, path: &str) -> PathBuf {
    // The mount may expose a sub-tree (container hosts); the path in
    // /proc/self/cgroup is absolute in the hierarchy.
    let rel = path
        .strip_prefix(mount.root.trim_end_matches('/'))
        .unwrap_or(path);
    mount.mount_point.join(rel.trim_start_matches('/'))
}

/// One controller as the host offers it to this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `memory`, `pids`, `cpu` or `cpuacct`.
    pub name: &'static str,
    /// The hierarchy it is in; `None` when this process cannot use it.
    pub version: Option<CgroupVersion>,
    /// This process may create groups under its own for it (its cgroup is
    /// delegated: writable, and for v2 its `cgroup.subtree_control` too).
    pub delegated: bool,
}

/// Whether this process may write `path` (`access(2)`, so a read-only
/// mount counts as not writable even for root).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

impl ControllerDir {
    /// Whether groups can be made under this process's own group: the
    /// prediction of what [`CgroupParents::create`] will manage, made
    /// without creating anything.
    pub fn delegated(&self) -> bool {
        writable(&self.own)
            && (self.version == CgroupVersion::V1
                || writable(&self.own.join("cgroup.subtree_control")))
    }
}

impl CgroupSupport {
    /// Every controller the sandbox uses, found or not; `cpuacct` only
    /// where it exists (cgroup v1: v2 accounts CPU in every group).
    pub fn controllers(&self) -> Vec<Controller> {
        [
            ("memory", &self.memory),
            ("pids", &self.pids),
            ("cpu", &self.cpu),
            ("cpuacct", &self.cpuacct),
        ]
        .into_iter()
        .filter(|(name, dir)| *name != "cpuacct" || dir.is_some())
        .map(|(name, dir)| Controller {
            name,
            version: dir.as_ref().map(|d| d.version),
            delegated: dir.as_ref().is_some_and(ControllerDir::delegated),
        })
        .collect()
    }

    pub fn probe() -> CgroupSupport {
        let mounts = mounts();
        let groups = own_groups();
        let v1 = |ctrl: &str| -> Option<ControllerDir> {
            let m = mounts
                .iter()
                .find(|m| m.fstype == "cgroup" && m.options.split(',').any(|o| o == ctrl))?;
            let (_, path) = groups
                .iter()
                .find(|(c, _)| c.split(',').any(|c| c == ctrl))?;
            let own = join(m, path);
            own.is_dir().then_some(ControllerDir {
                version: CgroupVersion::V1,
                own,
            })
        };
        let v2 = |ctrl: &str| -> Option<ControllerDir> {
            let m = mounts.iter().find(|m| m.fstype == "cgroup2")?;
            let (_, path) = groups.iter().find(|(c, _)| c.is_empty())?;
            let own = join(m, path);
            let controllers = fs::read_to_string(own.join("cgroup.controllers")).ok()?;
            controllers
                .split_whitespace()
                .any(|c| c == ctrl)
                .then_some(ControllerDir {
                    version: CgroupVersion::V2,
                    own,
                })
        };
        CgroupSupport {
            memory: v1("memory").or_else(|| v2("memory")),
            pids: v1("pids").or_else(|| v2("pids")),
            cpu: v1("cpu").or_else(|| v2("cpu")),
            cpuacct: v1("cpuacct"),
        }
    }
}

/// One controller's parent group.
#[derive(Debug, Clone)]
struct Parent {
    version: CgroupVersion,
    dir: PathBuf,
    /// Our own directory, to re-create a parent that a sibling sandbox of
    /// this process removed when it was dropped.
    own: PathBuf,
    /// The controller's name, as `cgroup.subtree_control` spells it (v2).
    ctrl: &'static str,
}

impl Parent {
    fn v1(&self) -> Option<&Path> {
        (self.version == CgroupVersion::V1).then_some(self.dir.as_path())
    }

    fn v2(&self) -> Option<&Path> {
        (self.version == CgroupVersion::V2).then_some(self.dir.as_path())
    }
}

/// The parent groups, created once.
#[derive(Debug, Clone, Default)]
pub struct CgroupParents {
    memory: Option<Parent>,
    pids: Option<Parent>,
    cpu: Option<Parent>,
    cpuacct: Option<Parent>,
}

fn make_parent(version: CgroupVersion, own: &Path, parent: &Path, ctrl: &str) -> io::Result<()> {
    if let Err(e) = fs::create_dir(parent) {
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    if version == CgroupVersion::V2 {
        // v2 only hands a controller to children that the parent enables;
        // this fails (and v2 is then unavailable) when our own group holds
        // processes, by the no-internal-process rule.
        fs::write(own.join("cgroup.subtree_control"), format!("+{ctrl}"))?;
        fs::write(parent.join("cgroup.subtree_control"), format!("+{ctrl}"))?;
    }
    Ok(())
}

impl CgroupParents {
    /// Creates `<own>/<name>` for each supported controller (the CPU
    /// controller only when `want_cpu`, i.e. there is a quota to enforce). A
    /// controller whose parent cannot be created is reported as unavailable.
    pub fn create(support: &CgroupSupport, name: &str, want_cpu: bool) -> CgroupParents {
        let make = |dir: &Option<ControllerDir>, ctrl: &'static str| {
            let dir = dir.as_ref()?;
            let parent = dir.own.join(name);
            make_parent(dir.version, &dir.own, &parent, ctrl).ok()?;
            sweep_stale(&parent);
            Some(Parent {
                version: dir.version,
                dir: parent,
                own: dir.own.clone(),
                ctrl,
            })
        };
        CgroupParents {
            memory: make(&support.memory, "memory"),
            pids: make(&support.pids, "pids"),
            cpu: if want_cpu {
                make(&support.cpu, "cpu")
            } else {
                None
            },
            cpuacct: make(&support.cpuacct, "cpuacct"),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Parent> {
        [&self.memory, &self.pids, &self.cpu, &self.cpuacct]
            .into_iter()
            .flatten()
    }

    pub fn has_memory(&self) -> bool {
        self.memory.is_some()
    }

    pub fn has_pids(&self) -> bool {
        self.pids.is_some()
    }

    pub fn has_cpu(&self) -> bool {
        self.cpu.is_some()
    }

    /// Re-creates the parents after a sibling sandbox removed them.
    fn ensure(&self) -> io::Result<()> {
        for p in self.all() {
            make_parent(p.version, &p.own, &p.dir, p.ctrl)?;
        }
        Ok(())
    }

    /// `mkdir <parent>/<name>`, re-creating the parent if it vanished.
    fn make_group(&self, parent: &Path, name: &str) -> io::Result<PathBuf> {
        let dir = parent.join(name);
        match fs::create_dir(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.ensure()?;
                fs::create_dir(&dir)?;
            }
            other => other?,
        }
        Ok(dir)
    }

    /// Removes the parents when no group is left in them (called when the
    /// last user is gone; a parent still in use simply stays).
    pub fn remove_if_empty(&self) {
        for p in self.all() {
            let _ = fs::remove_dir(&p.dir);
        }
    }
}

/// Parses the owning pid out of `exec-<pid>-…` and `slot-<pid>-…`.
fn group_owner(name: &str) -> Option<u32> {
    name.strip_prefix("exec-")
        .or_else(|| name.strip_prefix("slot-"))
        .and_then(|r| r.split('-').next())
        .and_then(|p| p.parse::<u32>().ok())
}

/// Removes groups left by an earlier process that died. Only groups whose
/// creating process is gone are touched: another sandbox of a live process
/// may be using the same parent.
fn sweep_stale(parent: &Path) {
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(owner) = group_owner(&name) else {
                continue;
            };
            if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
                let _ = remove_group(&e.path());
            }
        }
    }
}

fn try_read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The `key N` counter in a flat keyed file such as `memory.events`.
fn try_read_counter(path: &Path, key: &str) -> Option<u64> {
    fs::read_to_string(path).ok().and_then(|s| {
        s.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse::<u64>().ok())?
        })
    })
}

fn read_counter(path: &Path, key: &str) -> u64 {
    try_read_counter(path, key).unwrap_or(0)
}

/// CFS bandwidth period: 100 ms, the kernel's default.
const CPU_PERIOD_US: u64 = 100_000;

/// The quota per [`CPU_PERIOD_US`] for `cpus` CPUs; `None` = no limit.
pub fn cpu_quota_us(cpus: f64) -> Option<u64> {
    // The kernel refuses quotas under 1 ms.
    (cpus > 0.0).then(|| ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1_000))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn group_name(kind: &str) -> String {
    format!(
        "{kind}-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

fn write_memory_limit(version: CgroupVersion, dir: &Path, limit: u64) -> io::Result<()> {
    match version {
        CgroupVersion::V1 => {
            let value = limit.to_string();
            // Without the memsw limit the limit is RAM only and a hog
            // spills to swap.
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            let swap = memsw.exists();
            if let Err(e) = fs::write(dir.join("memory.limit_in_bytes"), &value) {
                // The kernel keeps memsw at or above the RAM limit: raising
                // a reused group's limit past its old memsw limit needs
                // the memsw limit raised first.
                if !swap {
                    return Err(e);
                }
                fs::write(&memsw, &value)?;
                fs::write(dir.join("memory.limit_in_bytes"), &value)?;
            }
            if swap {
                fs::write(memsw, &value)?;
            }
            // v1 does not charge socket buffers to the group unless TCP
            // accounting is switched on by a limit of its own; with it, TCP
            // buffers are capped at the run's memory limit. (UDP is never
            // charged on v1: seccomp refuses UDP sockets instead.)
            let tcp = dir.join("memory.kmem.tcp.limit_in_bytes");
            if tcp.exists() {
                fs::write(tcp, limit.to_string())?;
            }
        }
        CgroupVersion::V2 => {
            fs::write(dir.join("memory.max"), limit.to_string())?;
            let swap = dir.join("memory.swap.max");
            if swap.exists() {
                fs::write(swap, "0")?;
            }
        }
    }
    Ok(())
}

/// The cgroup v1 groups of one concurrency slot. A worker thread of this
/// process joins them once (`tasks`, per thread) and clones every sandbox
/// init of the slot from there, so the init is born inside them.
///
/// The groups are named for the slot's uid (`slot-u<uid>`) and outlive the
/// process: creating a v1 group in four controllers and removing it again
/// cost more than the rest of a one-shot `octollm exec`. Whoever uses them
/// holds an exclusive `flock` on the first group's directory, taken before
/// anything in them is touched and released only when the process closes
/// it, after its worker thread has left (see [`Slot`](crate::slot)'s field
/// order) or with the process's end. A second process that finds them held
/// (a server and a one-shot command sharing a uid range) gets groups of
/// its own instead (`slot-<pid>-<n>`), removed on drop as before.
#[derive(Debug)]
pub struct SlotCgroup {
    /// Distinct directories (memory and pids may share one hierarchy).
    dirs: Vec<PathBuf>,
    /// The lock on the shared groups; `None` for groups of our own.
    lock: Option<fs::File>,
    memory: Option<PathBuf>,
    /// `oom_kill` count when the run started: the counter cannot be reset,
    /// so a run's OOM kills are the increase.
    oom_kills: u64,
    cpuacct: Option<PathBuf>,
    /// `cpuacct.usage` (ns) when the run started; a run's CPU time is the
    /// increase.
    cpu_base: u64,
}

/// What one execution may use, written on its group(s).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory: u64,
    pub pids: u64,
    /// Per [`CPU_PERIOD_US`]; `None` = no quota.
    pub cpu_quota_us: Option<u64>,
}

impl Limits {
    pub fn of(config: &crate::SandboxConfig) -> Limits {
        Limits {
            memory: config.memory_limit_bytes,
            pids: config.pids_max,
            cpu_quota_us: cpu_quota_us(config.cpu_limit),
        }
    }
}

/// A group's directory, opened to hold a lock on or to clone into.
fn open_dir(dir: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
}

/// An exclusive, non-blocking `flock` on `dir`; `None` when another open
/// file holds it.
fn try_lock_dir(dir: &Path) -> io::Result<Option<fs::File>> {
    use std::os::fd::AsRawFd;
    let file = open_dir(dir)?;
    // SAFETY: `file` is an open descriptor that outlives the call.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(file));
    }
    match io::Error::last_os_error() {
        e if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
        e => Err(e),
    }
}

/// The v1 parent of every controller the slot groups span, in order.
fn v1_parents(parents: &CgroupParents) -> Vec<&Path> {
    let mut out: Vec<&Path> = Vec::new();
    let all = [
        &parents.memory,
        &parents.pids,
        &parents.cpu,
        &parents.cpuacct,
    ];
    for dir in all.into_iter().flatten().filter_map(Parent::v1) {
        if !out.contains(&dir) {
            out.push(dir);
        }
    }
    out
}

impl SlotCgroup {
    /// The groups of the slot run as `uid`, with their limits written: the
    /// shared `slot-u<uid>` ones when no other process holds them, else
    /// groups of our own; `None` when no controller is v1 (v2 uses
    /// [`create_exec`] instead).
    pub fn create(
        parents: &CgroupParents,
        uid: u32,
        limits: Limits,
    ) -> io::Result<Option<SlotCgroup>> {
        let dirs = v1_parents(parents);
        let Some(first) = dirs.first() else {
            return Ok(None);
        };
        let shared = format!("slot-u{uid}");
        let lock = match parents.make_group(first, &shared) {
            Ok(dir) => try_lock_dir(&dir)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                try_lock_dir(&first.join(&shared))?
            }
            Err(e) => return Err(e),
        };
        if let Some(lock) = lock {
            let cg = Self::open(parents, &dirs, &shared, Some(lock), limits)?;
            // The last process to hold them may have ended with its last
            // init still leaving: wait for it (or anything else) to go, or
            // leave the groups to it.
            if cg.evict_all_but(None).is_ok() {
                return Ok(Some(cg));
            }
        }
        Self::open(parents, &dirs, &group_name("slot"), None, limits).map(Some)
    }

    /// Makes (or, for shared groups, finds) the groups called `name` under
    /// `dirs` and writes the limits. From the first group made on, dropping
    /// the result removes what was made.
    fn open(
        parents: &CgroupParents,
        dirs: &[&Path],
        name: &str,
        lock: Option<fs::File>,
        limits: Limits,
    ) -> io::Result<SlotCgroup> {
        let mut cg = SlotCgroup {
            dirs: Vec::new(),
            lock,
            memory: None,
            oom_kills: 0,
            cpuacct: None,
            cpu_base: 0,
        };
        for parent in dirs {
            match parents.make_group(parent, name) {
                Ok(dir) => cg.dirs.push(dir),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && cg.lock.is_some() => {
                    cg.dirs.push(parent.join(name));
                }
                Err(e) => return Err(e),
            }
        }
        // Controllers may share a hierarchy (`cpu,cpuacct` usually do): one
        // directory then serves them all.
        let group = |p: &Option<Parent>| p.as_ref().and_then(Parent::v1).map(|d| d.join(name));
        let memory = group(&parents.memory);
        if let Some(dir) = &memory {
            write_memory_limit(CgroupVersion::V1, dir, limits.memory)?;
            cg.oom_kills = read_counter(&dir.join("memory.oom_control"), "oom_kill");
        }
        if let Some(dir) = group(&parents.pids) {
            // The worker thread is a task of the group too; the sandbox
            // still gets exactly `pids_max` tasks.
            fs::write(
                dir.join("pids.max"),
                limits.pids.saturating_add(1).to_string(),
            )?;
        }
        if let Some(dir) = group(&parents.cpu) {
            // The worker thread shares the quota, but it only runs (one
            // clone) while the slot's previous sandbox is gone.
            fs::write(dir.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())?;
            let quota = limits
                .cpu_quota_us
                .map_or_else(|| "-1".to_string(), |q| q.to_string());
            fs::write(dir.join("cpu.cfs_quota_us"), quota)?;
        }
        cg.memory = memory;
        cg.cpuacct = group(&parents.cpuacct);
        Ok(cg)
    }

    /// What the slot's worker thread needs to join the groups.
    pub fn join_handle(&self) -> SlotJoin {
        SlotJoin {
            dirs: self.dirs.clone(),
        }
    }

    /// Starts a run with fresh peak, failure and CPU counters.
    pub fn reset_accounting(&mut self) {
        if let Some(dir) = &self.cpuacct {
            self.cpu_base = try_read_u64(&dir.join("cpuacct.usage")).unwrap_or(0);
        }
        let Some(dir) = &self.memory else { return };
        self.oom_kills = read_counter(&dir.join("memory.oom_control"), "oom_kill");
        for file in [
            "memory.max_usage_in_bytes",
            "memory.failcnt",
            "memory.memsw.max_usage_in_bytes",
            "memory.memsw.failcnt",
        ] {
            // The memsw files are absent without swap accounting.
            let _ = fs::write(dir.join(file), "0");
        }
    }

    /// Highest memory use since [`Self::reset_accounting`], in bytes (all
    /// memory charged to the group: anonymous, shared, page cache, kernel);
    /// `None` without a v1 memory group.
    pub fn peak_memory(&self) -> Option<u64> {
        try_read_u64(&self.memory.as_ref()?.join("memory.max_usage_in_bytes"))
    }

    /// CPU time used in the group since [`Self::reset_accounting`]; `None`
    /// without a v1 cpuacct group.
    pub fn cpu_time(&self) -> Option<Duration> {
        let now = try_read_u64(&self.cpuacct.as_ref()?.join("cpuacct.usage"))?;
        Some(Duration::from_nanos(now.saturating_sub(self.cpu_base)))
    }

    /// Whether the memory controller killed something in this run.
    pub fn take_oom_killed(&mut self) -> bool {
        let Some(dir) = &self.memory else {
            return false;
        };
        let now = read_counter(&dir.join("memory.oom_control"), "oom_kill");
        let killed = now > self.oom_kills;
        self.oom_kills = now;
        killed
    }

    /// Kills every task of the groups except `keep` (the slot's worker
    /// thread) and waits until they are gone. After a run this finds
    /// nothing — tearing down the pid namespace already killed the tree —
    /// so it is a check that a run never leaves anything in the slot.
    /// Errors when the groups cannot be emptied.
    pub fn evict_all_but(&self, keep: Option<i32>) -> io::Result<()> {
        for attempt in 0..60 {
            let strays = self.strays(keep);
            if strays.is_empty() {
                return Ok(());
            }
            for tid in strays {
                crate::sys::kill(tid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 20 }));
        }
        Err(io::Error::other(
            "the slot cgroup still holds tasks after the run",
        ))
    }

    /// Tasks in the groups other than `keep` and other than threads of this
    /// process (never signal ourselves, whatever the group says).
    fn strays(&self, keep: Option<i32>) -> Vec<i32> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(text) = fs::read_to_string(dir.join("tasks")) else {
                continue;
            };
            for tid in text.lines().filter_map(|t| t.trim().parse::<i32>().ok()) {
                if Some(tid) != keep && !is_own_thread(tid) && !out.contains(&tid) {
                    out.push(tid);
                }
            }
        }
        out
    }
}

/// The directories of a [`SlotCgroup`], for its worker thread to join.
pub struct SlotJoin {
    dirs: Vec<PathBuf>,
}

impl SlotJoin {
    /// Moves the calling thread (only it, not the process) into the groups,
    /// once per slot. It writes `0` ("the writer itself") rather than its
    /// tid: a thread moving itself cannot exit or exec meanwhile, so the
    /// kernel skips the global threadgroup lock and the RCU grace period
    /// that taking it waits for (about 0.2 ms instead of 5 to 25 ms on the
    /// benchmark machine; older kernels treat `0` the same, only slower).
    pub fn join_current_thread(&self) -> io::Result<()> {
        for dir in &self.dirs {
            fs::write(dir.join("tasks"), "0")?;
        }
        Ok(())
    }
}

impl Drop for SlotCgroup {
    fn drop(&mut self) {
        // Shared groups stay, empty, for the next process; the lock goes
        // with `self.lock`, after this.
        if self.lock.is_none() {
            for dir in &self.dirs {
                let _ = remove_group(dir);
            }
        }
    }
}

fn is_own_thread(tid: i32) -> bool {
    Path::new(&format!("/proc/self/task/{tid}")).exists()
}

/// The cgroup v2 group of one execution (v2 has one directory for every
/// controller); removed on drop.
#[derive(Debug)]
pub struct ExecCgroup {
    dir: PathBuf,
    memory: bool,
}

/// Creates the per-execution v2 group and writes its limits; `None` when no
/// controller is v2.
pub fn create_exec(parents: &CgroupParents, limits: Limits) -> io::Result<Option<ExecCgroup>> {
    let v2 = |c: &Option<Parent>| c.as_ref().and_then(Parent::v2).map(Path::to_path_buf);
    let (memory, pids, cpu) = (v2(&parents.memory), v2(&parents.pids), v2(&parents.cpu));
    let Some(parent) = memory
        .clone()
        .or_else(|| pids.clone())
        .or_else(|| cpu.clone())
    else {
        return Ok(None);
    };
    let dir = parents.make_group(&parent, &group_name("exec"))?;
    let cg = ExecCgroup {
        dir,
        memory: memory.is_some(),
    };
    if cg.memory {
        write_memory_limit(CgroupVersion::V2, &cg.dir, limits.memory)?;
    }
    if pids.is_some() {
        fs::write(cg.dir.join("pids.max"), limits.pids.to_string())?;
    }
    if cpu.is_some() {
        let quota = limits
            .cpu_quota_us
            .map_or_else(|| "max".to_string(), |q| q.to_string());
        fs::write(cg.dir.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}"))?;
    }
    Ok(Some(cg))
}

impl ExecCgroup {
    /// A directory fd for `clone3(CLONE_INTO_CGROUP)`.
    pub fn open(&self) -> io::Result<std::fs::File> {
        open_dir(&self.dir)
    }

    /// Moves `pid` in: the slow fallback for kernels without
    /// `CLONE_INTO_CGROUP`.
    pub fn add(&self, pid: i32) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string())
    }

    /// The group's peak memory (`memory.peak`, Linux 5.19); `None` without
    /// the memory controller or on older kernels.
    pub fn peak_memory(&self) -> Option<u64> {
        if self.memory {
            try_read_u64(&self.dir.join("memory.peak"))
        } else {
            None
        }
    }

    /// CPU time of everything that ran in the group (`cpu.stat`, which v2
    /// keeps in every group, with or without the cpu controller).
    pub fn cpu_time(&self) -> Option<Duration> {
        try_read_counter(&self.dir.join("cpu.stat"), "usage_usec").map(Duration::from_micros)
    }

    pub fn oom_killed(&self) -> bool {
        self.memory && read_counter(&self.dir.join("memory.events"), "oom_kill") > 0
    }
}

impl Drop for ExecCgroup {
    fn drop(&mut self) {
        let _ = remove_group(&self.dir);
    }
}

/// Kills whatever is still in `dir` and removes it. The pid namespace is
/// already gone when this runs, so a retry or two covers exiting tasks. Our
/// own process is never signalled, even if one of its threads is listed (a
/// slot group whose worker thread is still exiting).
fn remove_group(dir: &Path) -> io::Result<()> {
    let me = std::process::id() as i32;
    let mut last = Ok(());
    for attempt in 0..50 {
        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                if pid != me {
                    crate::sys::kill(pid, libc::SIGKILL);
                }
            }
        }
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => last = Err(e),
        }
        std::thread::sleep(Duration::from_millis(if attempt < 10 { 1 } else { 20 }));
    }
    last
}
