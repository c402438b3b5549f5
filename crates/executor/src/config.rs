//! `[executor]` settings. Flat on purpose: the binary fills every field from
//! TOML and from `OCTOLLM_EXECUTOR_<FIELD>` environment variables.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The default allowlist (SPEC §5), as the policy crate defines it.
pub use octollm_policy::DEFAULT_COMMANDS;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExecutorConfig {
    /// Commands that may be run (bare names, exec'd directly, never through a shell).
    pub allowed_commands: Vec<String>,
    /// HMAC secret for capability tokens; "" = tokens are not required. (The
    /// binary fills it from `OCTOLLM_TOKEN_SECRET` when it is not set.)
    pub token_secret: String,
    /// Directory for the executor's state (the audit log by default).
    pub data_dir: String,
    /// JSON-lines audit log; "" = `<data_dir>/executor-audit.jsonl`.
    pub audit_log_path: String,
    /// Timeout when a request gives none, in seconds.
    pub default_timeout_seconds: f64,
    /// Largest timeout a request may ask for, in seconds.
    pub max_timeout_seconds: f64,
    /// Cap on captured stdout and on stderr, each, in bytes.
    pub max_output_bytes: u64,
    /// Concurrent sandboxed executions (each gets its own host uid).
    pub max_concurrency: u64,
    /// Memory limit of one execution (its cgroup), in bytes.
    pub memory_limit_bytes: u64,
    /// Tasks one execution may have (cgroup pids.max; the fork-bomb defence).
    pub pids_max: u64,
    /// CPUs one execution may use (its cgroup's CPU quota), e.g. 1.0 or 0.5;
    /// 0 = no limit.
    pub cpu_limit: f64,
    /// RLIMIT_FSIZE, in bytes.
    pub file_size_limit_bytes: u64,
    /// RLIMIT_NOFILE.
    pub open_files_limit: u64,
    /// RLIMIT_AS, in bytes.
    pub address_space_limit_bytes: u64,
    /// Size of the sandbox's private /tmp, in bytes.
    pub tmp_size_bytes: u64,
    /// Size of the sandbox's writable /workspace, in bytes: also the quota
    /// of a task's workspace, which its steps share.
    pub workspace_size_bytes: u64,
    /// Largest file of a task's `/workspace/out/` handed back as an
    /// artifact, in bytes; a larger one is listed as skipped.
    pub artifact_max_file_bytes: u64,
    /// Most bytes of artifacts handed back for one task.
    pub artifact_max_total_bytes: u64,
    /// A task workspace unused this long is removed (the orchestrator
    /// removes each when its task ends; this catches the ones it could not).
    /// Longer than any task may wait for an approval.
    pub workspace_idle_seconds: u64,
    /// Empty host directory used as the sandbox roots' mount point.
    pub sandbox_root_dir: String,
    /// Name of the cgroup, under the executor's own, that holds the sandbox's slot (v1) or per-execution (v2) cgroups.
    pub sandbox_cgroup_parent: String,
    /// First host uid of the per-slot sandbox uids (uid_base .. uid_base + max_concurrency).
    pub sandbox_uid_base: u64,
    /// Run even when an optional sandbox layer is unavailable (provenance
    /// then lists what is missing). Off: the executor fails closed.
    pub allow_degraded: bool,
    /// Let sandboxed commands create UDP sockets. Off: only AF_UNIX and
    /// TCP sockets (the sandbox's network has nothing but loopback, and
    /// cgroup v1 charges UDP buffers to no memory limit).
    pub allow_udp: bool,
    /// Most arguments one command may have.
    pub max_args: u64,
    /// Most bytes of all arguments together.
    pub max_arg_bytes: u64,
    /// Most bytes of stdin one request may send.
    pub max_stdin_bytes: u64,
    /// Hosts the `http` action may reach ("example.com" or "*.example.com").
    pub http_allowed_hosts: Vec<String>,
    /// Allowed hosts that may resolve to loopback/private/link-local
    /// addresses; every other host is refused there (SSRF guard).
    pub http_private_hosts: Vec<String>,
    /// Allow plain `http://` URLs (HTTPS only when false).
    pub allow_http: bool,
    /// Response body cap for the `http` action, in bytes.
    pub http_max_response_bytes: u64,
    /// Whole-request timeout of the `http` action, in seconds.
    pub http_timeout_seconds: f64,
    /// Redirects followed (each re-checked against the policy).
    pub http_max_redirects: u64,
    /// Extra PEM root certificate(s) to trust for the `http` action; "" = none.
    pub http_extra_root_ca_pem: String,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            allowed_commands: DEFAULT_COMMANDS.iter().map(|s| s.to_string()).collect(),
            token_secret: String::new(),
            data_dir: "data".to_string(),
            audit_log_path: String::new(),
            default_timeout_seconds: 10.0,
            max_timeout_seconds: 60.0,
            max_output_bytes: 1 << 20,
            max_concurrency: 16,
            memory_limit_bytes: 256 << 20,
            pids_max: 64,
            cpu_limit: 1.0,
            file_size_limit_bytes: 16 << 20,
            open_files_limit: 256,
            address_space_limit_bytes: 2 << 30,
            tmp_size_bytes: 64 << 20,
            workspace_size_bytes: 64 << 20,
            artifact_max_file_bytes: 1 << 20,
            artifact_max_total_bytes: 8 << 20,
            workspace_idle_seconds: 86_400,
            sandbox_root_dir: "/run/octollm/sandbox-root".to_string(),
            sandbox_cgroup_parent: "octollm-sandbox".to_string(),
            sandbox_uid_base: 2_000_000,
            allow_degraded: false,
            allow_udp: false,
            max_args: 128,
            max_arg_bytes: 64 * 1024,
            max_stdin_bytes: 1 << 20,
            http_allowed_hosts: octollm_policy::DEFAULT_HOSTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            http_private_hosts: Vec::new(),
            allow_http: false,
            http_max_response_bytes: 1 << 20,
            http_timeout_seconds: 10.0,
            http_max_redirects: 5,
            http_extra_root_ca_pem: String::new(),
        }
    }
}

