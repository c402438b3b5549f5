//! Concurrency slots and where each sandbox init is cloned from.
//!
//! Every slot owns a worker thread and two stacks. The supervising thread
//! hands the worker a [`CloneJob`]; the worker clones the init into the
//! server's own memory on the first stack (see `vfork_init` for why not a
//! copy) and stays suspended until the init exits, while the supervising
//! thread gets the pid and supervises. The init forks the command's worker
//! the same way, onto the second stack.
//!
//! With cgroup v1 controllers the slot also owns a [`SlotCgroup`] that its
//! worker thread joined once, so the init is born inside the slot's groups
//! and never has to be migrated (see `cgroup.rs` for why a migration is too
//! slow). With a cgroup v2 execution group the init is instead forked
//! straight into it by `clone3(CLONE_INTO_CGROUP)`.

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use crate::cgroup::{CgroupParents, Limits, SlotCgroup};
use crate::child::{self, ChildFds, Options};
use crate::plan::{RootPlan, RunPlan};
use crate::sys::{self, errno};
use crate::SandboxError;

/// `clone3` has this number on every architecture (new system calls share
/// one table); the libc crate does not export it for every target.
const SYS_CLONE3: libc::c_long = 435;
/// Place the child in the cgroup v2 directory given by fd (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args`, the first version that has `cgroup` (size 88).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What the supervising thread asks of a slot: an init for this run.
#[derive(Clone, Copy)]
pub(crate) struct InitRequest<'a> {
    pub root: &'a RootPlan,
    pub run: &'a RunPlan,
    pub fds: ChildFds,
    pub opts: Options,
    /// A cgroup v2 directory to create the init in, if any.
    pub cgroup_fd: Option<i32>,
}

/// Everything the sandbox init needs: the request plus the slot's parts.
/// The init copies it onto its own stack before it reports itself started,
/// so the borrow only has to outlive [`Slot::clone_init`].
#[derive(Clone, Copy)]
pub(crate) struct CloneJob<'a> {
    pub req: InitRequest<'a>,
    /// Where the worker the init forks runs until its `execve`.
    pub worker_stack: StackTop,
    /// Set by the init once it holds its copy of the job (shared memory
    /// only on the slot worker's path, where the init shares ours).
    pub started: Option<&'a AtomicU32>,
}

/// The new init: its pid, and whether it was born in `cgroup_fd`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spawned {
    pub pid: libc::pid_t,
    pub in_cgroup: bool,
}

const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS;

/// The top of a stack the sandbox's own processes run on while they share
/// the server's memory. An address, not a pointer: nothing dereferences it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StackTop(pub usize);

