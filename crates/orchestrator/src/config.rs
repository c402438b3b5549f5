//! `[orchestrator]` settings. Flat on purpose: the binary fills every field
//! from TOML and from `OCTOLLM_ORCHESTRATOR_<FIELD>` environment variables.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OrchestratorConfig {
    /// PostgreSQL URL (`postgres://…`); "" = the embedded SQLite store in
    /// `data_dir`. The binary fills it from `DATABASE_URL`.
    pub database_url: String,
    /// Directory of the embedded store (`orchestrator.db`), created on first start.
    pub data_dir: String,
    /// Largest connection pool to the store.
    pub database_max_connections: u32,
    /// Base URL of the reflex layer.
    pub reflex_url: String,
    /// Base URL of the planner arm.
    pub planner_url: String,
    /// Base URL of the executor arm.
    pub executor_url: String,
    /// Extra tool arms reached over HTTP, each `name=http://host:port`; a
    /// plan step names one in `required_arm`.
    pub tool_arms: Vec<String>,
    /// `octollm up` only: call the reflex, planner and executor of the same
    /// process directly instead of over HTTP on their ports.
    pub in_process_arms: bool,
    /// API key sent to the arms when they require one; "" sends none.
    pub arms_api_key: String,
    /// HMAC secret for the capability tokens handed to the executor; "" sends
    /// no token. (The binary fills it from `OCTOLLM_TOKEN_SECRET` too.)
    pub token_secret: String,
    /// Lifetime of a capability token beyond the step's own timeout, in seconds.
    pub token_ttl_seconds: u64,
    /// Tasks one orchestrator process runs at the same time.
    pub workers: u32,
    /// Tasks that may wait for a worker before new submissions are refused
    /// with 503 `QUEUE_FULL` (and a `Retry-After`); 0 = no bound.
    pub max_queued_tasks: u64,
    /// How long a claim is held without renewal before another worker may take the task over, in seconds.
    pub lease_seconds: u64,
    /// How often an idle worker looks for work, in milliseconds (new
    /// local submissions wake it at once).
    pub poll_interval_ms: u64,
    /// On shutdown, how long running tasks get to finish before their leases are released, in seconds.
    pub shutdown_grace_seconds: u64,
    /// Extra attempts of a call to an arm after a transient error (connection, 429, 5xx).
    pub max_retries: u32,
    /// First retry delay in milliseconds; doubles per attempt, with jitter.
    pub retry_backoff_ms: u64,
    /// Upper bound of one retry delay in milliseconds.
    pub retry_backoff_max_ms: u64,
    /// Consecutive failures that open an arm's circuit breaker; 0 disables breakers.
    pub breaker_failure_threshold: u32,
    /// Seconds an open breaker waits before letting one probe call through.
    pub breaker_cooldown_seconds: f64,
    /// Deadline of one HTTP call to the reflex layer or planner, in seconds.
    pub arm_timeout_seconds: f64,
    /// Timeout asked of the executor for one step when the task's deadline
    /// allows more, in seconds (the executor caps it at its own maximum).
    pub step_timeout_seconds: f64,
    /// Accept tasks unscreened when the reflex layer is down (default: 503).
    pub reflex_fail_open: bool,
    /// Answer a repeated goal from an earlier completed task's result.
    pub result_cache_enabled: bool,
    /// How old a cached result may be, in seconds.
    pub result_cache_ttl_seconds: u64,
    /// Longest goal accepted, in characters.
    pub max_goal_chars: u64,
    /// Most entries in `constraints` and in `acceptance_criteria`, each.
    pub max_list_items: u64,
    /// Largest `max_time_seconds` a task may ask for.
    pub max_task_seconds: u64,
    /// Longest output kept per step and in the result, in bytes.
    pub max_output_bytes: u64,
    /// Revised plans a task may ask the planner for when a step or an
    /// acceptance criterion fails (only planners with an LLM revise); 0
    /// turns replanning off.
    pub max_replans: u32,
    /// Longest part of each step's output shown to the planner when it
    /// revises a plan, in bytes.
    pub replan_output_bytes: u64,
    /// A step output that the reflex layer flags as a prompt injection is
    /// never shown to the planner as it is: `fail` ends the task with
    /// `INJECTION_IN_TOOL_OUTPUT`, `annotate` shows it marked as untrusted
    /// data.
    pub tool_output_injection: String,
    /// Steps that wait for a person's approval before they run: capabilities
    /// (`shell_read`, `shell_write`, `python_exec`, `http_get`),
    /// `command:NAME` or `host:NAME` entries. Empty: none wait.
    pub approval_required: Vec<String>,
    /// How long a step waits for a decision before the task fails with
    /// `APPROVAL_TIMEOUT`, in seconds.
    pub approval_timeout_seconds: u64,
    /// Days a finished task is kept; older ones are erased with everything
    /// derived from them, checked every hour. 0 keeps them for ever.
    pub retention_days: u64,
    /// Names of the API keys that may approve or reject steps; with API keys
    /// configured and this empty, nobody can decide over the API.
    pub approver_keys: Vec<String>,
    /// Largest input file a task may attach, in bytes (decoded).
    pub max_file_bytes: u64,
    /// Most bytes of input files one task may attach, together.
    pub max_files_bytes: u64,
    /// Most input files one task may attach.
    pub max_files: u64,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            database_url: String::new(),
            data_dir: "data".to_string(),
            database_max_connections: 16,
            reflex_url: "http://127.0.0.1:8001".to_string(),
            planner_url: "http://127.0.0.1:8002".to_string(),
            executor_url: "http://127.0.0.1:8003".to_string(),
            tool_arms: Vec::new(),
            in_process_arms: true,
            arms_api_key: String::new(),
            token_secret: String::new(),
            token_ttl_seconds: 60,
            workers: 16,
            max_queued_tasks: 1_000,
            lease_seconds: 30,
            poll_interval_ms: 250,
            shutdown_grace_seconds: 10,
            max_retries: 3,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 2_000,
            breaker_failure_threshold: 5,
            breaker_cooldown_seconds: 15.0,
            arm_timeout_seconds: 60.0,
            step_timeout_seconds: 30.0,
            reflex_fail_open: false,
            result_cache_enabled: false,
            result_cache_ttl_seconds: 300,
            max_goal_chars: 10_000,
            max_list_items: 32,
            max_task_seconds: 3_600,
            max_output_bytes: 1 << 20,
            max_replans: 2,
            replan_output_bytes: 4096,
            tool_output_injection: "fail".to_string(),
            approval_required: Vec::new(),
            approval_timeout_seconds: 3_600,
            retention_days: 0,
            approver_keys: Vec::new(),
            max_file_bytes: 1 << 20,
            max_files_bytes: 8 << 20,
            max_files: 32,
        }
    }
}

