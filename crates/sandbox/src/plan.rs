//! Everything the cloned child needs, prepared in the parent.
//!
//! After `clone()` in a multi-threaded process the child may hold a copy of
//! a lock (malloc's, for one) that some other thread owned at that instant;
//! allocating there can deadlock. So every string, buffer and BPF program is
//! built here, and the child only walks these structures and makes syscalls.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::{ExecSpec, SandboxConfig};
use crate::landlock;
use crate::SandboxError;

/// Directory name of the workspace inside the sandbox (also `HOME` and cwd).
pub const WORKSPACE: &str = "/workspace";

/// Host paths bound read-only, or recreated as symlinks when they are one.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// The curated `/etc`: only what the dynamic loader, the C library and
/// Python read to start. Files are copied into the sandbox's own tmpfs (no
/// bind, so no path back to the host's `/etc`); nothing holding secrets
/// (`shadow`, `gshadow`, keys, credentials) is ever listed.
const ETC_ALLOWLIST: &[&str] = &[
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "host.conf",
    "mime.types",
    "protocols",
    "services",
];
const ETC_MAX_FILE: u64 = 1 << 20;

/// `/etc` directories bound read-only instead of copied: `alternatives` is
/// hundreds of symbolic links into `/usr` (which programs such as `awk` or
/// `editor` resolve through) and holds nothing else. Copying it cost a
/// directory scan and a `readlink` per link on the host, and a `symlink`
/// per link in every sandbox; the bind is one mount. It shows only that
/// directory: links resolve inside the sandbox's own tree.
const ETC_BOUND: &[&str] = &["alternatives"];

/// What of the fresh `/proc` is hidden, as container runtimes do: files
/// that name the host (kernel command line and build, boot id, disks,
/// physical memory layout, kernel symbols and timers) or expose kernel state
/// no command needs. Files get `/dev/null` bound over them read-only,
/// directories an empty read-only tmpfs; what this kernel does not have is
/// skipped. A mask that cannot be applied fails the execution.
const PROC_MASKS: &[&str] = &[
    "cmdline",
    "config.gz",
    "bootconfig",
    "sys/kernel/random/boot_id",
    "kcore",
    "kallsyms",
    "kmsg",
    "keys",
    "key-users",
    "sched_debug",
    "timer_list",
    "timer_stats",
    "latency_stats",
    "sysrq-trigger",
    "partitions",
    "diskstats",
    "swaps",
    "iomem",
    "ioports",
    "modules",
    "devices",
    "misc",
    "vmallocinfo",
    "slabinfo",
    "pagetypeinfo",
    "acpi",
    "asound",
    "scsi",
    "bus",
    "fs",
    "irq",
    "driver",
];

/// Name the sandbox's PID 1 shows in `/proc/1/{comm,cmdline}`.
const INIT_NAME: &str = "init";

/// Device nodes bound from the host's `/dev`; nothing else is there.
pub const DEV_NODES: &[&str] = &["null", "zero", "urandom", "tty"];

/// A regular file written into the root tmpfs.
pub struct PlannedFile {
    pub path: CString,
    pub body: Vec<u8>,
    /// Permission bits, applied exactly (no umask).
    pub mode: u32,
}

pub struct Bind {
    pub dst: CString,
    pub kind: BindKind,
}

/// How a host path appears in the root.
pub enum BindKind {
    /// A read-only overlay whose only content is the host directory
    /// (`lowerdir=SRC:DST`, DST relative to the root and still empty when
    /// mounted). Its own filesystem: the mount table names no host device,
    /// and no inode is the host's (inotify on it sees nothing of the host).
    Overlay { options: CString },
    /// A read-only bind of the host directory, where the kernel has no
    /// overlayfs for user namespaces.
    HostDir { src: CString },
    /// A device node cloned from the [`crate::mounts::Kit`].
    KitNode { name: CString },
}

