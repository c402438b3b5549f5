//! cgroups: the memory limit and `pids.max`.
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
//!   are checked empty after each run.
//! - cgroup v2 has no per-thread membership for domain controllers, but
//!   `clone3(CLONE_INTO_CGROUP)` creates the init directly in a fresh
//!   per-execution group ([`ExecCgroup`]).

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

impl CgroupSupport {
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
        }
    }
}

/// The parent groups, created once.
#[derive(Debug, Clone, Default)]
pub struct CgroupParents {
    memory: Option<(CgroupVersion, PathBuf)>,
    pids: Option<(CgroupVersion, PathBuf)>,
    /// Our own directories, to re-create a parent that a sibling sandbox of
    /// this process removed when it was dropped.
    own_memory: Option<PathBuf>,
    own_pids: Option<PathBuf>,
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
    /// Creates `<own>/<name>` for each supported controller. A controller
    /// whose parent cannot be created is reported as unavailable.
    pub fn create(support: &CgroupSupport, name: &str) -> CgroupParents {
        let make = |dir: &Option<ControllerDir>, ctrl: &str| {
            let dir = dir.as_ref()?;
            let parent = dir.own.join(name);
            make_parent(dir.version, &dir.own, &parent, ctrl).ok()?;
            sweep_stale(&parent);
            Some((dir.version, parent))
        };
        let memory = make(&support.memory, "memory");
        let pids = make(&support.pids, "pids");
        CgroupParents {
            own_memory: memory
                .as_ref()
                .and(support.memory.as_ref())
                .map(|d| d.own.clone()),
            own_pids: pids
                .as_ref()
                .and(support.pids.as_ref())
                .map(|d| d.own.clone()),
            memory,
            pids,
        }
    }

    pub fn has_memory(&self) -> bool {
        self.memory.is_some()
    }

    pub fn has_pids(&self) -> bool {
        self.pids.is_some()
    }

    /// Whether some controller is v1, i.e. executions need slot groups.
    pub fn uses_slots(&self) -> bool {
        [&self.memory, &self.pids]
            .iter()
            .any(|c| matches!(c, Some((CgroupVersion::V1, _))))
    }

    /// Re-creates the parents after a sibling sandbox removed them.
    fn ensure(&self) -> io::Result<()> {
        for (ctrl, parent, own) in [
            ("memory", &self.memory, &self.own_memory),
            ("pids", &self.pids, &self.own_pids),
        ] {
            if let (Some((version, parent)), Some(own)) = (parent, own) {
                make_parent(*version, own, parent, ctrl)?;
            }
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
        for (_, parent) in [&self.memory, &self.pids].into_iter().flatten() {
            let _ = fs::remove_dir(parent);
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

fn read_u64(path: &Path) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The `key N` counter in a flat keyed file such as `memory.events`.
fn read_counter(path: &Path, key: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == key).then(|| v.trim().parse::<u64>().ok())?
            })
        })
        .unwrap_or(0)
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
            fs::write(dir.join("memory.limit_in_bytes"), limit.to_string())?;
            // Without this the limit is RAM only and a hog spills to swap.
            let memsw = dir.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                fs::write(memsw, limit.to_string())?;
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
/// init of the slot from there, so the init is born inside them. Removed on
/// drop, which must only happen once that thread has exited.
#[derive(Debug)]
pub struct SlotCgroup {
    /// Distinct directories (memory and pids may share one hierarchy).
    dirs: Vec<PathBuf>,
    memory: Option<PathBuf>,
    /// `oom_kill` count when the run started: the counter cannot be reset,
    /// so a run's OOM kills are the increase.
    oom_kills: u64,
}

impl SlotCgroup {
    /// Creates the slot's v1 groups with their limits; `None` when no
    /// controller is v1 (v2 uses [`create_exec`] instead).
    pub fn create(
        parents: &CgroupParents,
        memory_limit: u64,
        pids_max: u64,
    ) -> io::Result<Option<SlotCgroup>> {
        if !parents.uses_slots() {
            return Ok(None);
        }
        let name = group_name("slot");
        // From here on, Drop removes whatever was created.
        let mut cg = SlotCgroup {
            dirs: Vec::new(),
            memory: None,
            oom_kills: 0,
        };
        if let Some((CgroupVersion::V1, parent)) = &parents.memory {
            let dir = parents.make_group(parent, &name)?;
            cg.dirs.push(dir.clone());
            write_memory_limit(CgroupVersion::V1, &dir, memory_limit)?;
            cg.oom_kills = read_counter(&dir.join("memory.oom_control"), "oom_kill");
            cg.memory = Some(dir);
        }
        if let Some((CgroupVersion::V1, parent)) = &parents.pids {
            let dir = parent.join(&name);
            if !cg.dirs.contains(&dir) {
                parents.make_group(parent, &name)?;
                cg.dirs.push(dir.clone());
            }
            // The worker thread is a task of the group too; the sandbox
            // still gets exactly `pids_max` tasks.
            fs::write(dir.join("pids.max"), pids_max.saturating_add(1).to_string())?;
        }
        Ok(Some(cg))
    }

    /// What the slot's worker thread needs to join the groups.
    pub fn join_handle(&self) -> SlotJoin {
        SlotJoin {
            dirs: self.dirs.clone(),
        }
    }

    /// Starts a run with fresh peak and failure counters.
    pub fn reset_accounting(&mut self) {
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

    /// Highest memory use since [`Self::reset_accounting`], in bytes.
    pub fn peak_memory(&self) -> u64 {
        self.memory
            .as_ref()
            .map_or(0, |d| read_u64(&d.join("memory.max_usage_in_bytes")))
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
        for dir in &self.dirs {
            let _ = remove_group(dir);
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
pub fn create_exec(
    parents: &CgroupParents,
    memory_limit: u64,
    pids_max: u64,
) -> io::Result<Option<ExecCgroup>> {
    let v2 = |c: &Option<(CgroupVersion, PathBuf)>| match c {
        Some((CgroupVersion::V2, p)) => Some(p.clone()),
        _ => None,
    };
    let (memory, pids) = (v2(&parents.memory), v2(&parents.pids));
    let Some(parent) = memory.clone().or_else(|| pids.clone()) else {
        return Ok(None);
    };
    let dir = parents.make_group(&parent, &group_name("exec"))?;
    let cg = ExecCgroup {
        dir,
        memory: memory.is_some(),
    };
    if cg.memory {
        write_memory_limit(CgroupVersion::V2, &cg.dir, memory_limit)?;
    }
    if pids.is_some() {
        fs::write(cg.dir.join("pids.max"), pids_max.to_string())?;
    }
    Ok(Some(cg))
}

impl ExecCgroup {
    /// A directory fd for `clone3(CLONE_INTO_CGROUP)`.
    pub fn open(&self) -> io::Result<std::fs::File> {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&self.dir)
    }

    /// Moves `pid` in: the slow fallback for kernels without
    /// `CLONE_INTO_CGROUP`.
    pub fn add(&self, pid: i32) -> io::Result<()> {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string())
    }

    pub fn peak_memory(&self) -> u64 {
        if self.memory {
            read_u64(&self.dir.join("memory.peak"))
        } else {
            0
        }
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