impl OrchestratorConfig {
    /// The token secret, when one is configured.
    pub fn token_secret(&self) -> Option<Vec<u8>> {
        octollm_types::token::secret(&self.token_secret)
    }

    /// The SQLite file used when no database URL is set.
    pub fn sqlite_path(&self) -> PathBuf {
        PathBuf::from(&self.data_dir).join("orchestrator.db")
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }

    /// Renewal well inside the lease so one slow round trip does not lose it.
    pub fn renew_every(&self) -> Duration {
        (self.lease() / 3).clamp(Duration::from_millis(200), Duration::from_secs(10))
    }

    /// Whether flagged tool output is shown marked instead of failing the
    /// task; `None` for a value that is neither.
    pub fn annotate_injections(&self) -> Option<bool> {
        match self.tool_output_injection.trim() {
            "fail" => Some(false),
            "annotate" => Some(true),
            _ => None,
        }
    }

    pub fn arm_timeout(&self) -> Duration {
        secs(self.arm_timeout_seconds, 60.0)
    }

    pub fn breaker_cooldown(&self) -> Duration {
        secs(self.breaker_cooldown_seconds, 15.0)
    }
}

fn secs(v: f64, fallback: f64) -> Duration {
    if v.is_finite() && v > 0.0 {
        Duration::from_secs_f64(v)
    } else {
        Duration::from_secs_f64(fallback)
    }
}