/// The root filesystem recipe, identical for every execution.
pub struct RootPlan {
    pub root: CString,
    /// The per-run filesystems the executor makes (see [`crate::mounts`]).
    pub mounts: crate::mounts::RunMountOptions,
    /// The sandbox's device kit (see [`crate::mounts::Kit`]), open for the
    /// sandbox's lifetime.
    pub kit: crate::mounts::Kit,
    /// (path, mode), created in order; the mode is set exactly (no umask).
    pub dirs: Vec<(CString, u32)>,
    pub binds: Vec<Bind>,
    /// (target, link path)
    pub symlinks: Vec<(CString, CString)>,
    pub files: Vec<PlannedFile>,
    pub proc_dir: CString,
    /// Paths under the fresh `/proc` to hide (see `PROC_MASKS`).
    pub proc_masks: Vec<CString>,
    /// The sandbox's own `/dev/null` (before `pivot_root`), bound over masks.
    pub null_dev: CString,
    pub init_name: CString,
    /// A file holding the init's command line as `/proc/1/cmdline` should
    /// show it, bound over that entry and its `task/1` twin, then unlinked.
    /// The init's own argument strings are the server's (it shares or
    /// copies the server's memory), so they cannot simply be rewritten.
    pub init_cmdline: CString,
    pub init_cmdline_targets: [CString; 2],
    pub tmp_dir: CString,
    pub ws_dir: CString,
    /// `/workspace/in` before `pivot_root`: where a task's inputs are bound.
    pub ws_in_dir: CString,
    pub hostname: Vec<u8>,
    // Paths as seen after pivot_root, for chdir and Landlock.
    pub in_root: CString,
    pub in_workspace: CString,
    pub in_tmp: CString,
    pub in_dev: CString,
    pub dot: CString,
    pub landlock: Option<landlock::Policy>,
    pub seccomp: Option<Vec<libc::sock_filter>>,
}

fn cstr(s: impl AsRef<[u8]>) -> Result<CString, SandboxError> {
    CString::new(s.as_ref().to_vec())
        .map_err(|_| SandboxError::Config("path contains a NUL byte".into()))
}

fn under(root: &Path, inner: &str) -> PathBuf {
    root.join(inner.trim_start_matches('/'))
}

