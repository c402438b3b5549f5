//! What can go wrong, typed; the HTTP adapters render each in the
//! provider's own error shape.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("invalid gateway configuration: {0}")]
    Config(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("prompt injection detected in message {message} ({severity}: {rule}); the request was not forwarded")]
    Injection {
        message: usize,
        severity: String,
        rule: String,
    },
    #[error("{limit} limit of key '{key}' reached")]
    RateLimited {
        key: String,
        limit: &'static str,
        retry_after: Duration,
    },
    #[error("screening failed: {0}")]
    Screening(String),
    #[error("the reflex layer is at its rate limit; retry later")]
    ScreeningBusy { retry_after: u64 },
    #[error("the keys' budgets cannot be checked: {0}")]
    BudgetUnavailable(String),
    #[error("the model provider failed: {0}")]
    Upstream(String),
    #[error("no model provider is configured (set OCTOLLM_LLM_PROVIDER)")]
    NotConfigured,
}

impl GatewayError {
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::BadRequest(_) | GatewayError::Injection { .. } => 400,
            GatewayError::Unauthorized => 401,
            GatewayError::RateLimited { .. } | GatewayError::ScreeningBusy { .. } => 429,
            GatewayError::Config(_)
            | GatewayError::Screening(_)
            | GatewayError::BudgetUnavailable(_)
            | GatewayError::NotConfigured => 503,
            GatewayError::Upstream(_) => 502,
        }
    }

    /// A short machine-readable code for error bodies and the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Config(_) => "gateway_misconfigured",
            GatewayError::BadRequest(_) => "invalid_request",
            GatewayError::Unauthorized => "invalid_api_key",
            GatewayError::Injection { .. } => "prompt_injection_detected",
            GatewayError::RateLimited { .. } => "rate_limit_exceeded",
            GatewayError::Screening(_) => "screening_unavailable",
            GatewayError::ScreeningBusy { .. } => "screening_rate_limited",
            GatewayError::BudgetUnavailable(_) => "budget_unavailable",
            GatewayError::Upstream(_) => "upstream_error",
            GatewayError::NotConfigured => "no_provider",
        }
    }

    /// Whole seconds for `Retry-After`, when the client should come back.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            GatewayError::RateLimited { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            GatewayError::Screening(_) | GatewayError::BudgetUnavailable(_) => Some(1),
            GatewayError::ScreeningBusy { retry_after } => Some((*retry_after).max(1)),
            _ => None,
        }
    }
}
