//! PID 1 of the sandbox's pid namespace.
//!
//! The init does the namespace-wide set-up that must happen before the
//! command exists (ids, hostname, cgroup namespace, loopback, the root),
//! then forks the worker and does nothing but forward signals to it and
//! reap. It is separate because it outlives the command: when the worker
//! exits the init reports its status, and leaving kills every orphan.

use std::sync::atomic::{AtomicI32, Ordering};

use super::root::build_root;
use super::worker::worker_main;
use super::{check, fail, privileges, rc, record, unblock_signals};
use super::{ChildFds, Options, Stage, REC_EXITED};
use crate::plan::{RootPlan, RunPlan};
use crate::sys::{self, errno};

/// Closes every fd except `keep` (at most 5 entries, sorted here in place).
fn close_all_but(mut keep: [i32; 5]) -> Result<(), i32> {
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

/// Stops the init from showing the server's identity: `/proc/1/cmdline`
/// reads this process's argument strings (a copy of the server's: its
/// path, flags and perhaps a config path), and `/proc/1/comm` the name of
/// the thread that cloned us. Both become [`RootPlan::init_name`]; the
/// environment strings are zeroed too (non-dumpable already keeps
/// `/proc/1/environ` closed).
fn hide_identity(root: &RootPlan) -> Result<(), i32> {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string (the kernel copies
    // at most 16 bytes of it).
    rc(unsafe { libc::prctl(libc::PR_SET_NAME, root.init_name.as_ptr(), 0, 0, 0) })?;
    for area in &root.arg_areas {
        // SAFETY: [start, end) is where the kernel says this process's
        // argument (or environment) strings are (`/proc/self/stat`, read by
        // the parent: clone without CLONE_VM keeps the addresses). It lies in
        // the initial stack mapping, which stays mapped read-write for the
        // life of the process, and it is our private copy-on-write copy, so
        // the server's memory is untouched. No Rust reference points into it
        // (std keeps only raw argv pointers and copies strings on access),
        // so writing through a raw pointer aliases nothing.
        unsafe { std::ptr::write_bytes(area.start as *mut u8, 0, area.end - area.start) };
    }
    let area = root.arg_areas[0];
    let name = root.init_name.as_bytes();
    // The last byte stays NUL: otherwise the kernel reads on into the
    // environment area, as it does for setproctitle(3).
    let n = name.len().min(area.end - area.start - 1);
    // SAFETY: `n` bytes fit in the area zeroed above (see there); `name` is
    // a live buffer of at least `n` bytes that does not overlap it.
    unsafe { std::ptr::copy_nonoverlapping(name.as_ptr(), area.start as *mut u8, n) };
    Ok(())
}

static WORKER: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let pid = WORKER.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe and takes plain integers.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Entry point of the cloned child (PID 1 of the new pid namespace).
pub fn init_main(root: &RootPlan, run: &RunPlan, fds: ChildFds, opts: Options) -> ! {
    // Our memory is a copy of the server's (secrets included): never let the
    // sandboxed process read it through /proc/1/{mem,environ}.
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        // If the thread that cloned us dies (the slot worker, or the
        // supervising thread), so does the sandbox.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    // Everything else inherited from the server goes: listening sockets,
    // other executions' pipes (holding those would delay their EOF), logs.
    check(
        &fds,
        Stage::CloseFds,
        close_all_but([
            fds.stdin_r,
            fds.stdout_w,
            fds.stderr_w,
            fds.status_w,
            fds.go_r,
        ]),
    );
    check(&fds, Stage::Identity, hide_identity(root));
    unblock_signals();

    // Wait until the parent has written our uid/gid maps (and, on the slow
    // fallback path, moved us into our cgroup). EOF
    // means the parent gave up: leave without doing anything.
    let mut go = [0u8; 1];
    // SAFETY: reading one byte into a one-byte stack buffer.
    let n = unsafe { libc::read(fds.go_r, go.as_mut_ptr().cast(), 1) };
    if n != 1 {
        fail(&fds, Stage::WaitGo, errno());
    }
    sys::close(fds.go_r);

    privileges::become_namespace_root(&fds);
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
    build_root(root, &fds);

    // PID 1 only reaps; the command runs as its child so that a dying
    // command leaves a parent that collects every orphan.
    // SAFETY: a raw clone with only SIGCHLD is a fork that skips libc's
    // atfork handlers (which would take malloc locks that may be copies of
    // locks held by the server's other threads).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        fail(&fds, Stage::ForkWorker, errno());
    }
    if pid == 0 {
        worker_main(root, run, &fds);
    }
    let pid = pid as libc::pid_t;
    WORKER.store(pid, Ordering::Relaxed);
    sys::close(fds.stdin_r);
    sys::close(fds.stdout_w);
    sys::close(fds.stderr_w);
    install_forwarding();
    // The init keeps nothing it does not need either.
    privileges::init_gives_up();

    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes one int into `status`.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == pid {
            record(fds.status_w, REC_EXITED, status, 0);
            // Leaving kills every process still in the namespace.
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(0) }
        }
        if r < 0 && errno() != libc::EINTR {
            // SAFETY: _exit never returns.
            unsafe { libc::_exit(0) }
        }
    }
}

fn install_forwarding() {
    for sig in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        // SAFETY: a zeroed sigaction with a valid extern "C" handler; the
        // handler only calls kill(), which is async-signal-safe.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = forward_signal as *const () as usize;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
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
