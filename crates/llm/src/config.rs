//! `[llm]` configuration: flat fields so TOML and `OCTOLLM_LLM_<FIELD>` map 1:1.

use serde::{Deserialize, Serialize};

/// Which models to call and how hard to try. With `provider = ""` no model
/// is called and callers use their offline path (the built-in planner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmConfig {
    /// Primary provider: `""` (none), `"openai"` (any OpenAI-compatible
    /// server: OpenAI, Ollama, vLLM, llama.cpp, LM Studio) or `"anthropic"`.
    pub provider: String,
    /// Base URL of the primary provider; `""` means the vendor's public API
    /// (`https://api.openai.com/v1`, `https://api.anthropic.com`).
    pub base_url: String,
    /// Model of the primary provider; `""` means `gpt-4o-mini` or `claude-3-5-haiku-latest`.
    pub model: String,
    /// API key of the primary provider; `""` sends none (local servers).
    pub api_key: String,
    /// Fallback provider tried when the primary fails: `""`, `"openai"` or `"anthropic"`.
    pub fallback_provider: String,
    /// Base URL of the fallback provider; `""` means the vendor's public API.
    pub fallback_base_url: String,
    /// Model of the fallback provider; `""` means the vendor default.
    pub fallback_model: String,
    /// API key of the fallback provider.
    pub fallback_api_key: String,
    /// Deadline for one HTTP call to a provider, in seconds.
    pub timeout_seconds: f64,
    /// Extra attempts per provider after a 429, 5xx, timeout or connection error.
    pub max_retries: u32,
    /// First backoff delay in milliseconds; doubles per attempt, with jitter.
    pub backoff_initial_ms: u64,
    /// Upper bound of one backoff delay in milliseconds.
    pub backoff_max_ms: u64,
    /// Longest `Retry-After` honoured, in seconds; a longer one moves on to
    /// the next provider instead of waiting.
    pub retry_after_max_seconds: f64,
    /// Consecutive failures that open a provider's circuit breaker; 0 disables it.
    pub breaker_failure_threshold: u32,
    /// Seconds an open breaker waits before letting one probe call through.
    pub breaker_cooldown_seconds: f64,
    /// Largest completion requested, in tokens.
    pub max_tokens: u32,
    /// Sampling temperature; 0 keeps plans as repeatable as the model allows.
    pub temperature: f64,
    /// Value of the `anthropic-version` header.
    pub anthropic_version: String,
    /// Price overrides and additions, each `"model=INPUT:OUTPUT"` in dollars
    /// per 1k input and output tokens, e.g. `"llama3=0:0"`.
    pub prices: Vec<String>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: String::new(),
            base_url: String::new(),
            model: String::new(),
            api_key: String::new(),
            fallback_provider: String::new(),
            fallback_base_url: String::new(),
            fallback_model: String::new(),
            fallback_api_key: String::new(),
            timeout_seconds: 30.0,
            max_retries: 2,
            backoff_initial_ms: 250,
            backoff_max_ms: 8_000,
            retry_after_max_seconds: 30.0,
            breaker_failure_threshold: 5,
            breaker_cooldown_seconds: 30.0,
            max_tokens: 2_048,
            temperature: 0.0,
            anthropic_version: crate::anthropic::DEFAULT_VERSION.to_string(),
            prices: Vec::new(),
        }
    }
}

impl LlmConfig {
    /// True when at least one provider is configured.
    pub fn is_configured(&self) -> bool {
        !self.provider.trim().is_empty() || !self.fallback_provider.trim().is_empty()
    }
}