/// Two stacks, one for the init and one for the worker it forks, each
/// above a guard page. Mapped once per slot and reused: only one execution
/// uses a slot at a time, and its processes are gone before the next.
struct Stacks {
    base: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving the
// owner to another thread moves nothing the kernel or another thread holds.
unsafe impl Send for Stacks {}

/// Generous for the init's set-up (the deepest frames hold a `stat` and a
/// `statvfs`), small against the server's address space.
const STACK_SIZE: usize = 256 * 1024;
const GUARD: usize = 4096;

impl Stacks {
    fn map() -> io::Result<Stacks> {
        let len = 2 * (GUARD + STACK_SIZE);
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; nothing else is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stacks = Stacks { base, len };
        for i in 0..2 {
            // SAFETY: the guard page lies inside the mapping just made.
            let r = unsafe {
                libc::mprotect(
                    base.cast::<u8>().add(i * (GUARD + STACK_SIZE)).cast(),
                    GUARD,
                    libc::PROT_NONE,
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(stacks)
    }

    /// Stack `i` (0: init, 1: worker), as the address just past its end.
    fn top(&self, i: usize) -> StackTop {
        StackTop(self.base as usize + (i + 1) * (GUARD + STACK_SIZE))
    }
}

impl Drop for Stacks {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping `map` made; no process uses
        // it any more (the slot's executions are over when it is dropped).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// Creates the init as a copy of the calling thread (`fork` semantics):
/// the only way to combine it with `CLONE_INTO_CGROUP`, which needs
/// `clone3` and which libc offers no wrapper for that runs a function on a
/// new stack. Used only with a cgroup v2 execution group. Returns errno.
fn fork_init(job: &CloneJob<'_>, fd: i32) -> Result<Spawned, i32> {
    let args = CloneArgs {
        flags: NAMESPACES as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: fd as u64,
        ..CloneArgs::default()
    };
    // SAFETY: without CLONE_VM and with a null stack, clone3 behaves like
    // fork(): the child gets a copy of this thread's memory and continues
    // here. It then only runs `child::init_main`, which never returns and
    // never allocates (see that module). `args` is a valid clone_args of the
    // size passed.
    let pid = unsafe {
        libc::syscall(
            SYS_CLONE3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        child::init_main(*job);
    }
    if pid < 0 {
        return Err(errno());
    }
    Ok(Spawned {
        pid: pid as libc::pid_t,
        in_cgroup: true,
    })
}

/// What a slot worker hands back: the init's pid (written by the kernel
/// before the init first runs) and the outcome of the clone.
#[derive(Default)]
struct Handoff {
    pid: AtomicI32,
    /// 0 while the clone is under way, [`STARTED`] once the init holds its
    /// copy of the job, [`FAILED`] when the clone itself failed.
    state: AtomicU32,
}

pub(crate) const STARTED: u32 = 1;
const FAILED: u32 = 2;

/// A [`CloneJob`] on its way to a worker thread.
struct JobPtr(*const CloneJob<'static>);

// SAFETY: the pointer is only dereferenced by the worker (and the init it
// clones) while the sending thread is blocked in `Worker::clone_init`
// waiting for `Handoff::state`, so the borrowed job outlives every use. The
// job itself holds shared references to data nobody mutates during that
// time, and plain integers.
unsafe impl Send for JobPtr {}

struct Worker {
    tid: i32,
    jobs: Option<mpsc::Sender<JobPtr>>,
    /// The clone's result, sent once the init has exited (the worker is
    /// suspended until then, see `vfork_init`).
    replies: mpsc::Receiver<Result<(), i32>>,
    /// An init is running (or its worker has not yet reported it gone).
    pending: bool,
    handoff: Arc<Handoff>,
    stacks: Stacks,
    handle: Option<JoinHandle<()>>,
}

/// Clones the init into the server's own memory (`CLONE_VM`), as
/// `posix_spawn` does, instead of copying the server: copying a large
/// multi-threaded process's page tables, write-protecting all of it and
/// flushing every CPU's TLB cost more than the execution itself. The init
/// runs on its own stack and the calling thread is suspended (`CLONE_VFORK`)
/// until the init exits, so the two never run on the same thread-local
/// state at once. Children created that way are also never picked by the
/// OOM killer (the kernel skips a task in vfork), which matters because
/// the init is charged with the server's whole memory. Returns errno.
fn vfork_init(job: &CloneJob<'_>, stack: StackTop, pid_out: &AtomicI32) -> Result<(), i32> {
    let flags =
        NAMESPACES | libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT_SETTID | libc::SIGCHLD;
    // SAFETY: the init runs `child::init_entry` on `stack`, a mapping of its
    // own (with a guard page) that nothing else uses while it runs; the
    // argument is `job`, alive until the init has copied it (see `JobPtr`).
    // The kernel writes the pid into `pid_out`, a live atomic, before the
    // init first runs. With CLONE_VFORK this call returns once the init has
    // exited.
    let r = unsafe {
        libc::clone(
            child::init_entry,
            stack.0 as *mut libc::c_void,
            flags,
            (job as *const CloneJob<'_>).cast_mut().cast(),
            pid_out.as_ptr(),
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

impl Worker {
    /// Starts the slot's worker (in `cgroup` when there is one) and waits
    /// until it is ready.
    fn start(index: usize, cgroup: Option<&SlotCgroup>) -> io::Result<Worker> {
        let (job_tx, job_rx) = mpsc::channel::<JobPtr>();
        let (reply_tx, reply_rx) = mpsc::channel::<Result<(), i32>>();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<i32>>();
        let paths = cgroup.map(SlotCgroup::join_handle);
        let stacks = Stacks::map()?;
        let init_stack = stacks.top(0);
        let handoff = Arc::new(Handoff::default());
        let shared = Arc::clone(&handoff);
        let handle = std::thread::Builder::new()
            .name(format!("sandbox-slot-{index}"))
            .spawn(move || {
                // This thread spends each execution suspended in a vfork;
                // a process signal routed to it would wait that long.
                block_all_signals();
                // SAFETY: gettid has no arguments and cannot fail.
                let tid = unsafe { libc::gettid() };
                let joined = match &paths {
                    Some(p) => p.join_current_thread().map(|()| tid),
                    None => Ok(tid),
                };
                let ok = joined.is_ok();
                let _ = ready_tx.send(joined);
                if !ok {
                    return;
                }
                while let Ok(JobPtr(job)) = job_rx.recv() {
                    // SAFETY: see `JobPtr`: the sender waits on the handoff,
                    // so the job is alive and unchanged until the init has
                    // copied it.
                    let result = vfork_init(unsafe { &*job }, init_stack, &shared.pid);
                    if result.is_err() {
                        shared.state.store(FAILED, Ordering::Release);
                        sys::futex_wake(&shared.state);
                    }
                    if reply_tx.send(result).is_err() {
                        return;
                    }
                }
            })?;
        let mut worker = Worker {
            tid: 0,
            jobs: Some(job_tx),
            replies: reply_rx,
            pending: false,
            handoff,
            stacks,
            handle: Some(handle),
        };
        match ready_rx.recv() {
            Ok(Ok(tid)) => {
                worker.tid = tid;
                Ok(worker)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("slot worker thread died")),
        }
    }

    fn clone_init(&mut self, req: InitRequest<'_>) -> Result<Spawned, i32> {
        self.finish_clone();
        let Some(jobs) = &self.jobs else {
            return Err(libc::ESRCH);
        };
        self.handoff.pid.store(0, Ordering::Relaxed);
        self.handoff.state.store(0, Ordering::Relaxed);
        let job = CloneJob {
            req,
            worker_stack: self.stacks.top(1),
            started: Some(&self.handoff.state),
        };
        let ptr = JobPtr((&job as *const CloneJob<'_>).cast());
        if jobs.send(ptr).is_err() {
            return Err(libc::ESRCH);
        }
        // Blocking here is what keeps `job` alive for the worker and the
        // init; either the init or the worker ends the wait.
        let state = loop {
            let s = self.handoff.state.load(Ordering::Acquire);
            if s != 0 {
                break s;
            }
            sys::futex_wait(&self.handoff.state, 0);
        };
        if state == STARTED {
            self.pending = true;
            return Ok(Spawned {
                pid: self.handoff.pid.load(Ordering::Acquire),
                in_cgroup: false,
            });
        }
        match self.replies.recv() {
            Ok(Err(e)) => Err(e),
            _ => Err(libc::ESRCH),
        }
    }

    /// Waits for the worker to come back from the last clone. Call only
    /// once that init has been reaped, or it would wait for its end.
    fn finish_clone(&mut self) {
        if std::mem::take(&mut self.pending) {
            let _ = self.replies.recv();
        }
    }
}

fn block_all_signals() {
    // SAFETY: an initialised full sigset passed by pointer for the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the job channel ends the worker's loop.
        self.jobs = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A slot taken out of use: why, and its groups (to be removed, or left
/// to the next process when shared, once nothing of ours is in them).
pub(crate) struct Retired {
    pub error: SandboxError,
    pub cgroup: Option<SlotCgroup>,
}

/// One concurrency slot. Used by one execution at a time (the one holding
/// the slot's uid), so its state needs no finer locking.
#[derive(Default)]
pub(crate) struct Slot {
    // Field order matters on drop: the worker thread must have left the
    // groups (exited) before they are removed.
    worker: Option<Worker>,
    cgroup: Option<SlotCgroup>,
}

impl Slot {
    /// Creates the slot's groups (with cgroup v1 controllers) and its worker
    /// on first use, or after the slot was retired, and resets per-run
    /// accounting.
    pub fn prepare(
        &mut self,
        index: usize,
        uid: u32,
        parents: &CgroupParents,
        limits: Limits,
    ) -> Result<(), SandboxError> {
        let setup = |stage: &str| {
            let stage = stage.to_string();
            move |source| SandboxError::Setup { stage, source }
        };
        if self.cgroup.is_none() {
            self.cgroup = SlotCgroup::create(parents, uid, limits).map_err(setup("slot cgroup"))?;
        }
        if self.worker.is_none() {
            self.worker =
                Some(Worker::start(index, self.cgroup.as_ref()).map_err(setup("slot worker"))?);
        }
        if let Some(cg) = &mut self.cgroup {
            cg.reset_accounting();
        }
        Ok(())
    }

    /// Creates the init: forked straight into the execution's cgroup v2
    /// group when there is one, otherwise cloned by the slot worker (born in
    /// the slot's v1 groups, if any).
    pub fn clone_init(&mut self, req: InitRequest<'_>) -> Result<Spawned, SandboxError> {
        let failed = |e| SandboxError::Setup {
            stage: "clone".into(),
            source: io::Error::from_raw_os_error(e),
        };
        let worker = self.worker.as_mut().ok_or_else(|| failed(libc::ESRCH))?;
        if let Some(fd) = req.cgroup_fd {
            let job = CloneJob {
                req,
                worker_stack: worker.stacks.top(1),
                started: None,
            };
            match fork_init(&job, fd) {
                Ok(spawned) => return Ok(spawned),
                // Kernels without clone3 or CLONE_INTO_CGROUP: clone as
                // usual; the caller then migrates the init the slow way.
                Err(libc::ENOSYS | libc::EINVAL | libc::E2BIG) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        worker.clone_init(req).map_err(failed)
    }

    /// The slot's v1 memory peak of this run, when there is a memory group.
    pub fn peak_memory(&self) -> Option<u64> {
        self.cgroup.as_ref().and_then(SlotCgroup::peak_memory)
    }

    /// The slot's v1 CPU time of this run, when there is a cpuacct group.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        self.cgroup.as_ref().and_then(SlotCgroup::cpu_time)
    }

    pub fn take_oom_killed(&mut self) -> bool {
        self.cgroup
            .as_mut()
            .is_some_and(SlotCgroup::take_oom_killed)
    }

    /// After a run: the slot's groups must hold nothing but the worker. When
    /// they cannot be emptied the slot is retired (worker stopped, groups
    /// handed back for removal) and the next run builds a fresh one.
    pub fn finish_run(&mut self) -> Result<(), Box<Retired>> {
        if let Some(w) = &mut self.worker {
            w.finish_clone();
        }
        let Some(cg) = &self.cgroup else {
            return Ok(());
        };
        let keep = self.worker.as_ref().map(|w| w.tid);
        match cg.evict_all_but(keep) {
            Ok(()) => Ok(()),
            Err(source) => {
                self.worker = None;
                Err(Box::new(Retired {
                    error: SandboxError::Setup {
                        stage: "slot cgroup check".into(),
                        source,
                    },
                    cgroup: self.cgroup.take(),
                }))
            }
        }
    }
}
