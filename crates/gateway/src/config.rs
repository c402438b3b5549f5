//! `[gateway]` configuration: flat fields so TOML and `OCTOLLM_GATEWAY_<FIELD>` map 1:1.

use serde::{Deserialize, Serialize};

/// How the gateway screens and budgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// The reflex layer to screen with when it does not run in this process.
    pub reflex_url: String,
    /// API key presented to that reflex layer, when it requires one.
    pub reflex_api_key: String,
    /// What the model wrote that is redacted before the client sees it:
    /// `all` (personal data and secrets), `secrets` or `off`. Values the
    /// client itself sent are always given back.
    pub response_redaction: String,
    /// Virtual keys, each `NAME:KEY[:REQUESTS_PER_MINUTE[:TOKENS_PER_DAY[:USD_PER_DAY]]]`;
    /// a limit left out or empty takes the default below, 0 means none.
    /// With keys set, every request needs one of them.
    pub keys: Vec<String>,
    /// Requests per minute per key, unless the key says otherwise; 0: no limit.
    pub requests_per_minute: u32,
    /// Tokens (prompt and completion) per UTC day per key; 0: no limit.
    pub tokens_per_day: u64,
    /// Dollars per UTC day per key; 0: no limit.
    pub usd_per_day: f64,
    /// Model names `GET /v1/models` lists besides the configured ones.
    pub models: Vec<String>,
    /// JSON-lines audit log of every request (names and counts, never
    /// texts); "" = `<data_dir>/gateway-audit.jsonl`.
    pub audit_log_path: String,
    /// How many characters of a streamed answer are held back and screened
    /// before they are sent (at least 16): a value is redacted whole when
    /// it fits in this window. The client sees streamed text this much
    /// later.
    pub stream_window_chars: usize,
    /// Redis holding the keys' budgets, so that every replica counts
    /// against one; "" keeps them in this process. When it cannot be
    /// reached, requests with a key are refused (503).
    pub redis_url: String,
    /// Prefix of the gateway's Redis keys.
    pub redis_key_prefix: String,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            reflex_url: "http://127.0.0.1:8001".into(),
            reflex_api_key: String::new(),
            response_redaction: "all".into(),
            keys: Vec::new(),
            requests_per_minute: 0,
            tokens_per_day: 0,
            usd_per_day: 0.0,
            models: Vec::new(),
            audit_log_path: String::new(),
            stream_window_chars: 128,
            redis_url: String::new(),
            redis_key_prefix: "octollm:gateway:".into(),
        }
    }
}

/// What of the model's own output is redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseRedaction {
    All,
    Secrets,
    Off,
}

impl ResponseRedaction {
    pub fn parse(s: &str) -> Result<Self, crate::GatewayError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" | "" => Ok(ResponseRedaction::All),
            "secrets" => Ok(ResponseRedaction::Secrets),
            "off" | "none" => Ok(ResponseRedaction::Off),
            other => Err(crate::GatewayError::Config(format!(
                "response_redaction must be all, secrets or off, not '{other}'"
            ))),
        }
    }
}