impl ExecutorConfig {
    /// The token secret, when one is configured.
    pub fn resolved_token_secret(&self) -> Option<Vec<u8>> {
        (!self.token_secret.is_empty()).then(|| self.token_secret.clone().into_bytes())
    }

    pub fn audit_path(&self) -> PathBuf {
        if self.audit_log_path.is_empty() {
            PathBuf::from(&self.data_dir).join("executor-audit.jsonl")
        } else {
            PathBuf::from(&self.audit_log_path)
        }
    }

    pub fn sandbox_config(&self) -> octollm_sandbox::SandboxConfig {
        let slots = self.max_concurrency.clamp(1, 1024) as u32;
        let defaults = octollm_sandbox::SandboxConfig::default();
        octollm_sandbox::SandboxConfig {
            root_dir: PathBuf::from(&self.sandbox_root_dir),
            uid_base: u32::try_from(self.sandbox_uid_base).unwrap_or(defaults.uid_base),
            slots,
            memory_limit_bytes: self.memory_limit_bytes,
            pids_max: self.pids_max,
            cpu_limit: self.cpu_limit,
            address_space_bytes: self.address_space_limit_bytes,
            file_size_bytes: self.file_size_limit_bytes,
            open_files: self.open_files_limit,
            nproc: self.pids_max,
            tmp_size_bytes: self.tmp_size_bytes,
            workspace_size_bytes: self.workspace_size_bytes,
            stdout_cap: self.max_output_bytes as usize,
            stderr_cap: self.max_output_bytes as usize,
            allow_degraded: self.allow_degraded,
            allow_udp: self.allow_udp,
            cgroup_parent: self.sandbox_cgroup_parent.clone(),
            ..defaults
        }
    }

    /// Clamps a requested timeout into (0, max]; `None` = the default.
    pub fn timeout_for(&self, requested: Option<f64>) -> Result<Duration, String> {
        let secs = requested.unwrap_or(self.default_timeout_seconds);
        if !secs.is_finite() || secs <= 0.0 {
            return Err("timeout_seconds must be a positive number".into());
        }
        if secs > self.max_timeout_seconds {
            return Err(format!(
                "timeout_seconds must be at most {}",
                self.max_timeout_seconds
            ));
        }
        Ok(Duration::from_secs_f64(secs))
    }
}
