//! `[planner]` configuration: flat fields so TOML and `OCTOLLM_PLANNER_<FIELD>` map 1:1.

use serde::{Deserialize, Serialize};

/// The executor's default allowlist (SPEC §5), from the shared contract.
pub use octollm_policy::DEFAULT_COMMANDS as DEFAULT_ALLOWED_COMMANDS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlannerConfig {
    /// Fewest steps a valid plan may have (the original design used 3).
    pub min_steps: u32,
    /// Most steps a valid plan may have.
    pub max_steps: u32,
    /// Extra LLM rounds that send validation errors back to the model.
    pub repair_rounds: u32,
    /// `auto` (LLM when configured, built-in as the last fallback),
    /// `builtin` (never call a model), `builtin_first` (built-in planner,
    /// LLM only for goals it cannot handle) or `llm` (no built-in fallback).
    pub mode: String,
    /// Registered arms, each `name` or `name=description`.
    pub arms: Vec<String>,
    /// Commands the executor allows; used when `executor_url` is empty or unreachable.
    pub allowed_commands: Vec<String>,
    /// Hosts the executor may fetch from; used when `executor_url` is empty
    /// or the executor does not report its own list. `*.example.com` covers subdomains.
    pub allowed_hosts: Vec<String>,
    /// Accept `http://` fetch steps (the executor is HTTPS-only by default).
    pub allow_plain_http: bool,
    /// Executor base URL; when set, its `GET /api/v1/capabilities` is the
    /// allowlist of record.
    pub executor_url: String,
    /// API key sent to the executor, when it requires one.
    pub executor_api_key: String,
    /// How long the executor's reported capabilities are reused, in seconds.
    pub capabilities_refresh_seconds: u64,
    /// Redis URL for a shared plan cache with a TTL; `""` keeps the cache in process.
    pub redis_url: String,
    /// Whether validated plans are cached at all.
    pub cache_enabled: bool,
    /// Plans kept by the in-process cache.
    pub cache_capacity: u64,
    /// Lifetime of a cached plan, in seconds.
    pub cache_ttl_seconds: u64,
    /// Prefix of plan-cache keys in Redis.
    pub cache_key_prefix: String,
    /// Longest wait for one plan-cache call to Redis (connecting included)
    /// before it counts as a miss, in milliseconds.
    pub redis_timeout_ms: u64,
    /// How the model is asked for its plan: `tool` (a forced call of the
    /// `submit_plan` tool with a strict schema; JSON mode where the
    /// provider refuses tools), `json_object`, `json_schema` or `text`.
    pub llm_response_format: String,
    /// Longest goal accepted, in characters.
    pub max_goal_chars: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            min_steps: 1,
            max_steps: 7,
            repair_rounds: 2,
            mode: "auto".to_string(),
            arms: vec![
                "executor=Runs allowlisted commands in a sandbox (no shell) and fetches URLs from allowed hosts".to_string(),
            ],
            allowed_commands: DEFAULT_ALLOWED_COMMANDS.iter().map(|s| s.to_string()).collect(),
            allowed_hosts: octollm_policy::DEFAULT_HOSTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            allow_plain_http: false,
            executor_url: String::new(),
            executor_api_key: String::new(),
            capabilities_refresh_seconds: 60,
            redis_url: String::new(),
            cache_enabled: true,
            cache_capacity: 1024,
            cache_ttl_seconds: 3600,
            cache_key_prefix: "octollm:plan:".to_string(),
            redis_timeout_ms: 250,
            llm_response_format: "tool".to_string(),
            max_goal_chars: 10_000,
        }
    }
}
