//! Finding a sandbox's cgroups, to check that none was leaked.
//!
//! The sandbox puts its groups under `<this process's cgroup>/<cgroup_parent>/`
//! for each of its controllers (memory and pids, and on v1 also cpu and
//! cpuacct where those are mounted), preferring cgroup v1 and falling back to
//! the v2 unified hierarchy:
//! - v1 (`/sys/fs/cgroup/<controller>/…`): one long-lived group per
//!   concurrency slot and controller, holding only the slot's worker thread
//!   (a thread of this process) between runs: `slot-u<uid>`, which outlives
//!   the process for the next one to reuse, or `slot-<pid>-<n>` when
//!   another process held that one;
//! - v2 (`/sys/fs/cgroup/…`, where `/sys/fs/cgroup/cgroup.controllers`
//!   exists): one `exec-<pid>-<n>` group per execution, removed when the
//!   execution ends.
//!
//! A check that only knew v1 would find nothing to look at on a v2 host and
//! pass without checking anything, so [`SandboxCgroups::locate`] detects the
//! hierarchy per controller and panics when neither can be read.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";
/// Controllers every sandbox uses.
const CONTROLLERS: [&str; 2] = ["memory", "pids"];
/// Controllers the sandbox uses where the host has them: their v1 slot
/// groups must be checked too, but a host without them is no error (on v2
/// they share the one per-execution group).
const OPTIONAL_CONTROLLERS: [&str; 2] = ["cpu", "cpuacct"];

/// Which cgroup hierarchy a directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    V1,
    V2,
}

impl Hierarchy {
    /// The file listing a group's member threads.
    fn threads_file(self) -> &'static str {
        match self {
            Hierarchy::V1 => "tasks",
            Hierarchy::V2 => "cgroup.threads",
        }
    }
}

/// One sandbox's parent directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub hierarchy: Hierarchy,
    pub dir: PathBuf,
}

/// A group the sandbox created under one of its parents.
#[derive(Debug, Clone)]
pub struct Group {
    pub hierarchy: Hierarchy,
    pub name: String,
    pub path: PathBuf,
}

impl Group {
    /// A v1 concurrency-slot group, which lives as long as the sandbox.
    pub fn is_slot(&self) -> bool {
        self.name.starts_with("slot-")
    }

    /// Threads in the group that are not threads of this process. Empty when
    /// the group was removed while being looked at; panics when it exists
    /// but its member list cannot be read.
    pub fn foreign_tasks(&self) -> Vec<u32> {
        let file = self.path.join(self.hierarchy.threads_file());
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(_) if !self.path.exists() => return Vec::new(),
            Err(e) => panic!("cannot read {}: {e}", file.display()),
        };
        text.lines()
            .filter_map(|t| t.trim().parse::<u32>().ok())
            .filter(|tid| !Path::new(&format!("/proc/self/task/{tid}")).exists())
            .collect()
    }
}

/// Where the groups of a sandbox with a given `cgroup_parent` live.
#[derive(Debug, Clone)]
pub struct SandboxCgroups {
    parents: Vec<Parent>,
}

impl SandboxCgroups {
    /// Locates the parents for `cgroup_parent`; panics when no hierarchy for
    /// the memory or the pids controller can be read.
    pub fn locate(cgroup_parent: &str) -> SandboxCgroups {
        Self::try_locate(cgroup_parent).unwrap_or_else(|e| panic!("{e}"))
    }

    /// As [`Self::locate`], reporting the failure instead (for `Drop`).
    pub fn try_locate(cgroup_parent: &str) -> Result<SandboxCgroups, String> {
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        Self::from_proc_cgroup(&own, Path::new(ROOT), cgroup_parent)
    }

