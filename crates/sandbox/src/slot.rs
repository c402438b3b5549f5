//! Concurrency slots and where each sandbox init is cloned from.
//!
//! With cgroup v1 controllers every slot owns a [`SlotCgroup`] and a worker
//! thread that joined it once; the supervising thread hands it a
//! [`CloneJob`] and gets the new init's pid back. The init therefore starts
//! inside the slot's groups and never has to be migrated (see `cgroup.rs` for
//! why a migration is too slow). Without v1 controllers the supervising
//! thread clones directly, into a per-execution v2 group when there is one.

use std::io;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::cgroup::{CgroupParents, SlotCgroup};
use crate::child::{self, ChildFds, Options};
use crate::plan::{RootPlan, RunPlan};
use crate::sys::errno;
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

/// Everything the sandbox init needs, borrowed from the supervising thread.
pub(crate) struct CloneJob<'a> {
    pub root: &'a RootPlan,
    pub run: &'a RunPlan,
    pub fds: ChildFds,
    pub opts: Options,
    /// A cgroup v2 directory to create the init in, if any.
    pub cgroup_fd: Option<i32>,
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

/// Clones the sandbox init from the calling thread; returns errno on failure.
/// The child inherits the calling thread's cgroups (v1 slot groups when this
/// is a slot worker) and, with `cgroup_fd`, starts in that v2 group.
fn clone_init(job: &CloneJob<'_>) -> Result<Spawned, i32> {
    if let Some(fd) = job.cgroup_fd {
        let args = CloneArgs {
            flags: NAMESPACES as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: fd as u64,
            ..CloneArgs::default()
        };
        // SAFETY: without CLONE_VM and with a null stack, clone3 behaves
        // like fork(): the child gets a copy of this thread's stack and
        // continues here. It then only runs `child::init_main`, which never
        // returns and never allocates (see that module). `args` is a valid
        // clone_args of the size passed.
        let pid = unsafe {
            libc::syscall(
                SYS_CLONE3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if pid == 0 {
            child::init_main(job.root, job.run, job.fds, job.opts);
        }
        if pid > 0 {
            return Ok(Spawned {
                pid: pid as libc::pid_t,
                in_cgroup: true,
            });
        }
        let e = errno();
        // Kernels without clone3 or CLONE_INTO_CGROUP: fall back to a plain
        // clone; the caller then migrates the init the slow way.
        if !matches!(e, libc::ENOSYS | libc::EINVAL | libc::E2BIG) {
            return Err(e);
        }
    }
    // SAFETY: a raw clone without CLONE_VM and with a null stack behaves like
    // fork(): the child gets a copy of this thread's stack and continues
    // here. It then only runs `child::init_main`, which never returns and
    // never allocates (see that module). libc's fork() is avoided because its
    // atfork handlers take locks other threads may hold.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (NAMESPACES | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid == 0 {
        child::init_main(job.root, job.run, job.fds, job.opts);
    }
    if pid < 0 {
        return Err(errno());
    }
    Ok(Spawned {
        pid: pid as libc::pid_t,
        in_cgroup: false,
    })
}

/// A [`CloneJob`] on its way to a worker thread.
struct JobPtr(*const CloneJob<'static>);

// SAFETY: the pointer is only dereferenced by the worker while the sending
// thread is blocked in `Worker::clone_init` waiting for the reply, so the
// borrowed job outlives every use. The job itself holds shared references to
// data nobody mutates during that time, and plain integers.
unsafe impl Send for JobPtr {}

struct Worker {
    tid: i32,
    jobs: Option<mpsc::Sender<JobPtr>>,
    replies: mpsc::Receiver<Result<Spawned, i32>>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the slot's worker and waits until it has joined `cgroup`.
    fn start(index: usize, cgroup: &SlotCgroup) -> io::Result<Worker> {
        let (job_tx, job_rx) = mpsc::channel::<JobPtr>();
        let (reply_tx, reply_rx) = mpsc::channel::<Result<Spawned, i32>>();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<i32>>();
        let paths = cgroup.join_handle();
        let handle = std::thread::Builder::new()
            .name(format!("sandbox-slot-{index}"))
            .spawn(move || {
                // SAFETY: gettid has no arguments and cannot fail.
                let tid = unsafe { libc::gettid() };
                let joined = paths.join_current_thread().map(|()| tid);
                let ok = joined.is_ok();
                let _ = ready_tx.send(joined);
                if !ok {
                    return;
                }
                while let Ok(JobPtr(job)) = job_rx.recv() {
                    // SAFETY: see `JobPtr`: the sender waits for our reply,
                    // so the job is alive and unchanged.
                    let result = clone_init(unsafe { &*job });
                    if reply_tx.send(result).is_err() {
                        return;
                    }
                }
            })?;
        let mut worker = Worker {
            tid: 0,
            jobs: Some(job_tx),
            replies: reply_rx,
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

    fn clone_init(&self, job: &CloneJob<'_>) -> Result<Spawned, i32> {
        let Some(jobs) = &self.jobs else {
            return Err(libc::ESRCH);
        };
        let ptr = JobPtr((job as *const CloneJob<'_>).cast());
        if jobs.send(ptr).is_err() {
            return Err(libc::ESRCH);
        }
        // Blocking here is what keeps `job` alive for the worker.
        self.replies.recv().unwrap_or(Err(libc::ESRCH))
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
    /// Creates the slot's groups and worker on first use (or after the slot
    /// was retired) and resets per-run accounting.
    pub fn prepare(
        &mut self,
        index: usize,
        parents: &CgroupParents,
        memory_limit: u64,
        pids_max: u64,
        cpu_quota_us: Option<u64>,
    ) -> Result<(), SandboxError> {
        let setup = |stage: &str| {
            let stage = stage.to_string();
            move |source| SandboxError::Setup { stage, source }
        };
        if self.cgroup.is_none() {
            self.cgroup = SlotCgroup::create(parents, memory_limit, pids_max, cpu_quota_us)
                .map_err(setup("slot cgroup"))?;
        }
        if let Some(cg) = &mut self.cgroup {
            if self.worker.is_none() {
                self.worker = Some(Worker::start(index, cg).map_err(setup("slot worker"))?);
            }
            cg.reset_accounting();
        }
        Ok(())
    }

    /// Clones the init: on the slot worker when the slot has v1 groups,
    /// otherwise on the calling thread.
    pub fn clone_init(&self, job: &CloneJob<'_>) -> Result<Spawned, SandboxError> {
        let r = match &self.worker {
            Some(w) => w.clone_init(job),
            None => clone_init(job),
        };
        r.map_err(|e| SandboxError::Setup {
            stage: "clone".into(),
            source: io::Error::from_raw_os_error(e),
        })
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
    pub fn finish_run(&mut self) -> Result<(), (SandboxError, Option<SlotCgroup>)> {
        let Some(cg) = &self.cgroup else {
            return Ok(());
        };
        let keep = self.worker.as_ref().map(|w| w.tid);
        match cg.evict_all_but(keep) {
            Ok(()) => Ok(()),
            Err(source) => {
                self.worker = None;
                Err((
                    SandboxError::Setup {
                        stage: "slot cgroup check".into(),
                        source,
                    },
                    self.cgroup.take(),
                ))
            }
        }
    }
}
