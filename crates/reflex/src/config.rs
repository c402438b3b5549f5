//! Reflex layer settings.

use serde::{Deserialize, Serialize};

/// Every setting of the reflex layer. Loaded from the `[reflex]` table of
/// the config file and from `OCTOLLM_REFLEX_<FIELD>` environment variables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ReflexConfig {
    /// Lowest injection severity that blocks: low, medium, high or critical.
    pub block_severity: String,
    /// Key for the `hash` redaction strategy; set it so replicas agree. Empty: random per process.
    pub hash_key: String,
    /// Cache screening verdicts.
    pub cache_enabled: bool,
    /// Entries kept by the in-process cache.
    pub cache_capacity: usize,
    /// Lifetime of a cached verdict in Redis, in seconds.
    pub cache_ttl_seconds: u64,
    /// Redis URL for the shared cache and rate limiter. Empty: in-process only. `REDIS_URL` fills it.
    pub redis_url: String,
    /// Prefix of every Redis key this layer writes.
    pub redis_key_prefix: String,
    /// Longest wait for one Redis call before falling back to in-process state, in milliseconds.
    pub redis_timeout_ms: u64,
    /// Enforce per-client rate limits.
    pub rate_limit_enabled: bool,
    /// Tokens added to each client's bucket per second.
    pub rate_limit_per_second: f64,
    /// Bucket size: the burst a client may send at once.
    pub rate_limit_burst: f64,
    /// Most texts accepted by one batch call.
    pub max_batch: usize,
    /// How long a tokenized text's vault entry can be restored, in seconds.
    pub vault_ttl_seconds: u64,
    /// Key sealing the vault's entries; set it so replicas sharing Redis
    /// can restore each other's. Empty: random per process.
    pub vault_key: String,
    /// A TOML file of custom recognizers, allowed values and injection
    /// phrases (see `custom`); "" = none. Checked at start, reloaded on SIGHUP.
    pub rules_file: String,
}

impl Default for ReflexConfig {
    fn default() -> Self {
        ReflexConfig {
            block_severity: "high".into(),
            hash_key: String::new(),
            cache_enabled: true,
            cache_capacity: 10_000,
            cache_ttl_seconds: 300,
            redis_url: String::new(),
            redis_key_prefix: "octollm:reflex:".into(),
            redis_timeout_ms: 50,
            rate_limit_enabled: true,
            rate_limit_per_second: 1000.0,
            rate_limit_burst: 2000.0,
            max_batch: 100,
            vault_ttl_seconds: 3_600,
            vault_key: String::new(),
            rules_file: String::new(),
        }
    }
}
