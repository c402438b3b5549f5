//! The code that runs after `clone()`: the sandbox's PID 1 and the worker it
//! forks to exec the command.
//!
//! Rules for everything in this file: no allocation, no panics, no locks —
//! this is a copy of one thread of a multi-threaded program. Every string and
//! buffer comes prepared from [`crate::plan`]. Failures are reported to the
//! parent as a fixed-size record on the status pipe, then the process exits.
//!
//! Order matters and is the order of privileges given up:
//! 1. init: become root *of the new user namespace* (uid maps written by the
//!    parent), clear supplementary groups, new cgroup namespace, loopback up;
//! 2. init: build the tmpfs root, `pivot_root` into it, detach the old root,
//!    remount `/` read-only;
//! 3. worker: rlimits, drop every capability (bounding set too) and lock the
//!    securebits, `no_new_privs`, Landlock (needs the final paths), seccomp
//!    last (so none of our own set-up calls has to pass it), then `execve`.

use std::ffi::CStr;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::plan::{RootPlan, RunPlan};
use crate::sys::{self, errno, mount, write_all};

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

/// Set-up stages, reported when one fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Stage {
    CloseFds = 1,
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

impl Stage {
    pub fn from_i32(v: i32) -> Option<Stage> {
        use Stage::*;
        const ALL: [Stage; 28] = [
            CloseFds,
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
        ];
        ALL.into_iter().find(|s| *s as i32 == v)
    }
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

    // Become root of the new namespace (the maps point it at the slot's
    // unprivileged host uid). Doing this before mounting avoids EOVERFLOW.
    // Raw syscalls, not libc's wrappers: glibc applies set*id to every
    // thread of the process by signalling them and waiting on a futex, and
    // the threads it knows about are the server's, which do not exist here —
    // the wrapper would wait forever.
    // SAFETY: plain id-setting syscalls; setgroups with an empty list reads
    // no memory. Clearing groups drops the server's supplementary groups.
    check(
        &fds,
        Stage::Ids,
        rc(unsafe { libc::syscall(libc::SYS_setresgid, 0, 0, 0) as libc::c_int }),
    );
    check(
        &fds,
        Stage::Ids,
        rc(unsafe {
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) as libc::c_int
        }),
    );
    check(
        &fds,
        Stage::Ids,
        rc(unsafe { libc::syscall(libc::SYS_setresuid, 0, 0, 0) as libc::c_int }),
    );
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
    let _ = drop_caps();
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };

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

fn unblock_signals() {
    // SAFETY: an empty, initialised sigset is passed by pointer for the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
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

/// statvfs flags of `path` as mount flags. A bind mount made inside a user
/// namespace inherits "locked" flags from its source (nosuid, nodev, noexec,
/// atime mode); a remount that does not repeat them fails with EPERM.
fn locked_flags(path: &CStr) -> libc::c_ulong {
    // SAFETY: statvfs fills a zeroed, properly sized struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated; `st` is valid for writes.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } < 0 {
        return 0;
    }
    let f = st.f_flag;
    let mut out = 0;
    for (st_bit, ms_bit) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_bit != 0 {
            out |= ms_bit;
        }
    }
    out
}

fn mkdir(path: &CStr) -> Result<(), i32> {
    // SAFETY: NUL-terminated path.
    let r = unsafe { libc::mkdir(path.as_ptr(), 0o755) };
    if r < 0 && errno() != libc::EEXIST {
        return Err(errno());
    }
    Ok(())
}

fn write_file(path: &CStr, body: &[u8]) -> Result<(), i32> {
    // SAFETY: NUL-terminated path; the returned fd is closed below.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return Err(errno());
    }
    let r = write_all(fd, body);
    sys::close(fd);
    r
}

