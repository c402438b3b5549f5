//! Workspaces that outlive one execution: the files a task's steps share.
//!
//! A workspace is a tmpfs of its own, mounted (by the executor, as root)
//! in a directory of the executor's data directory. Its size and inode
//! count are the quota, enforced by the kernel at every write, so no step
//! can fill the host's disk or memory past it. An execution that names a
//! workspace gets it bound at `/workspace` (read-write, `nosuid`, `nodev`,
//! `noexec`) instead of a fresh tmpfs, and the task's input files bound
//! read-only over `/workspace/in`, a mount point no step can remove.
//!
//! Each execution runs as its slot's uid, and a file another slot wrote
//! reads as owned by `nobody` inside this one. Before an execution starts,
//! [`hand_over`] gives every entry of the workspace to the execution's uid.
//! The walk never follows a symlink, and the executor runs one execution
//! per workspace at a time, so nothing changes the tree while it walks.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::sys::{errno, mount};
use crate::SandboxError;

/// The directory inside a workspace over which the inputs are bound.
pub const INPUTS_MOUNT_POINT: &str = "in";

/// What an execution binds at `/workspace` and `/workspace/in`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceMount {
    /// The workspace's tmpfs (see [`mount_tmpfs`]).
    pub dir: PathBuf,
    /// A host directory of input files, bound read-only at `/workspace/in`.
    pub inputs: PathBuf,
}

fn c_path(p: &Path) -> Result<CString, SandboxError> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| SandboxError::Config("path contains a NUL byte".into()))
}

fn os_error(what: &str, errno: i32) -> SandboxError {
    SandboxError::Setup {
        stage: what.to_string(),
        source: std::io::Error::from_raw_os_error(errno),
    }
}

/// Whether `dir` is a mount point: it lives on another device than its
/// parent.
fn is_mount_point(dir: &Path) -> std::io::Result<bool> {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    Ok(std::fs::metadata(dir)?.dev() != std::fs::metadata(parent)?.dev())
}

/// Creates `dir` and mounts a tmpfs of at most `size_bytes` and `inodes`
/// entries on it, with the inputs' mount point inside; keeps a tmpfs that
/// is already there (an executor restarted while a task was running).
pub fn mount_tmpfs(dir: &Path, size_bytes: u64, inodes: u64) -> Result<(), SandboxError> {
    std::fs::create_dir_all(dir)?;
    if !is_mount_point(dir)? {
        let opts = CString::new(format!("size={size_bytes},nr_inodes={inodes},mode=0755"))
            .map_err(|_| SandboxError::Config("bad tmpfs options".into()))?;
        mount(
            Some(c"octollm-workspace"),
            &c_path(dir)?,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            Some(&opts),
        )
        .map_err(|e| os_error("workspace tmpfs", e))?;
    }
    let inputs = dir.join(INPUTS_MOUNT_POINT);
    if !inputs.exists() {
        std::fs::create_dir(&inputs)?;
    }
    Ok(())
}

/// Unmounts a workspace's tmpfs (lazily, should a process still hold it)
/// and removes its directory. A workspace that is not there is fine.
pub fn unmount(dir: &Path) -> Result<(), SandboxError> {
    if !dir.exists() {
        return Ok(());
    }
    if is_mount_point(dir)? {
        let target = c_path(dir)?;
        // SAFETY: `target` is NUL-terminated and outlives the call.
        if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } < 0 {
            let e = errno();
            if e != libc::EINVAL && e != libc::ENOENT {
                return Err(os_error("workspace unmount", e));
            }
        }
    }
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// A detached mount of directory `dir`, made here (as root, in the host's
/// view) for an execution's init to attach. The init, already the slot's
/// unprivileged uid on the host, may not be able to walk to `dir` (a data
/// directory of mode 0700), and could not bind a path of another mount
/// namespace anyway.
pub(crate) fn detached(dir: &Path) -> Result<std::os::fd::OwnedFd, SandboxError> {
    crate::sys::open_tree_clone(&c_path(dir)?).map_err(|e| os_error("workspace open_tree", e))
}

/// Gives `dir` and everything in it (but the inputs' mount point) to
/// `uid`:`uid`, without following a symlink.
pub(crate) fn hand_over(dir: &Path, uid: u32) -> Result<(), SandboxError> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid))?;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if d == dir && entry.file_name() == INPUTS_MOUNT_POINT {
                continue;
            }
            // `file_type` comes from the directory entry: a symlink is a
            // symlink here, never its target.
            let kind = entry.file_type()?;
            std::os::unix::fs::lchown(&path, Some(uid), Some(uid))?;
            if kind.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(())
}