    /// The detection itself, on the text of `/proc/self/cgroup` and a cgroup
    /// mount root.
    fn from_proc_cgroup(
        own: &str,
        root: &Path,
        cgroup_parent: &str,
    ) -> Result<SandboxCgroups, String> {
        // (controllers, path) per line; the v2 line has no controllers.
        let lines: Vec<(&str, &str)> = own
            .lines()
            .filter_map(|l| {
                let mut it = l.splitn(3, ':');
                let _id = it.next()?;
                Some((it.next()?, it.next()?))
            })
            .collect();
        let own_dir = |base: PathBuf, path: &str| -> Result<PathBuf, String> {
            let dir = base.join(path.trim_start_matches('/'));
            if dir.is_dir() {
                Ok(dir)
            } else {
                Err(format!("our own cgroup {} cannot be read", dir.display()))
            }
        };
        let mut parents: Vec<Parent> = Vec::new();
        for ctrl in CONTROLLERS {
            let v1 = lines
                .iter()
                .find(|(ctrls, _)| ctrls.split(',').any(|c| c == ctrl))
                .filter(|_| root.join(ctrl).is_dir());
            let parent = if let Some((_, path)) = v1 {
                Parent {
                    hierarchy: Hierarchy::V1,
                    dir: own_dir(root.join(ctrl), path)?.join(cgroup_parent),
                }
            } else if root.join("cgroup.controllers").exists() {
                let (_, path) = lines
                    .iter()
                    .find(|(ctrls, _)| ctrls.is_empty())
                    .ok_or("cgroup v2 is mounted but /proc/self/cgroup has no v2 line")?;
                Parent {
                    hierarchy: Hierarchy::V2,
                    dir: own_dir(root.to_path_buf(), path)?.join(cgroup_parent),
                }
            } else {
                return Err(format!(
                    "no cgroup hierarchy for {ctrl}: neither a v1 {ctrl} controller under {root}/{ctrl} \
                     nor the v2 unified hierarchy ({root}/cgroup.controllers) can be read",
                    root = root.display()
                ));
            };
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
        for ctrl in OPTIONAL_CONTROLLERS {
            let v1 = lines
                .iter()
                .find(|(ctrls, _)| ctrls.split(',').any(|c| c == ctrl))
                .filter(|_| root.join(ctrl).is_dir());
            if let Some((_, path)) = v1 {
                // `cpu` and `cpuacct` are often one hierarchy reached through
                // two names (symlinks to `cpu,cpuacct`): list it once.
                let own = own_dir(root.join(ctrl), path)?;
                let own = fs::canonicalize(&own).unwrap_or(own);
                let parent = Parent {
                    hierarchy: Hierarchy::V1,
                    dir: own.join(cgroup_parent),
                };
                if !parents.contains(&parent) {
                    parents.push(parent);
                }
            }
        }
        Ok(SandboxCgroups { parents })
    }

    /// The parent directories (which need not exist).
    pub fn parents(&self) -> &[Parent] {
        &self.parents
    }

    /// The hierarchies in use.
    pub fn hierarchies(&self) -> Vec<Hierarchy> {
        let mut out: Vec<Hierarchy> = self.parents.iter().map(|p| p.hierarchy).collect();
        out.dedup();
        out
    }

    /// Every group under the parents; none under a parent that does not
    /// exist. Panics when a parent exists but cannot be listed.
    pub fn groups(&self) -> Vec<Group> {
        let mut out = Vec::new();
        for parent in &self.parents {
            let entries = match fs::read_dir(&parent.dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => panic!("cannot list {}: {e}", parent.dir.display()),
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    out.push(Group {
                        hierarchy: parent.hierarchy,
                        name: e.file_name().to_string_lossy().into_owned(),
                        path,
                    });
                }
            }
        }
        out
    }

    /// What should not be there once no execution is running: a v1 slot
    /// group may stay but must hold nothing but our own threads; any other
    /// group (and every v2 group, which is per execution) is a leak.
    pub fn leaks(&self) -> Vec<String> {
        let mut out = Vec::new();
        for g in self.groups() {
            let strays = g.foreign_tasks();
            let may_stay = g.hierarchy == Hierarchy::V1 && g.is_slot();
            if !may_stay || !strays.is_empty() {
                out.push(format!("cgroup {} (tasks {strays:?})", g.path.display()));
            }
        }
        out
    }