fn build_root(root: &RootPlan, fds: &ChildFds) {
    // Nothing we mount may propagate back to the host.
    check(
        fds,
        Stage::MakePrivate,
        mount(
            None,
            &root.in_root,
            None,
            libc::MS_REC | libc::MS_PRIVATE,
            None,
        ),
    );
    let tmpfs = c"tmpfs";
    check(
        fds,
        Stage::RootTmpfs,
        mount(
            Some(tmpfs),
            &root.root,
            Some(tmpfs),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&root.root_opts),
        ),
    );
    for d in &root.dirs {
        check(fds, Stage::Mkdir, mkdir(d));
    }
    for (path, body) in &root.files {
        check(fds, Stage::WriteFile, write_file(path, body));
    }
    for (target, link) in &root.symlinks {
        // SAFETY: both strings are NUL-terminated.
        check(
            fds,
            Stage::Symlink,
            rc(unsafe { libc::symlink(target.as_ptr(), link.as_ptr()) }),
        );
    }
    for b in &root.binds {
        if !b.is_dir {
            check(fds, Stage::Bind, write_file(&b.dst, b""));
        }
        check(
            fds,
            Stage::Bind,
            mount(
                Some(&b.src),
                &b.dst,
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            ),
        );
        let mut flags = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_NOSUID | locked_flags(&b.src);
        if b.read_only {
            flags |= libc::MS_RDONLY | libc::MS_NODEV;
        } else {
            flags |= libc::MS_NOEXEC;
        }
        check(fds, Stage::Remount, mount(None, &b.dst, None, flags, None));
    }
    let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    check(
        fds,
        Stage::Proc,
        mount(
            Some(c"proc"),
            &root.proc_dir,
            Some(c"proc"),
            proc_flags,
            None,
        ),
    );
    check(
        fds,
        Stage::Tmp,
        mount(
            Some(tmpfs),
            &root.tmp_dir,
            Some(tmpfs),
            proc_flags,
            Some(&root.tmp_opts),
        ),
    );
    check(
        fds,
        Stage::Workspace,
        mount(
            Some(tmpfs),
            &root.ws_dir,
            Some(tmpfs),
            proc_flags,
            Some(&root.ws_opts),
        ),
    );

    // pivot_root(".", ".") stacks the old root on top of the new one; the
    // detach then removes every host mount from this namespace's view.
    // SAFETY: NUL-terminated paths only.
    check(
        fds,
        Stage::PivotRoot,
        rc(unsafe { libc::chdir(root.root.as_ptr()) }),
    );
    // SAFETY: NUL-terminated paths only.
    check(
        fds,
        Stage::PivotRoot,
        rc(unsafe {
            libc::syscall(libc::SYS_pivot_root, root.dot.as_ptr(), root.dot.as_ptr()) as libc::c_int
        }),
    );
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::DetachOldRoot,
        rc(unsafe { libc::umount2(root.dot.as_ptr(), libc::MNT_DETACH) }),
    );
    // SAFETY: NUL-terminated path.
    check(
        fds,
        Stage::DetachOldRoot,
        rc(unsafe { libc::chdir(root.in_root.as_ptr()) }),
    );
    check(
        fds,
        Stage::ReadonlyRoot,
        mount(
            None,
            &root.in_root,
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            None,
        ),
    );
}

/// Empties the bounding, ambient, effective, permitted and inheritable sets.
fn drop_caps() -> Result<(), i32> {
    for cap in 0..64 {
        // SAFETY: integer arguments only; EINVAL past the last cap is ignored.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) };
    }
    // SAFETY: integer arguments only.
    rc(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    })?;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: version 3 takes a header and an array of two data structs,
    // both valid for the duration of the call.
    rc(unsafe {
        libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) as libc::c_int
    })
}

fn worker_main(root: &RootPlan, run: &RunPlan, fds: &ChildFds) -> ! {
    // Fresh process state: default dispositions (the server ignores SIGPIPE,
    // and ignored signals survive exec), nothing blocked, own session.
    for sig in 1..32 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: resetting a disposition to SIG_DFL.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
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
    // Lock "root has no special powers": after this, exec as uid 0 of the
    // namespace never grants capabilities again, and nothing can undo it.
    let bits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE
        | libc::SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    // SAFETY: integer arguments only.
    check(
        fds,
        Stage::Securebits,
        rc(unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) }),
    );
    check(fds, Stage::DropCaps, drop_caps());
    // SAFETY: integer arguments only.
    check(
        fds,
        Stage::NoNewPrivs,
        rc(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }),
    );
    if let Some(policy) = &root.landlock {
        let rules: [(&CStr, u64); 4] = [
            (&root.in_root, policy.read_only),
            (&root.in_workspace, policy.read_write),
            (&root.in_tmp, policy.read_write),
            (&root.in_dev, policy.dev),
        ];
        check(fds, Stage::Landlock, crate::landlock::apply(policy, &rules));
    }
    if let Some(prog) = &root.seccomp {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `fprog` points at the prepared program, alive for the call;
        // the kernel copies it. no_new_privs is set, as the call requires.
        check(
            fds,
            Stage::Seccomp,
            rc(unsafe {
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const libc::sock_fprog,
                )
            }),
        );
    }
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
