//! What a sandbox enforces, and what one execution asks for.

use std::path::PathBuf;
use std::time::Duration;

/// Limits and layout shared by every execution of one [`crate::Sandbox`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// An empty host directory used only as the mount point of each
    /// execution's private tmpfs root. Every execution mounts over it in its
    /// own mount namespace, so concurrent executions never see each other and
    /// nothing is ever written to it on the host.
    pub root_dir: PathBuf,
    /// First host uid/gid handed to sandboxes; slot `n` runs as `uid_base + n`.
    /// Pick a range no real account uses, so a sandbox owns no host file.
    pub uid_base: u32,
    /// Number of concurrent executions, each with its own host uid, so two
    /// sandboxes can never signal each other or share an RLIMIT_NPROC budget.
    pub slots: u32,
    /// cgroup memory limit (RAM; swap too where the controller accounts it).
    pub memory_limit_bytes: u64,
    /// Tasks one execution may have (cgroup pids.max): the fork-bomb defence.
    pub pids_max: u64,
    /// CPUs one execution may use (cgroup CPU quota), e.g. `1.0` or `0.5`;
    /// `0.0` = no limit (and no `cgroup_cpu` layer).
    pub cpu_limit: f64,
    /// RLIMIT_AS.
    pub address_space_bytes: u64,
    /// RLIMIT_FSIZE.
    pub file_size_bytes: u64,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
    /// RLIMIT_NPROC. Counted per host uid, i.e. per slot.
    pub nproc: u64,
    /// RLIMIT_STACK (the main thread's stack; also bounds the exec'd
    /// program's argument and environment space to a quarter of it).
    pub stack_bytes: u64,
    /// RLIMIT_SIGPENDING: queued signals. Counted per host uid, i.e. per slot.
    pub pending_signals: u64,
    /// Size of the private `/tmp` tmpfs.
    pub tmp_size_bytes: u64,
    /// Size of the writable `/workspace` tmpfs (also the working directory).
    pub workspace_size_bytes: u64,
    /// Bytes of stdout kept; the rest is drained and dropped.
    pub stdout_cap: usize,
    /// Bytes of stderr kept; the rest is drained and dropped.
    pub stderr_cap: usize,
    /// Run even when an optional layer (seccomp, Landlock, cgroups) is not
    /// available on this host. Off by default: the sandbox fails closed.
    pub allow_degraded: bool,
    /// Let the sandbox create UDP sockets (AF_INET/AF_INET6 datagram). Off
    /// by default: the network namespace has only loopback, so nothing
    /// inside needs UDP, and on cgroup v1 UDP receive queues are charged to
    /// no memory cgroup (a sandbox could pin host memory with them).
    pub allow_udp: bool,
    /// `PATH` inside the sandbox, also used to resolve bare command names.
    pub path_env: String,
    /// `LANG` inside the sandbox.
    pub lang: String,
    /// Name of the cgroup (under this process's own cgroup) that holds the
    /// slot cgroups (v1) or per-execution cgroups (v2).
    pub cgroup_parent: String,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            root_dir: PathBuf::from("/run/octollm/sandbox-root"),
            uid_base: 2_000_000,
            slots: 16,
            memory_limit_bytes: 256 << 20,
            pids_max: 64,
            cpu_limit: 1.0,
            address_space_bytes: 2 << 30,
            file_size_bytes: 16 << 20,
            open_files: 256,
            nproc: 64,
            stack_bytes: 8 << 20,
            pending_signals: 1024,
            tmp_size_bytes: 64 << 20,
            workspace_size_bytes: 64 << 20,
            stdout_cap: 1 << 20,
            stderr_cap: 1 << 20,
            allow_degraded: false,
            allow_udp: false,
            path_env: "/usr/local/bin:/usr/bin:/bin".to_string(),
            lang: "C.UTF-8".to_string(),
            cgroup_parent: "octollm-sandbox".to_string(),
        }
    }
}

/// One execution.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// A bare name (resolved against the sandbox `PATH`) or an absolute path.
    pub program: String,
    pub args: Vec<String>,
    /// Bytes fed to the program's stdin, which is then closed.
    pub stdin: Vec<u8>,
    /// Wall-clock limit; the whole process tree is killed when it passes.
    pub timeout: Duration,
    /// A task's workspace bound at `/workspace` instead of a fresh tmpfs,
    /// its inputs read-only at `/workspace/in` (see [`crate::workspace`]).
    pub workspace: Option<crate::WorkspaceMount>,
}
