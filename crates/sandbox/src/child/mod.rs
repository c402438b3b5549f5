//! The code that runs after `clone()`: the sandbox's PID 1 and the worker it
//! forks to exec the command.
//!
//! Rules for everything in this module: no allocation, no panics, no locks,
//! no writes but to our own stack, the start-up word the supervising thread
//! waits on, and `errno` (that of the thread suspended in the clone). The init and the worker run in
//! the server's own memory (`CLONE_VM`, see `slot::vfork_init`), each on a
//! stack of its own, while the thread that cloned them is suspended; with a
//! cgroup v2 group the init is a copy of one thread instead. Either way the
//! server's other threads may hold any lock. Every string and buffer comes
//! prepared from [`crate::plan`]. Failures are reported to the parent as a
//! fixed-size record on the status pipe, then the process exits.
//!
//! Order matters and is the order of privileges given up:
//! 0. init: every signal blocked and every handler reset (the server's
//!    handlers must never run in its memory), non-dumpable, renamed `init`;
//! 1. init: become root *of the new user namespace* (uid maps written by the
//!    parent), clear supplementary groups, new cgroup namespace, loopback up;
//! 2. init: build the tmpfs root, mask the host-naming parts of the fresh
//!    `/proc` (and show `init` as PID 1's command line, whose strings are the
//!    server's), `pivot_root` into it, detach the old root, remount `/`
//!    read-only;
//! 3. worker: rlimits, drop every capability (bounding set too) and lock the
//!    securebits, `no_new_privs`, Landlock (needs the final paths), seccomp
//!    last (so none of our own set-up calls has to pass it), then `execve`.
//!
//! | file | part |
//! |---|---|
//! | `init.rs` | PID 1: blocks signals, closes inherited fds, hides the server's name, waits for the go byte, sets up the namespaces, forks the worker, forwards signals and reaps |
//! | `root.rs` | the tmpfs root, its mounts, the `/proc` masks (PID 1's command line too), `pivot_root`, the read-only remount |
//! | `privileges.rs` | switching ids, dropping capabilities, securebits, `no_new_privs`, Landlock, seccomp — in that order |
//! | `worker.rs` | the forked worker: fresh signal state, stdio, rlimits, then `execve` |
//!
//! This file holds what they share: the fds, the stages and the status
//! records.

mod init;
mod privileges;
mod root;
mod worker;

use crate::sys::{errno, write_all};

pub use init::{init_entry, init_main};

/// The fds the child keeps; every other inherited fd is closed at once (the
/// parent's sockets, other executions' pipes, the audit log...).
#[derive(Clone, Copy)]
pub struct ChildFds {
    pub stdin_r: i32,
    pub stdout_w: i32,
    pub stderr_w: i32,
    pub status_w: i32,
    pub go_r: i32,
}

/// Declares [`Stage`] and its decoding from one list of names, so the
/// enum and the values `from_i32` accepts cannot drift apart. Stages are
/// numbered from 1 in list order.
macro_rules! stages {
    ($first:ident $(, $rest:ident)* $(,)?) => {
        /// Set-up stages, reported when one fails.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(i32)]
        pub enum Stage {
            $first = 1,
            $($rest,)*
        }

        impl Stage {
            const ALL: &'static [Stage] = &[Stage::$first, $(Stage::$rest,)*];

            pub fn from_i32(v: i32) -> Option<Stage> {
                Self::ALL.iter().copied().find(|s| *s as i32 == v)
            }
        }
    };
}

stages! {
    CloseFds,
    Identity,
    WaitGo,
    Ids,
    Hostname,
    CgroupNs,
    Loopback,
    MakePrivate,
    RootTmpfs,
    Mkdir,
    Bind,
    Remount,
    Symlink,
    WriteFile,
    Proc,
    MaskProc,
    Tmp,
    Workspace,
    PivotRoot,
    DetachOldRoot,
    ReadonlyRoot,
    ForkWorker,
    Stdio,
    Chdir,
    Rlimit,
    Securebits,
    DropCaps,
    NoNewPrivs,
    Landlock,
    Seccomp,
}

pub const REC_SETUP_FAILED: u32 = 1;
pub const REC_EXEC_FAILED: u32 = 2;
pub const REC_EXITED: u32 = 3;

/// Which optional layers this run applies.
#[derive(Clone, Copy)]
pub struct Options {
    pub cgroup_ns: bool,
}

fn record(fd: i32, kind: u32, a: i32, b: i32) {
    let mut buf = [0u8; 12];
    buf[..4].copy_from_slice(&kind.to_ne_bytes());
    buf[4..8].copy_from_slice(&a.to_ne_bytes());
    buf[8..].copy_from_slice(&b.to_ne_bytes());
    // 12 bytes < PIPE_BUF: atomic even with init and worker both writing.
    let _ = write_all(fd, &buf);
}

fn fail(fds: &ChildFds, stage: Stage, err: i32) -> ! {
    record(fds.status_w, REC_SETUP_FAILED, stage as i32, err);
    // SAFETY: _exit never returns and runs no atexit handlers (which could
    // touch state copied from the parent's other threads).
    unsafe { libc::_exit(126) }
}

fn check(fds: &ChildFds, stage: Stage, r: Result<(), i32>) {
    if let Err(e) = r {
        fail(fds, stage, e);
    }
}

fn rc(r: libc::c_int) -> Result<(), i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

fn unblock_signals() {
    // SAFETY: an empty, initialised sigset is passed by pointer for the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn stages_round_trip_through_their_numbers() {
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(*s as i32, i as i32 + 1);
            assert_eq!(Stage::from_i32(*s as i32), Some(*s));
        }
        assert_eq!(Stage::ALL.len(), 30);
        assert_eq!(Stage::from_i32(0), None);
        assert_eq!(Stage::from_i32(31), None);
    }
}
