//! PID 1 of the sandbox's pid namespace.
//!
//! The init does the namespace-wide set-up that must happen before the
//! command exists (ids, hostname, cgroup namespace, loopback, the root),
//! then forks the worker and does nothing but forward signals to it and
//! reap. It is separate because it outlives the command: when the worker
//! exits the init reports its status, and leaving kills every orphan.

use std::sync::atomic::Ordering;

use super::root::build_root;
use super::worker::{worker_entry, WorkerArgs};
use super::{check, fail, privileges, rc, record, Stage, REC_EXITED};
use crate::slot::{CloneJob, InitRequest, STARTED};
use crate::sys::{self, errno};

/// Closes every fd except `keep` (-1 entries ignored; sorted here in place).
fn close_all_but(mut keep: [i32; 11]) -> Result<(), i32> {
    keep.sort_unstable();
    let mut next: u32 = 0;
    for fd in keep {
        if fd < 0 {
            continue;
        }
        let fd = fd as u32;
        if fd > next {
            // SAFETY: close_range only closes descriptors in the range.
            rc(unsafe { libc::close_range(next, fd - 1, 0) })?;
        }
        next = fd + 1;
    }
    // SAFETY: as above.
    rc(unsafe { libc::close_range(next, u32::MAX, 0) })
}

/// Entry point of the init when the slot worker clones it into the
/// server's memory (see `slot::vfork_init`).
pub extern "C" fn init_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the slot worker's `CloneJob`, which the supervising
    // thread keeps alive until `started` is set; it is copied out before.
    let job: CloneJob<'_> = unsafe { *arg.cast::<CloneJob<'_>>() };
    if let Some(started) = job.started {
        started.store(STARTED, Ordering::Release);
        sys::futex_wake(started);
    }
    init_main(job)
}

/// The init's life (PID 1 of the new pid namespace).
pub fn init_main(job: CloneJob<'_>) -> ! {
    let CloneJob {
        req:
            InitRequest {
                root,
                run,
                fds,
                opts,
                ..
            },
        worker_stack,
        ..
    } = job;
    // The server's signal handlers are in memory we may share: none of them
    // may ever run here. Everything stays blocked; the init takes signals
    // with sigwaitinfo below.
    let all = full_sigset();
    // SAFETY: an initialised sigset passed by pointer for the call.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut()) };
    default_dispositions();
    // Our memory is the server's (or a copy of it), secrets included: never
    // let the sandboxed process read it through /proc/1/{mem,environ}. The
    // flag belongs to the memory, so this also holds for the server itself.
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        // If the thread that cloned us dies (the slot worker, or the
        // supervising thread), so does the sandbox.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    // Everything else inherited from the server goes: listening sockets,
    // other executions' pipes (holding those would delay their EOF), logs.
    let [ws_dir, ws_inputs, root_fs, tmp_fs, ws_fs] = run.mount_fds();
    check(
        &fds,
        Stage::CloseFds,
        close_all_but([
            fds.stdin_r,
            fds.stdout_w,
            fds.stderr_w,
            fds.status_w,
            fds.go_r,
            ws_dir,
            ws_inputs,
            root_fs,
            tmp_fs,
            ws_fs,
            root.kit.fd(),
        ]),
    );
    // `/proc/1/comm` would show the name of the thread that cloned us; the
    // command line is covered by a mount (see `root::mask_init_cmdline`).
    // SAFETY: PR_SET_NAME reads a NUL-terminated string (the kernel copies
    // at most 16 bytes of it).
    check(
        &fds,
        Stage::Identity,
        rc(unsafe { libc::prctl(libc::PR_SET_NAME, root.init_name.as_ptr(), 0, 0, 0) }),
    );

    // Wait until the parent has written our uid/gid maps (and, on the slow
    // fallback path, moved us into our cgroup). EOF
    // means the parent gave up: leave without doing anything.
    let mut go = [0u8; 1];
    // SAFETY: reading one byte into a one-byte stack buffer.
    let n = unsafe { libc::read(fds.go_r, go.as_mut_ptr().cast(), 1) };
    if n != 1 {
        fail(&fds, Stage::WaitGo, errno());
    }

    privileges::become_namespace_root(&fds);
    // Changing our ids cleared the parent-death signal (prctl(2)): without
    // it a supervisor killed outright would leave the sandbox running,
    // reparented to the host's init. Arm it again, then look whether the
    // supervisor died before it was armed: it holds `go`'s write end until
    // the run is over, so a hang-up there means it is gone.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if hung_up(fds.go_r) {
        // SAFETY: _exit never returns; nothing of ours runs yet.
        unsafe { libc::_exit(1) }
    }
    sys::close(fds.go_r);
    // SAFETY: the hostname buffer is live and its length is passed.
    check(
        &fds,
        Stage::Hostname,
        rc(unsafe { libc::sethostname(root.hostname.as_ptr().cast(), root.hostname.len()) }),
    );
    if opts.cgroup_ns {
        // We were born in the execution's cgroups (the slot's, or the v2
        // per-execution group), so they become our cgroup root.
        // SAFETY: unshare takes a flag word only.
        check(
            &fds,
            Stage::CgroupNs,
            rc(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) }),
        );
    }
    check(&fds, Stage::Loopback, loopback_up());
    build_root(root, run, &fds);

    // PID 1 only reaps; the command runs as its child so that a dying
    // command leaves a parent that collects every orphan. The worker shares
    // our memory until its execve, and we are suspended until then, as in
    // posix_spawn: nothing of the server is copied.
    let args = WorkerArgs { root, run, fds };
    // SAFETY: the worker runs `worker_entry` on `worker_stack`, the slot's
    // second stack, unused by anything else; `args` lives on our stack and
    // we are suspended (CLONE_VFORK) until the worker has exec'd or exited.
    let pid = unsafe {
        libc::clone(
            worker_entry,
            worker_stack.0 as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&args as *const WorkerArgs<'_>).cast_mut().cast(),
        )
    };
    if pid < 0 {
        fail(&fds, Stage::ForkWorker, errno());
    }
    sys::close(fds.stdin_r);
    sys::close(fds.stdout_w);
    sys::close(fds.stderr_w);
    // The init keeps nothing it does not need either.
    privileges::init_gives_up();
    reap_and_forward(pid, fds.status_w)
}