    /// Removes the parents with the idle groups in them (best effort, for
    /// clean-up: a group that still holds a task stays, and so does its
    /// parent).
    pub fn remove_parents(&self) {
        for g in self.groups() {
            let _ = fs::remove_dir(&g.path);
        }
        for parent in &self.parents {
            let _ = fs::remove_dir(&parent.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(crate::unique_name(name));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn v1_controllers_are_found_under_their_own_directories() {
        let root = scratch("cg_v1");
        fs::create_dir_all(root.join("memory/job/a")).unwrap();
        fs::create_dir_all(root.join("pids/job")).unwrap();
        let own = "9:pids:/job\n4:memory:/job/a\n1:cpu:/\n0::/\n";
        let cg = SandboxCgroups::from_proc_cgroup(own, &root, "sbx").unwrap();
        assert_eq!(cg.hierarchies(), vec![Hierarchy::V1]);
        let dirs: Vec<&Path> = cg.parents().iter().map(|p| p.dir.as_path()).collect();
        assert_eq!(
            dirs,
            vec![root.join("memory/job/a/sbx"), root.join("pids/job/sbx")]
        );
        assert!(cg.groups().is_empty(), "absent parents hold no groups");
        fs::create_dir_all(root.join("memory/job/a/sbx/slot-1-0")).unwrap();
        fs::write(root.join("memory/job/a/sbx/slot-1-0/tasks"), "").unwrap();
        fs::create_dir_all(root.join("pids/job/sbx/exec-1-3")).unwrap();
        fs::write(root.join("pids/job/sbx/exec-1-3/tasks"), "").unwrap();
        let leaks = cg.leaks();
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert!(leaks[0].contains("exec-1-3"), "{leaks:?}");
        // A slot group holding a task that is not ours is a leak too (pid
        // 0 is never a thread of this process).
        fs::write(root.join("memory/job/a/sbx/slot-1-0/tasks"), "0\n").unwrap();
        assert_eq!(cg.leaks().len(), 2);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn v1_cpu_groups_are_checked_where_the_controllers_are_mounted() {
        let root = scratch("cg_v1_cpu");
        fs::create_dir_all(root.join("memory/job")).unwrap();
        fs::create_dir_all(root.join("pids/job")).unwrap();
        fs::create_dir_all(root.join("cpu,cpuacct/job")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpu")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpuacct")).unwrap();
        let own = "9:pids:/job\n4:memory:/job\n2:cpu,cpuacct:/job\n0::/\n";
        let cg = SandboxCgroups::from_proc_cgroup(own, &root, "sbx").unwrap();
        let dirs: Vec<PathBuf> = cg.parents().iter().map(|p| p.dir.clone()).collect();
        let shared = fs::canonicalize(root.join("cpu,cpuacct/job"))
            .unwrap()
            .join("sbx");
        assert_eq!(
            dirs,
            vec![
                root.join("memory/job/sbx"),
                root.join("pids/job/sbx"),
                shared.clone()
            ],
            "the co-mounted cpu,cpuacct hierarchy is listed once"
        );
        fs::create_dir_all(shared.join("exec-1-0")).unwrap();
        fs::write(shared.join("exec-1-0/tasks"), "").unwrap();
        assert_eq!(cg.leaks().len(), 1, "{:?}", cg.leaks());
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn v2_is_used_where_no_v1_controller_is_mounted() {
        let root = scratch("cg_v2");
        fs::write(root.join("cgroup.controllers"), "memory pids\n").unwrap();
        fs::create_dir_all(root.join("svc/x")).unwrap();
        let cg = SandboxCgroups::from_proc_cgroup("0::/svc/x\n", &root, "sbx").unwrap();
        assert_eq!(cg.hierarchies(), vec![Hierarchy::V2]);
        assert_eq!(cg.parents().len(), 1, "one directory for both controllers");
        assert_eq!(cg.parents()[0].dir, root.join("svc/x/sbx"));
        // Every v2 group is per execution: even one named like a slot is a
        // leak once nothing runs.
        for name in ["exec-1-0", "slot-1-1"] {
            let g = root.join("svc/x/sbx").join(name);
            fs::create_dir_all(&g).unwrap();
            fs::write(g.join("cgroup.threads"), "").unwrap();
        }
        assert_eq!(cg.leaks().len(), 2, "{:?}", cg.leaks());
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn no_readable_hierarchy_is_an_error_not_an_empty_check() {
        let root = scratch("cg_none");
        let err = SandboxCgroups::from_proc_cgroup("0::/\n", &root, "sbx").unwrap_err();
        assert!(err.contains("no cgroup hierarchy for memory"), "{err}");
        // A v1 controller whose own directory is missing is not skipped.
        fs::create_dir_all(root.join("memory")).unwrap();
        fs::create_dir_all(root.join("pids")).unwrap();
        let err = SandboxCgroups::from_proc_cgroup("4:memory:/gone\n3:pids:/\n", &root, "sbx")
            .unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_group_whose_members_cannot_be_read_fails_the_check() {
        let root = scratch("cg_unreadable");
        let g = Group {
            hierarchy: Hierarchy::V1,
            name: "slot-1-0".into(),
            path: root.clone(),
        };
        let caught = std::panic::catch_unwind(|| g.foreign_tasks());
        assert!(
            caught.is_err(),
            "a missing tasks file must not read as empty"
        );
        let _ = fs::remove_dir_all(&root);
    }
}
