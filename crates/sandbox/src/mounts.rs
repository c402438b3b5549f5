//! Filesystems the executor makes for each sandbox, as detached mounts.
//!
//! A tmpfs mounted inside the sandbox's user namespace belongs to that
//! namespace, and `/proc/self/mountinfo` prints its owner in host terms
//! (`uid=` and `gid=` the slot's host uid); a bind of a host device node
//! prints the host's `devtmpfs`, whose `size=` is the host's memory. Made
//! here instead, by the executor in the host's namespaces, they belong to
//! the host's root: the mount table shows `tmpfs octollm` with the options
//! chosen below and nothing else. The init attaches them by descriptor
//! (`move_mount`), as it does a task's workspace.
//!
//! Two kinds:
//! - the [`Kit`], one per [`crate::Sandbox`]: the device nodes and an empty
//!   directory (for masking `/proc` directories), cloned into every run;
//! - [`RunMounts`], fresh for every run: the root, `/tmp`, and `/workspace`
//!   when the run has no task workspace. Their root directories are handed
//!   to the slot's uid, so the command (root of its namespace) owns them.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;

use crate::sys::{self, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID};
use crate::SandboxError;

/// The source name every filesystem the sandbox creates shows in the mount
/// table: neutral, naming nothing of the host.
pub const SOURCE: &CStr = c"octollm";

/// Name of the kit's empty directory.
pub const EMPTY_DIR: &CStr = c"empty";

fn error(what: &str, errno: i32) -> SandboxError {
    SandboxError::Io(std::io::Error::other(format!(
        "{what}: {}",
        std::io::Error::from_raw_os_error(errno)
    )))
}

/// Options of one tmpfs, as `fsconfig` keys and values.
#[derive(Clone, Debug)]
pub struct TmpfsOptions(Vec<(CString, CString)>);

impl TmpfsOptions {
    /// `size` in bytes, at most `inodes` entries, root directory `mode`.
    pub fn new(size: u64, inodes: u64, mode: u32) -> TmpfsOptions {
        // Values are digits: never a NUL byte.
        let number = |v: String| CString::new(v).unwrap_or_default();
        TmpfsOptions(vec![
            (c"source".to_owned(), SOURCE.to_owned()),
            (c"size".to_owned(), number(size.to_string())),
            (c"nr_inodes".to_owned(), number(inodes.to_string())),
            (c"mode".to_owned(), number(format!("{mode:o}"))),
        ])
    }

    fn mount(&self, attrs: u32) -> Result<OwnedFd, i32> {
        let opts: Vec<(&CStr, &CStr)> = self
            .0
            .iter()
            .map(|(k, v)| (k.as_c_str(), v.as_c_str()))
            .collect();
        sys::fsmount(c"tmpfs", &opts, attrs)
    }
}

/// The device nodes and the empty directory, on a tiny tmpfs of the host's
/// root. Nothing in it is writable by a slot uid, and the init mounts every
/// clone of it read-only (device nodes still read and write: a read-only
/// mount only refuses changes to the node itself).
pub struct Kit {
    fd: OwnedFd,
    nodes: Vec<CString>,
}

impl Kit {
    /// Makes the kit with each of `nodes` (names under the host's `/dev`)
    /// that the host has, as a character device with the host's numbers.
    pub fn create(nodes: &[&str]) -> Result<Kit, SandboxError> {
        let fd = TmpfsOptions::new(16 * 1024, 16, 0o755)
            .mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC)
            .map_err(|e| error("device kit tmpfs", e))?;
        let mut made = Vec::new();
        for node in nodes {
            let Ok(meta) = std::fs::metadata(format!("/dev/{node}")) else {
                continue;
            };
            if !meta.file_type().is_char_device() {
                continue;
            }
            let name = CString::new(*node)
                .map_err(|_| SandboxError::Config("device name contains a NUL byte".into()))?;
            // SAFETY: `name` is NUL-terminated; mknodat creates one node
            // relative to the kit's root.
            let rc = unsafe {
                libc::mknodat(
                    fd.as_raw_fd(),
                    name.as_ptr(),
                    libc::S_IFCHR | 0o666,
                    meta.rdev(),
                )
            };
            if rc < 0 {
                return Err(error("device node", sys::errno()));
            }
            chmod_at(&fd, &name, 0o666)?;
            made.push(name);
        }
        // SAFETY: NUL-terminated name relative to the kit's root.
        if unsafe { libc::mkdirat(fd.as_raw_fd(), EMPTY_DIR.as_ptr(), 0o555) } < 0 {
            return Err(error("empty directory", sys::errno()));
        }
        chmod_at(&fd, EMPTY_DIR, 0o555)?;
        Ok(Kit { fd, nodes: made })
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The device nodes the kit holds.
    pub fn nodes(&self) -> &[CString] {
        &self.nodes
    }
}

/// The exact mode, whatever the executor's umask.
fn chmod_at(fd: &OwnedFd, name: &CStr, mode: u32) -> Result<(), SandboxError> {
    // SAFETY: NUL-terminated name relative to a directory descriptor.
    if unsafe { libc::fchmodat(fd.as_raw_fd(), name.as_ptr(), mode, 0) } < 0 {
        return Err(error("kit mode", sys::errno()));
    }
    Ok(())
}

/// One run's fresh filesystems, held open by the executor until the run
/// ends (the init attaches them by descriptor).
pub struct RunMounts {
    pub root: OwnedFd,
    pub tmp: OwnedFd,
    /// `None` when the run has a task workspace of its own.
    pub workspace: Option<OwnedFd>,
}

/// The options of the three per-run filesystems (from the configuration).
#[derive(Clone, Debug)]
pub struct RunMountOptions {
    pub root: TmpfsOptions,
    pub tmp: TmpfsOptions,
    pub workspace: TmpfsOptions,
}

impl RunMounts {
    /// Makes the root (nosuid, nodev; read-only once built), `/tmp` and
    /// `/workspace` (also noexec), each owned by `uid`.
    pub fn create(
        opts: &RunMountOptions,
        uid: u32,
        fresh_workspace: bool,
    ) -> Result<RunMounts, SandboxError> {
        let make = |o: &TmpfsOptions, attrs: u32, what: &str| {
            let fd = o.mount(attrs).map_err(|e| error(what, e))?;
            sys::chown_mount_root(fd.as_raw_fd(), uid).map_err(|e| error(what, e))?;
            Ok::<_, SandboxError>(fd)
        };
        let locked = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        Ok(RunMounts {
            root: make(&opts.root, locked, "root tmpfs")?,
            tmp: make(&opts.tmp, locked | MOUNT_ATTR_NOEXEC, "/tmp tmpfs")?,
            workspace: if fresh_workspace {
                Some(make(
                    &opts.workspace,
                    locked | MOUNT_ATTR_NOEXEC,
                    "/workspace tmpfs",
                )?)
            } else {
                None
            },
        })
    }
}