/// Whether every writer of the pipe `fd` reads from has closed it.
fn hung_up(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one initialised pollfd, passed with its count; no waiting.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & libc::POLLHUP != 0
}

/// Signals the init passes on to the command (a terminal's, a supervisor's).
const FORWARDED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Reaps every process that exits (orphans included) and forwards
/// [`FORWARDED`] signals to the worker, until the worker itself exits: its
/// status is reported and leaving kills every process still in the
/// namespace. Signals are taken synchronously, never by a handler: a
/// handler would need state that is not on this stack.
fn reap_and_forward(worker: libc::pid_t, status_w: i32) -> ! {
    let all = full_sigset();
    loop {
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid writes one int into `status`.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if r == worker {
                record(status_w, REC_EXITED, status, 0);
                // SAFETY: _exit never returns.
                unsafe { libc::_exit(0) }
            }
            if r == 0 {
                break;
            }
            if r < 0 && errno() != libc::EINTR {
                // No children left without having seen the worker's exit.
                // SAFETY: _exit never returns.
                unsafe { libc::_exit(0) }
            }
        }
        // SAFETY: siginfo_t is plain data, zeroed is valid; the set is
        // initialised and both are passed by pointer for the call.
        let sig = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigwaitinfo(&all, &mut info)
        };
        if FORWARDED.contains(&sig) {
            sys::kill(worker, sig);
        }
    }
}

fn full_sigset() -> libc::sigset_t {
    // SAFETY: sigfillset initialises the zeroed set it is given.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        set
    }
}

/// Every disposition back to the default (SIGKILL and SIGSTOP have no
/// other). Ignored signals would also survive into the command's exec.
pub(super) fn default_dispositions() {
    // Linux has 64 signals; glibc refuses the two it keeps for itself.
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: resetting a disposition to SIG_DFL.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
}

fn loopback_up() -> Result<(), i32> {
    // SAFETY: socket() returns a new fd or -1.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(errno());
    }
    // SAFETY: ifreq is plain old data; zeroed is a valid value. The name is
    // copied within its fixed-size array, and both ioctls read/write only it.
    let r = unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *s as libc::c_char;
        }
        if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
            Err(errno())
        } else {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            rc(libc::ioctl(sock, libc::SIOCSIFFLAGS, &req))
        }
    };
    sys::close(sock);
    r
}
