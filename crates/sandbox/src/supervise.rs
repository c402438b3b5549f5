//! The parent side of one execution: clone (into the cgroups), map ids, pump
//! stdio, enforce the wall clock, reap, clean up.

use std::io;
use std::time::{Duration, Instant};

use crate::child::{self, ChildFds, Options, Stage};
use crate::plan::RunPlan;
use crate::slot::{InitRequest, Slot};
use crate::sys::{self, close, kill};
use crate::{cgroup, ExecOutcome, ExecSpec, Layer, Sandbox, SandboxError, Stream};

/// Closes the wrapped fds on every exit path.
struct Fds(Vec<i32>);

impl Fds {
    fn take(&mut self, fd: i32) {
        self.0.retain(|f| *f != fd);
        close(fd);
    }
}

impl Drop for Fds {
    fn drop(&mut self) {
        for fd in self.0.drain(..) {
            close(fd);
        }
    }
}

/// Kills and reaps the init if we leave early; a no-op once reaped.
struct Child {
    pid: i32,
    reaped: bool,
}

impl Child {
    fn wait(&mut self) -> (i32, libc::rusage) {
        // SAFETY: rusage is plain data; zeroed is valid.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let mut status = 0;
        loop {
            // SAFETY: wait4 writes one int and one rusage we own.
            let r = unsafe { libc::wait4(self.pid, &mut status, 0, &mut ru) };
            if r >= 0 || sys::errno() != libc::EINTR {
                break;
            }
        }
        self.reaped = true;
        (status, ru)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            kill(self.pid, libc::SIGKILL);
            let _ = self.wait();
        }
    }
}

