//! The one interface every backend implements.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::{ChatRequest, Completion, DeltaStream, LlmError};

/// One model endpoint. An implementation makes a single HTTP attempt;
/// retries, breakers, fallback and accounting live in [`crate::LlmClient`].
pub trait Provider: Send + Sync {
    /// Backend kind for metrics: `openai` or `anthropic`.
    fn kind(&self) -> &'static str;
    /// The model requested.
    fn model(&self) -> &str;
    /// One attempt, bounded by `timeout`.
    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Completion, LlmError>>;
    /// One attempt at a streamed answer: ready once the provider accepted
    /// the request (its headers came within `timeout`); every later chunk
    /// must come within `timeout` too.
    fn stream<'a>(
        &'a self,
        request: &'a ChatRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<DeltaStream, LlmError>>;
    /// The ids of the models the endpoint offers (one attempt, bounded by
    /// `timeout`): a cheap call that proves the address and the key.
    fn list_models(&self, timeout: Duration) -> BoxFuture<'_, Result<Vec<String>, LlmError>>;
}
