//! The LLM provider layer every OctoLLM component uses.
//!
//! One interface ([`LlmClient::chat`]): chat messages in, text (or JSON) plus
//! token usage and dollar cost out. Behind it sit an OpenAI-compatible
//! backend and an Anthropic Messages backend, tried as a fallback chain,
//! each call bounded by a timeout, retried with exponential backoff and
//! jitter on 429/5xx/connection errors (honouring `Retry-After`), and guarded
//! by a circuit breaker per provider. Cost comes from a configurable price
//! table; calls, errors, latency, tokens and dollars are exported as metrics.

pub mod anthropic;
mod client;
mod config;
mod error;
pub mod json_text;
mod message;
mod metrics;
pub mod openai;
mod pricing;
mod provider;
mod stream;
mod wire;

pub use client::{ChatStream, ClientOptions, LlmClient, ProviderStatus};
pub use config::LlmConfig;
pub use error::LlmError;
pub use message::{
    ChatMessage, ChatRequest, ChatResponse, Completion, ResponseFormat, Role, ToolSpec, ToolUse,
};
pub use metrics::LlmMetrics;
pub use octollm_server::resilience::{BreakerState, CircuitBreaker, RetryPolicy};
pub use pricing::{Price, PriceTable};
pub use provider::Provider;
pub use stream::{DeltaStream, SseEvent, StreamState};
pub use wire::ProviderSettings;
