//! Per-execution cgroups: the memory limit and `pids.max`.
//!
//! RLIMIT_NPROC is not enough against a fork bomb (it is per uid and does not
//! bind a process that is root in the init namespace), so `pids.max` on a
//! cgroup that holds the whole sandbox is the real defence. The per-execution
//! groups live under `<our own cgroup>/<cgroup_parent>/`: this process may
//! itself sit in a nested (and limited) cgroup, and its children must stay
//! inside it.

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
}

impl CgroupParents {
    /// Creates `<own>/<name>` for each supported controller. A controller
    /// whose parent cannot be created is reported as unavailable.
    pub fn create(support: &CgroupSupport, name: &str) -> CgroupParents {
        let make = |dir: &Option<ControllerDir>, ctrl: &str| {
            let dir = dir.as_ref()?;
            let parent = dir.own.join(name);
            if let Err(e) = fs::create_dir(&parent) {
                if e.kind() != io::ErrorKind::AlreadyExists {
                    return None;
                }
            }
            if dir.version == CgroupVersion::V2 {
                // v2 only hands a controller to children that the parent
                // enables; this fails (and v2 is then unavailable) when our
                // own group holds processes, by the no-internal-process rule.
                fs::write(dir.own.join("cgroup.subtree_control"), format!("+{ctrl}")).ok()?;
                fs::write(parent.join("cgroup.subtree_control"), format!("+{ctrl}")).ok()?;
            }
            sweep_stale(&parent);
            Some((dir.version, parent))
        };
        CgroupParents {
            memory: make(&support.memory, "memory"),
            pids: make(&support.pids, "pids"),
        }
    }

    pub fn has_memory(&self) -> bool {
        self.memory.is_some()
    }

    pub fn has_pids(&self) -> bool {
        self.pids.is_some()
    }
}

/// Removes groups left by an earlier process that died mid-execution. Only
/// groups whose creating process is gone are touched: another sandbox of a
/// live process may be using the same parent.
fn sweep_stale(parent: &Path) {
    if let Ok(entries) = fs::read_dir(parent) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner = name
                .strip_prefix("exec-")
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok());
            let Some(owner) = owner else { continue };
            if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
                let _ = remove_group(&e.path());
            }
        }
    }
}

/// The cgroups of one execution; removed on drop.
#[derive(Debug)]
pub struct ExecCgroup {
    dirs: Vec<PathBuf>,
    memory: Option<(CgroupVersion, PathBuf)>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Creates the per-execution groups and writes their limits.
pub fn create_exec(
    parents: &CgroupParents,
    memory_limit: u64,
    pids_max: u64,
) -> io::Result<ExecCgroup> {
    let name = format!(
        "exec-{}-{}",
        std::process::id(),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    );
    let mut cg = ExecCgroup {
        dirs: Vec::new(),
        memory: None,
    };
    if let Some((version, parent)) = &parents.memory {
        let dir = parent.join(&name);
        fs::create_dir(&dir)?;
        cg.dirs.push(dir.clone());
        match version {
            CgroupVersion::V1 => {
                fs::write(dir.join("memory.limit_in_bytes"), memory_limit.to_string())?;
                // Without this the limit is RAM only and a hog spills to swap.
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    fs::write(memsw, memory_limit.to_string())?;
                }
            }
            CgroupVersion::V2 => {
                fs::write(dir.join("memory.max"), memory_limit.to_string())?;
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    fs::write(swap, "0")?;
                }
            }
        }
        cg.memory = Some((*version, dir));
    }
    if let Some((version, parent)) = &parents.pids {
        let dir = parent.join(&name);
        // v2 has one directory for both controllers.
        if !(*version == CgroupVersion::V2 && cg.dirs.contains(&dir)) {
            fs::create_dir(&dir)?;
            cg.dirs.push(dir.clone());
        }
        fs::write(dir.join("pids.max"), pids_max.to_string())?;
    }
    Ok(cg)
}

impl ExecCgroup {
    /// Moves `pid` (the sandbox init, before it runs anything) into every group.
    pub fn add(&self, pid: i32) -> io::Result<()> {
        for dir in &self.dirs {
            fs::write(dir.join("cgroup.procs"), pid.to_string())?;
        }
        Ok(())
    }

    /// Highest memory use of the group, in bytes (page cache and tmpfs included).
    pub fn peak_memory(&self) -> u64 {
        let Some((version, dir)) = &self.memory else {
            return 0;
        };
        let file = match version {
            CgroupVersion::V1 => "memory.max_usage_in_bytes",
            CgroupVersion::V2 => "memory.peak",
        };
        fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the memory controller killed something for exceeding the limit.
    pub fn oom_killed(&self) -> bool {
        let Some((version, dir)) = &self.memory else {
            return false;
        };
        let (file, key) = match version {
            CgroupVersion::V1 => ("memory.oom_control", "oom_kill"),
            CgroupVersion::V2 => ("memory.events", "oom_kill"),
        };
        fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }
}

impl Drop for ExecCgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            let _ = remove_group(dir);
        }
    }
}

/// Kills whatever is still in `dir` and removes it. The pid namespace is
/// already gone when this runs, so a retry or two covers exiting tasks.
fn remove_group(dir: &Path) -> io::Result<()> {
    let mut last = Ok(());
    for attempt in 0..50 {
        if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                crate::sys::kill(pid, libc::SIGKILL);
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
