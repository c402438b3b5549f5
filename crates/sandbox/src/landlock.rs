//! Landlock, through the raw syscalls.
//!
//! The rules must be built *inside* the sandbox, after `pivot_root`: rules
//! name inodes, and a ruleset built in the parent against host paths names
//! host inodes the sandbox never sees, which denies everything (exec too).
//! The child runs after `clone()` in a multi-threaded program, where it may
//! not allocate; the raw calls below need nothing but stack structs, which is
//! why the `landlock` crate (which allocates) is not used here.

use std::ffi::CStr;

// Filesystem access rights, by ABI version.
pub const FS_EXECUTE: u64 = 1 << 0;
pub const FS_WRITE_FILE: u64 = 1 << 1;
pub const FS_READ_FILE: u64 = 1 << 2;
pub const FS_READ_DIR: u64 = 1 << 3;
const FS_ABI1_ALL: u64 = (1 << 13) - 1;
const FS_REFER: u64 = 1 << 13; // ABI 2
const FS_TRUNCATE: u64 = 1 << 14; // ABI 3
const FS_IOCTL_DEV: u64 = 1 << 15; // ABI 5
const FS_MAKE_CHAR: u64 = 1 << 6;
const FS_MAKE_BLOCK: u64 = 1 << 11;
// Network rights (ABI 4).
const NET_BIND_TCP: u64 = 1 << 0;
const NET_CONNECT_TCP: u64 = 1 << 1;
// Scopes (ABI 6).
const SCOPE_ABSTRACT_UNIX: u64 = 1 << 0;
const SCOPE_SIGNAL: u64 = 1 << 1;

const CREATE_RULESET_VERSION: u32 = 1 << 0;
const RULE_PATH_BENEATH: libc::c_int = 1;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesetAttr {
    pub handled_access_fs: u64,
    pub handled_access_net: u64,
    pub scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The ABI version of the running kernel's Landlock, 0 when absent/disabled.
pub fn abi_version() -> u32 {
    // SAFETY: with a null attr, size 0 and the VERSION flag the call reads no
    // memory and only returns the ABI number (or -1).
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).unwrap_or(0)
}

/// The access masks for one ABI: computed in the parent, applied in the child.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub attr: RulesetAttr,
    /// Rights under `/`: read and execute only.
    pub read_only: u64,
    /// Rights under `/workspace` and `/tmp`: everything but device nodes.
    pub read_write: u64,
    /// Rights under `/dev`: read/write the few nodes there, tty ioctls.
    pub dev: u64,
}

impl Policy {
    pub fn for_abi(abi: u32) -> Option<Policy> {
        if abi == 0 {
            return None;
        }
        let mut fs = FS_ABI1_ALL;
        if abi >= 2 {
            fs |= FS_REFER;
        }
        if abi >= 3 {
            fs |= FS_TRUNCATE;
        }
        if abi >= 5 {
            fs |= FS_IOCTL_DEV;
        }
        let net = if abi >= 4 {
            // Handled with no rule = every TCP bind and connect is denied.
            NET_BIND_TCP | NET_CONNECT_TCP
        } else {
            0
        };
        let scoped = if abi >= 6 {
            // No signals to, and no abstract sockets of, anything outside
            // the sandbox's own domain (its PID-1 init included).
            SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL
        } else {
            0
        };
        let read_only = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
        Some(Policy {
            attr: RulesetAttr {
                handled_access_fs: fs,
                handled_access_net: net,
                scoped,
            },
            read_only,
            read_write: fs & !(FS_MAKE_CHAR | FS_MAKE_BLOCK),
            dev: FS_READ_FILE | FS_WRITE_FILE | FS_READ_DIR | (fs & FS_IOCTL_DEV),
        })
    }
}

/// Creates the ruleset, adds `rules` and restricts the calling thread.
/// Runs in the sandboxed child: no allocation. Returns the failing errno.
pub fn apply(policy: &Policy, rules: &[(&CStr, u64)]) -> Result<(), i32> {
    // SAFETY: `attr` is a valid, initialised RulesetAttr and its exact size is
    // passed, as the syscall's extensible-struct convention requires.
    let ruleset = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &policy.attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    if ruleset < 0 {
        return Err(crate::sys::errno());
    }
    let ruleset = ruleset as libc::c_int;
    let result = (|| {
        for (path, access) in rules {
            // SAFETY: `path` is a NUL-terminated string that outlives the call.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
            if fd < 0 {
                return Err(crate::sys::errno());
            }
            let attr = PathBeneathAttr {
                allowed_access: access & policy.attr.handled_access_fs,
                parent_fd: fd,
            };
            // SAFETY: `attr` is a valid packed path_beneath struct living on
            // the stack for the duration of the call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_landlock_add_rule,
                    ruleset,
                    RULE_PATH_BENEATH,
                    &attr as *const PathBeneathAttr,
                    0u32,
                )
            };
            let err = crate::sys::errno();
            crate::sys::close(fd);
            if rc < 0 {
                return Err(err);
            }
        }
        // SAFETY: restrict_self takes a ruleset fd we own and no pointers.
        let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) };
        if rc < 0 {
            return Err(crate::sys::errno());
        }
        Ok(())
    })();
    crate::sys::close(ruleset);
    result
}
