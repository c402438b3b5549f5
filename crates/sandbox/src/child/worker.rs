//! The worker: the init's only child, which becomes the command.
//!
//! It starts from a clean process state (default signal dispositions,
//! nothing blocked, own session), puts the pipes on fds 0-2, enters the
//! workspace, applies the rlimits, gives up its privileges and execs. It is
//! separate from the init because it is the process the command replaces:
//! nothing here may be left behind that the command could use.

use super::init::default_dispositions;
use super::{check, privileges, rc, record, unblock_signals, ChildFds, Stage, REC_EXEC_FAILED};
use crate::plan::{RootPlan, RunPlan};
use crate::sys::errno;

/// What the init passes the worker; it lives on the init's stack, and the
/// init is suspended until the worker has exec'd or exited.
pub(super) struct WorkerArgs<'a> {
    pub root: &'a RootPlan,
    pub run: &'a RunPlan,
    pub fds: ChildFds,
}

pub(super) extern "C" fn worker_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the init's `WorkerArgs`, alive while the init is
    // suspended in the clone that started us (see `WorkerArgs`).
    let args = unsafe { &*arg.cast::<WorkerArgs<'_>>() };
    worker_main(args.root, args.run, &args.fds)
}

fn worker_main(root: &RootPlan, run: &RunPlan, fds: &ChildFds) -> ! {
    // Fresh process state: default dispositions (the server ignores SIGPIPE,
    // and ignored signals survive exec), nothing blocked, own session.
    default_dispositions();
    unblock_signals();
    // SAFETY: no arguments.
    unsafe { libc::setsid() };
    for (from, to) in [(fds.stdin_r, 0), (fds.stdout_w, 1), (fds.stderr_w, 2)] {
        // SAFETY: dup2/fcntl on fds we own. dup2 onto itself would keep
        // O_CLOEXEC, so that case clears the flag instead.
        let r = unsafe {
            if from == to {
                libc::fcntl(to, libc::F_SETFD, 0)
            } else {
                libc::dup2(from, to)
            }
        };
        check(fds, Stage::Stdio, rc(r));
    }
    // Everything above 2 closes at exec; the status pipe stays until then so
    // an exec failure can still be reported.
    // SAFETY: close_range with CLOEXEC only sets flags.
    check(
        fds,
        Stage::Stdio,
        rc(unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) }),
    );
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::Chdir,
        rc(unsafe { libc::chdir(root.in_workspace.as_ptr()) }),
    );
    for &(res, limit) in &run.rlimits {
        // Never above the hard limit we inherited: raising it would need
        // CAP_SYS_RESOURCE on the host, and a lower limit is only stricter.
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit fills the struct passed by pointer.
        check(
            fds,
            Stage::Rlimit,
            rc(unsafe { libc::getrlimit(res, &mut old) }),
        );
        let limit = limit.min(old.rlim_max);
        let lim = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: a valid rlimit struct passed by pointer.
        check(
            fds,
            Stage::Rlimit,
            rc(unsafe { libc::setrlimit(res, &lim) }),
        );
    }
    privileges::worker_gives_up(root, fds);
    // SAFETY: program, argv and envp are NUL-terminated strings in
    // null-terminated pointer arrays, all prepared by the parent.
    unsafe {
        libc::execve(
            run.program.as_ptr(),
            run.argv_ptrs.as_ptr(),
            run.envp_ptrs.as_ptr(),
        )
    };
    record(fds.status_w, REC_EXEC_FAILED, errno(), 0);
    // SAFETY: _exit never returns.
    unsafe { libc::_exit(127) }
}