impl RootPlan {
    /// `overlay`: whether the kernel mounts overlayfs in a user namespace
    /// (else system directories are bound).
    pub fn build(
        cfg: &SandboxConfig,
        kit: crate::mounts::Kit,
        overlay: bool,
        landlock: Option<landlock::Policy>,
        seccomp: Option<Vec<libc::sock_filter>>,
    ) -> Result<RootPlan, SandboxError> {
        use crate::mounts::TmpfsOptions;
        let root = cfg.root_dir.as_path();
        let c = |p: PathBuf| cstr(p.as_os_str().as_bytes());
        let mut plan = RootPlan {
            root: c(root.to_path_buf())?,
            mounts: crate::mounts::RunMountOptions {
                // The skeleton is tiny and read-only once built.
                root: TmpfsOptions::new(8 << 20, 4096, 0o755),
                tmp: TmpfsOptions::new(cfg.tmp_size_bytes, 16384, 0o1777),
                workspace: TmpfsOptions::new(cfg.workspace_size_bytes, 16384, 0o755),
            },
            kit,
            dirs: Vec::new(),
            binds: Vec::new(),
            symlinks: Vec::new(),
            files: Vec::new(),
            proc_dir: c(under(root, "proc"))?,
            proc_masks: PROC_MASKS
                .iter()
                .map(|m| c(under(root, &format!("/proc/{m}"))))
                .collect::<Result<_, _>>()?,
            null_dev: c(under(root, "/dev/null"))?,
            init_name: cstr(INIT_NAME)?,
            init_cmdline: c(under(root, ".init-cmdline"))?,
            init_cmdline_targets: [
                c(under(root, "proc/1/cmdline"))?,
                c(under(root, "proc/1/task/1/cmdline"))?,
            ],
            tmp_dir: c(under(root, "tmp"))?,
            ws_dir: c(under(root, WORKSPACE))?,
            ws_in_dir: c(under(root, WORKSPACE).join(crate::workspace::INPUTS_MOUNT_POINT))?,
            hostname: b"octollm-sandbox".to_vec(),
            in_root: cstr("/")?,
            in_workspace: cstr(WORKSPACE)?,
            in_tmp: cstr("/tmp")?,
            in_dev: cstr("/dev")?,
            dot: cstr(".")?,
            landlock,
            seccomp,
        };
        for d in ["proc", "tmp", "workspace", "dev", "etc"] {
            plan.dirs.push((c(under(root, d))?, 0o755));
        }
        for dir in SYSTEM_DIRS {
            let host = Path::new(dir);
            let Ok(meta) = host.symlink_metadata() else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(host).map_err(SandboxError::Io)?;
                plan.symlinks
                    .push((cstr(target.as_os_str().as_bytes())?, c(under(root, dir))?));
            } else if meta.is_dir() {
                plan.dirs.push((c(under(root, dir))?, 0o755));
                plan.binds.push(system_dir(root, Path::new(dir), overlay)?);
            }
        }
        plan.add_etc(root, overlay)?;
        for name in plan.kit.nodes() {
            let inner = under(root, "/dev").join(std::ffi::OsStr::from_bytes(name.as_bytes()));
            plan.binds.push(Bind {
                dst: c(inner)?,
                kind: BindKind::KitNode { name: name.clone() },
            });
        }
        for (target, name) in [
            ("/proc/self/fd", "fd"),
            ("/proc/self/fd/0", "stdin"),
            ("/proc/self/fd/1", "stdout"),
            ("/proc/self/fd/2", "stderr"),
        ] {
            plan.symlinks
                .push((cstr(target)?, c(under(root, &format!("/dev/{name}")))?));
        }
        Ok(plan)
    }

    fn add_etc(&mut self, root: &Path, overlay: bool) -> Result<(), SandboxError> {
        let c = |p: PathBuf| cstr(p.as_os_str().as_bytes());
        // Synthetic identity files: the sandbox user is root of its own
        // namespace and nobody else exists.
        for (name, body) in [
            (
                "passwd",
                "root:x:0:0:sandbox:/workspace:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            ),
            ("group", "root:x:0:\nnogroup:x:65534:\n"),
            ("hosts", "127.0.0.1 localhost octollm-sandbox\n::1 localhost\n"),
            ("hostname", "octollm-sandbox\n"),
            ("resolv.conf", ""),
        ] {
            self.files.push(PlannedFile {
                path: c(under(root, &format!("/etc/{name}")))?,
                body: body.as_bytes().to_vec(),
                mode: 0o644,
            });
        }
        for name in ETC_ALLOWLIST {
            self.copy_etc_entry(root, &Path::new("/etc").join(name), 0, false)?;
        }
        for name in ETC_BOUND {
            let host = Path::new("/etc").join(name);
            // Bound only where "other" may list and enter it, as a copy
            // would have been.
            let Some(mode) = host
                .symlink_metadata()
                .ok()
                .filter(|m| m.is_dir())
                .and_then(|m| etc_copy_mode(m.permissions().mode(), true))
            else {
                continue;
            };
            self.dirs
                .push((c(under(root, &host.to_string_lossy()))?, mode));
            self.binds.push(system_dir(root, &host, overlay)?);
        }
        Ok(())
    }

    /// Copies one `/etc` entry. `symlink` is true when the listing of its
    /// directory already said it is a symbolic link: it then needs no `stat`
    /// of its own.
    fn copy_etc_entry(
        &mut self,
        root: &Path,
        host: &Path,
        depth: u32,
        symlink: bool,
    ) -> Result<(), SandboxError> {
        let c = |p: PathBuf| cstr(p.as_os_str().as_bytes());
        let inner = under(root, &host.to_string_lossy());
        let meta = if symlink {
            None
        } else {
            let Ok(meta) = host.symlink_metadata() else {
                return Ok(());
            };
            Some(meta)
        };
        let Some(meta) = meta.filter(|m| !m.file_type().is_symlink()) else {
            let target = match std::fs::read_link(host) {
                Ok(t) => t,
                // Gone since it was listed: as if it had never been there.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(SandboxError::Io(e)),
            };
            self.symlinks
                .push((cstr(target.as_os_str().as_bytes())?, c(inner)?));
            return Ok(());
        };
        if meta.is_file() && meta.len() <= ETC_MAX_FILE {
            // The server reads /etc as root, but inside the sandbox every
            // copy belongs to the command's own (namespace) uid, so owner and
            // group bits would grant it what the host keeps from other
            // users: only what "other" may read is copied at all.
            let Some(mode) = etc_copy_mode(meta.permissions().mode(), false) else {
                return Ok(());
            };
            // Unreadable files are skipped rather than failing start-up.
            if let Ok(body) = std::fs::read(host) {
                self.files.push(PlannedFile {
                    path: c(inner)?,
                    body,
                    mode,
                });
            }
        } else if meta.is_dir() && depth < 2 {
            // A directory "other" may not list and enter is not copied,
            // nor is anything under it.
            let Some(mode) = etc_copy_mode(meta.permissions().mode(), true) else {
                return Ok(());
            };
            self.dirs.push((c(inner)?, mode));
            if let Ok(entries) = std::fs::read_dir(host) {
                for e in entries.flatten() {
                    let symlink = e.file_type().is_ok_and(|t| t.is_symlink());
                    self.copy_etc_entry(root, &e.path(), depth + 1, symlink)?;
                }
            }
        }
        Ok(())
    }
}