struct Capture {
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Capture {
    fn push(&mut self, chunk: &[u8], stream: Stream, sink: &mut dyn FnMut(Stream, &[u8])) {
        let room = self.cap.saturating_sub(self.buf.len());
        let kept = &chunk[..chunk.len().min(room)];
        if !kept.is_empty() {
            self.buf.extend_from_slice(kept);
            sink(stream, kept);
        }
        if kept.len() < chunk.len() {
            self.truncated = true;
        }
    }
}

/// Runs one execution in `slot`, which [`Slot::prepare`] has readied.
pub(crate) fn run(
    sb: &Sandbox,
    slot: &mut Slot,
    run: &RunPlan,
    spec: &ExecSpec,
    sink: &mut dyn FnMut(Stream, &[u8]),
) -> Result<ExecOutcome, SandboxError> {
    let started = Instant::now();
    let cfg = &sb.config;
    // v2 controllers only; v1 limits are on the slot's groups.
    let cg = cgroup::create_exec(&sb.cgroups, cgroup::Limits::of(cfg))?;
    let cg_dir = cg.as_ref().map(cgroup::ExecCgroup::open).transpose()?;

    let (stdin_r, stdin_w) = sys::pipe()?;
    let mut fds = Fds(vec![stdin_r, stdin_w]);
    let (stdout_r, stdout_w) = sys::pipe()?;
    fds.0.extend([stdout_r, stdout_w]);
    let (stderr_r, stderr_w) = sys::pipe()?;
    fds.0.extend([stderr_r, stderr_w]);
    let (status_r, status_w) = sys::pipe()?;
    fds.0.extend([status_r, status_w]);
    let (go_r, go_w) = sys::pipe()?;
    fds.0.extend([go_r, go_w]);
    let child_fds = ChildFds {
        stdin_r,
        stdout_w,
        stderr_w,
        status_w,
        go_r,
    };
    let opts = Options {
        cgroup_ns: sb.layers.contains(&Layer::CgroupNs),
    };

    let spawned = slot.clone_init(InitRequest {
        root: &sb.root,
        run,
        fds: child_fds,
        opts,
        cgroup_fd: cg_dir.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
    })?;
    drop(cg_dir);
    let pid = spawned.pid;
    let mut child = Child { pid, reaped: false };
    for fd in [stdin_r, stdout_w, stderr_w, status_w, go_r] {
        fds.take(fd);
    }

    // The child waits on `go` until these are in place.
    let setup = (|| -> io::Result<()> {
        let uid = run.host_uid;
        std::fs::write(format!("/proc/{pid}/uid_map"), format!("0 {uid} 1\n"))?;
        std::fs::write(format!("/proc/{pid}/gid_map"), format!("0 {uid} 1\n"))?;
        if let Some(cg) = &cg {
            if !spawned.in_cgroup {
                cg.add(child.pid)?;
            }
        }
        sys::write_all(go_w, b"g").map_err(io::Error::from_raw_os_error)
    })();
    // `go`'s write end stays open until the run is over (`fds` closes it):
    // the init takes a hang-up on it for this process's death.
    if let Err(e) = setup {
        return Err(SandboxError::Setup {
            stage: "id maps / cgroup placement".into(),
            source: e,
        });
    }

    let deadline = started + spec.timeout;
    let mut out = Capture {
        buf: Vec::new(),
        cap: cfg.stdout_cap,
        truncated: false,
    };
    let mut err = Capture {
        buf: Vec::new(),
        cap: cfg.stderr_cap,
        truncated: false,
    };
    let mut status_buf = Vec::new();
    let mut stdin_pos = 0usize;
    let mut open = [Some(stdout_r), Some(stderr_r), Some(status_r)];
    let mut stdin_fd = if spec.stdin.is_empty() {
        fds.take(stdin_w);
        None
    } else {
        sys::set_nonblocking(stdin_w);
        Some(stdin_w)
    };
    for fd in open.iter().flatten() {
        sys::set_nonblocking(*fd);
    }
    let mut timed_out = false;
    let mut hard_stop: Option<Instant> = None;
    let mut chunk = vec![0u8; 64 * 1024];

    while open.iter().any(Option::is_some) {
        let now = Instant::now();
        if !timed_out && now >= deadline {
            // The init is PID 1 of the namespace: killing it kills the tree.
            timed_out = true;
            kill(child.pid, libc::SIGKILL);
            hard_stop = Some(now + crate::timeout_grace());
            if let Some(fd) = stdin_fd.take() {
                fds.take(fd);
            }
        }
        if hard_stop.is_some_and(|h| now >= h) {
            break;
        }
        let wait_until = hard_stop.unwrap_or(deadline);
        let wait_ms = wait_until
            .saturating_duration_since(now)
            .as_millis()
            .min(i32::MAX as u128) as i32;
        let mut pfds: Vec<libc::pollfd> = open
            .iter()
            .flatten()
            .map(|&fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if let Some(fd) = stdin_fd {
            pfds.push(libc::pollfd {
                fd,
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        // SAFETY: `pfds` is a live array of the given length.
        let n = unsafe {
            libc::poll(
                pfds.as_mut_ptr(),
                pfds.len() as libc::nfds_t,
                wait_ms.max(1),
            )
        };
        if n < 0 {
            if sys::errno() == libc::EINTR {
                continue;
            }
            return Err(SandboxError::Io(io::Error::last_os_error()));
        }
        for p in &pfds {
            if p.revents == 0 {
                continue;
            }
            if Some(p.fd) == stdin_fd {
                let rest = spec.stdin.get(stdin_pos..).unwrap_or(&[]);
                // SAFETY: writing from a live slice of the given length.
                let w = unsafe { libc::write(p.fd, rest.as_ptr().cast(), rest.len()) };
                if w > 0 {
                    stdin_pos += w as usize;
                }
                if w < 0 && sys::errno() == libc::EAGAIN {
                    continue;
                }
                if w < 0 || stdin_pos >= spec.stdin.len() {
                    // Done, or the program closed its stdin (EPIPE).
                    stdin_fd = None;
                    fds.take(p.fd);
                }
                continue;
            }
            // SAFETY: reading into a live buffer of the given length.
            let r = unsafe { libc::read(p.fd, chunk.as_mut_ptr().cast(), chunk.len()) };
            if r < 0 && matches!(sys::errno(), libc::EAGAIN | libc::EINTR) {
                continue;
            }
            let data = if r > 0 { &chunk[..r as usize] } else { &[][..] };
            if r <= 0 {
                for slot in open.iter_mut() {
                    if *slot == Some(p.fd) {
                        *slot = None;
                    }
                }
                fds.take(p.fd);
            } else if p.fd == stdout_r {
                out.push(data, Stream::Stdout, sink);
            } else if p.fd == stderr_r {
                err.push(data, Stream::Stderr, sink);
            } else if status_buf.len() < 4096 {
                status_buf.extend_from_slice(data);
            }
        }
    }
    if !timed_out {
        // All pipes closed means the init exited; if it somehow lingers
        // (a late hard stop), make sure it is gone.
        if open.iter().any(Option::is_some) {
            kill(child.pid, libc::SIGKILL);
        }
    } else {
        kill(child.pid, libc::SIGKILL);
    }
    let (_init_status, ru) = child.wait();
    let duration = started.elapsed();

    let mut outcome = ExecOutcome {
        stdout_truncated: out.truncated,
        stderr_truncated: err.truncated,
        stdout: out.buf,
        stderr: err.buf,
        timed_out,
        duration,
        layers: sb.layers.clone(),
        missing: sb.missing.clone(),
        ..Default::default()
    };
    outcome.oom_killed = slot.take_oom_killed() || cg.as_ref().is_some_and(|c| c.oom_killed());
    // Usage of the whole group: the init's rusage only covers what it
    // reaped (not what the namespace teardown killed) and counts no shared
    // memory. The init is reaped, so everything in the group has exited and
    // been charged. rusage only where no group accounts.
    outcome.cpu_time = cg
        .as_ref()
        .and_then(cgroup::ExecCgroup::cpu_time)
        .or_else(|| slot.cpu_time())
        .unwrap_or_else(|| tv(ru.ru_utime) + tv(ru.ru_stime));
    outcome.peak_rss_bytes = cg
        .as_ref()
        .and_then(cgroup::ExecCgroup::peak_memory)
        .or_else(|| slot.peak_memory())
        .unwrap_or_else(|| (ru.ru_maxrss.max(0) as u64) * 1024);
    drop(cg);

    for rec in status_buf.chunks_exact(12) {
        let word = |i: usize| i32::from_ne_bytes([rec[i], rec[i + 1], rec[i + 2], rec[i + 3]]);
        match word(0) as u32 {
            child::REC_SETUP_FAILED if !timed_out => {
                let stage = Stage::from_i32(word(4))
                    .map(|s| format!("{s:?}"))
                    .unwrap_or_else(|| "unknown".into());
                return Err(SandboxError::Setup {
                    stage,
                    source: io::Error::from_raw_os_error(word(8)),
                });
            }
            child::REC_EXEC_FAILED if !timed_out => {
                return Err(SandboxError::Exec(io::Error::from_raw_os_error(word(4))));
            }
            child::REC_EXITED => {
                let st = word(4);
                if libc::WIFEXITED(st) {
                    outcome.exit_code = Some(libc::WEXITSTATUS(st));
                } else if libc::WIFSIGNALED(st) {
                    outcome.signal = Some(libc::WTERMSIG(st));
                }
            }
            _ => {}
        }
    }
    if outcome.exit_code.is_none() && outcome.signal.is_none() {
        // Killed before the init could report: by us (timeout) or by the
        // memory cgroup's OOM killer.
        outcome.signal = Some(libc::SIGKILL);
    }
    Ok(outcome)
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}