/// The mode a copy of a host `/etc` entry gets, or `None` when it must not
/// be copied. Inside the sandbox the copy is owned by the command's own uid,
/// so the host's owner and group bits cannot be kept as such; what "other"
/// may do on the host is what everybody may do with the copy (read, and
/// search or execute where "other" could). Write bits are never kept, and
/// neither are setuid, setgid and sticky.
fn etc_copy_mode(host_mode: u32, is_dir: bool) -> Option<u32> {
    let other = host_mode & 0o007;
    let needed = if is_dir { 0o005 } else { 0o004 };
    if other & needed != needed {
        return None;
    }
    let rx = other & 0o005;
    Some(rx << 6 | rx << 3 | rx)
}

/// A host directory shown read-only at the same path in the root: an
/// overlay when the kernel allows one and the path can be written in
/// overlayfs's option syntax, else a bind.
fn system_dir(root: &Path, host: &Path, overlay: bool) -> Result<Bind, SandboxError> {
    let inner = under(root, &host.to_string_lossy());
    let dst = cstr(inner.as_os_str().as_bytes())?;
    let src = host.as_os_str().as_bytes();
    // The lower layers are the host directory and the (empty) mount point
    // itself, relative to the root: overlayfs needs two layers to mount
    // without an upper one, and a relative path names nothing of the host.
    let relative = host
        .strip_prefix("/")
        .unwrap_or(host)
        .as_os_str()
        .as_bytes();
    let plain = |p: &[u8]| !p.is_empty() && !p.iter().any(|b| matches!(b, b',' | b':' | b'\\'));
    let kind = if overlay && plain(src) && plain(relative) {
        let mut options = b"lowerdir=".to_vec();
        options.extend_from_slice(src);
        options.push(b':');
        options.extend_from_slice(relative);
        BindKind::Overlay {
            options: cstr(options)?,
        }
    } else {
        BindKind::HostDir { src: cstr(src)? }
    };
    Ok(Bind { dst, kind })
}

/// The per-execution part: what to exec, with which environment and limits.
pub struct RunPlan {
    pub program: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    pub argv_ptrs: Vec<*const libc::c_char>,
    pub envp_ptrs: Vec<*const libc::c_char>,
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    pub host_uid: u32,
    /// The task workspace attached at `/workspace`, and its inputs, when
    /// the execution names one (else `/workspace` is a fresh tmpfs): the
    /// descriptors of detached mounts the parent made (see
    /// `workspace::detached`).
    pub workspace: Option<(i32, i32)>,
    /// The run's fresh root, `/tmp` and (without a task workspace)
    /// `/workspace`: detached mounts the executor made (see
    /// [`crate::mounts::RunMounts`]); -1 for none.
    pub root_fd: i32,
    pub tmp_fd: i32,
    pub fresh_ws_fd: i32,
}

impl RunPlan {
    /// Every descriptor above, kept open by the init until it has attached
    /// them (-1 when there is none). Allocates nothing: the init calls it.
    pub fn mount_fds(&self) -> [i32; 5] {
        let (dir, inputs) = self.workspace.unwrap_or((-1, -1));
        [dir, inputs, self.root_fd, self.tmp_fd, self.fresh_ws_fd]
    }

    /// `ws_fds`: descriptors of the workspace and its inputs, when the
    /// execution names a workspace.
    pub fn build(
        cfg: &SandboxConfig,
        spec: &ExecSpec,
        host_uid: u32,
        ws_fds: Option<(i32, i32)>,
        fresh: &crate::mounts::RunMounts,
    ) -> Result<RunPlan, SandboxError> {
        use std::os::fd::AsRawFd;
        let program = resolve(&cfg.path_env, &spec.program)?;
        let mut argv = vec![cstr(&spec.program).map_err(|_| SandboxError::InvalidArgument)?];
        for a in &spec.args {
            argv.push(cstr(a).map_err(|_| SandboxError::InvalidArgument)?);
        }
        // The whole environment: nothing is inherited from the server.
        let envp = vec![
            cstr(format!("PATH={}", cfg.path_env))?,
            cstr(format!("HOME={WORKSPACE}"))?,
            cstr(format!("LANG={}", cfg.lang))?,
        ];
        let mut plan = RunPlan {
            program,
            argv,
            envp,
            argv_ptrs: Vec::new(),
            envp_ptrs: Vec::new(),
            rlimits: Vec::new(),
            host_uid,
            workspace: ws_fds,
            root_fd: fresh.root.as_raw_fd(),
            tmp_fd: fresh.tmp.as_raw_fd(),
            fresh_ws_fd: fresh.workspace.as_ref().map_or(-1, |f| f.as_raw_fd()),
        };
        plan.argv_ptrs = plan.argv.iter().map(|s| s.as_ptr()).collect();
        plan.argv_ptrs.push(std::ptr::null());
        plan.envp_ptrs = plan.envp.iter().map(|s| s.as_ptr()).collect();
        plan.envp_ptrs.push(std::ptr::null());
        plan.rlimits = rlimits(cfg, spec);
        Ok(plan)
    }
}

/// Every resource limit there is, set explicitly: nothing is inherited from
/// the server (whose own limits may be generous, or raised for it: real-time
/// priority, nice, locked memory, queued signals, stack).
fn rlimits(cfg: &SandboxConfig, spec: &ExecSpec) -> Vec<(libc::__rlimit_resource_t, u64)> {
    // CPU seconds: the wall clock is the real limit, this one only stops
    // a spinner if the supervisor were somehow late.
    let cpu = spec.timeout.as_secs().saturating_add(2);
    vec![
        (libc::RLIMIT_CPU, cpu),
        (libc::RLIMIT_AS, cfg.address_space_bytes),
        (libc::RLIMIT_DATA, cfg.address_space_bytes),
        (libc::RLIMIT_RSS, cfg.address_space_bytes),
        (libc::RLIMIT_STACK, cfg.stack_bytes),
        (libc::RLIMIT_FSIZE, cfg.file_size_bytes),
        (libc::RLIMIT_NOFILE, cfg.open_files),
        (libc::RLIMIT_LOCKS, cfg.open_files),
        (libc::RLIMIT_NPROC, cfg.nproc),
        (libc::RLIMIT_SIGPENDING, cfg.pending_signals),
        (libc::RLIMIT_CORE, 0),
        (libc::RLIMIT_MEMLOCK, 0),
        (libc::RLIMIT_MSGQUEUE, 0),
        // No raising of priority, no real-time scheduling, and a real-time
        // task (there can be none) would get no more CPU than the budget.
        (libc::RLIMIT_NICE, 0),
        (libc::RLIMIT_RTPRIO, 0),
        (libc::RLIMIT_RTTIME, cpu.saturating_mul(1_000_000)),
    ]
}

/// Resolves `program` against the sandbox `PATH`. The sandbox sees the host's
/// `/usr` read-only, so the host view gives the same answer.
fn resolve(path_env: &str, program: &str) -> Result<CString, SandboxError> {
    if program.is_empty() {
        return Err(SandboxError::NotFound(program.to_string()));
    }
    if program.contains('/') {
        return cstr(program).map_err(|_| SandboxError::InvalidArgument);
    }
    for dir in path_env.split(':').filter(|d| d.starts_with('/')) {
        let candidate = Path::new(dir).join(program);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return cstr(candidate.as_os_str().as_bytes());
            }
        }
    }
    Err(SandboxError::NotFound(program.to_string()))
}

#[cfg(test)]
mod tests {
    use super::etc_copy_mode;

    #[test]
    fn every_rlimit_is_set() {
        let cfg = crate::SandboxConfig::default();
        let spec = crate::ExecSpec {
            timeout: std::time::Duration::from_secs(5),
            workspace: None,
            ..Default::default()
        };
        let limits = super::rlimits(&cfg, &spec);
        let mut resources: Vec<_> = limits.iter().map(|(r, _)| *r).collect();
        resources.sort_unstable();
        resources.dedup();
        // Linux has 16 resource limits, numbered 0 to 15.
        assert_eq!(resources, (0..16).collect::<Vec<_>>());
    }

    #[test]
    fn etc_copies_keep_only_what_other_users_may_do() {
        // Root-only or group-only files are not copied at all.
        assert_eq!(etc_copy_mode(0o600, false), None);
        assert_eq!(etc_copy_mode(0o640, false), None);
        assert_eq!(etc_copy_mode(0o4750, false), None);
        // World-readable ones are readable by everybody, never writable.
        assert_eq!(etc_copy_mode(0o644, false), Some(0o444));
        assert_eq!(etc_copy_mode(0o666, false), Some(0o444));
        assert_eq!(etc_copy_mode(0o755, false), Some(0o555));
        assert_eq!(etc_copy_mode(0o4755, false), Some(0o555));
        // Directories need read and search for "other".
        assert_eq!(etc_copy_mode(0o755, true), Some(0o555));
        assert_eq!(etc_copy_mode(0o1777, true), Some(0o555));
        assert_eq!(etc_copy_mode(0o751, true), None);
        assert_eq!(etc_copy_mode(0o700, true), None);
    }
}
