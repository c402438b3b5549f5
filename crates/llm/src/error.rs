//! Errors of the provider layer.

use std::time::Duration;

/// Why a model call failed. Every variant names the provider so a fallback
/// chain's combined error says who failed how.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("no LLM provider is configured")]
    NotConfigured,
    #[error("invalid LLM configuration: {0}")]
    Config(String),
    #[error("{provider}: no answer within {after_ms} ms")]
    Timeout { provider: String, after_ms: u64 },
    #[error("{provider}: connection failed: {message}")]
    Connect { provider: String, message: String },
    #[error("{provider}: rate limited (429): {message}")]
    RateLimited {
        provider: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{provider}: server error {status}: {message}")]
    Server {
        provider: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{provider}: authentication failed ({status}): {message}")]
    Auth {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("{provider}: request rejected ({status}): {message}")]
    Rejected {
        provider: String,
        status: u16,
        message: String,
    },
    #[error("{provider}: malformed response: {message}")]
    Malformed { provider: String, message: String },
    #[error("{provider}: circuit breaker is open")]
    CircuitOpen { provider: String },
    #[error("every LLM provider failed: {}", join(.0))]
    AllProvidersFailed(Vec<LlmError>),
}

fn join(errors: &[LlmError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl LlmError {
    /// Worth another attempt at the same provider.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout { .. }
                | LlmError::Connect { .. }
                | LlmError::RateLimited { .. }
                | LlmError::Server { .. }
        )
    }

    /// Says the provider is unhealthy (as opposed to our request being wrong).
    pub(crate) fn counts_against_breaker(&self) -> bool {
        self.is_retryable() || matches!(self, LlmError::Malformed { .. })
    }

    /// The provider rejected the request because it does not take tools:
    /// OpenAI-compatible servers answer 400, 404 or 422 saying tools (or
    /// `tool_choice`) are not supported, not enabled or not known. Other
    /// rejections that mention a tool (a schema the provider refused, a
    /// malformed tool turn) are our request's fault and stay errors.
    pub(crate) fn refuses_tools(&self) -> bool {
        match self {
            LlmError::Rejected {
                status: 400 | 404 | 422,
                message,
                ..
            } => {
                let m = message.to_ascii_lowercase();
                let about_tools = m.contains("tool");
                let unsupported = [
                    "not support",
                    "unsupported",
                    "does not support",
                    "not enabled",
                    "enable-auto-tool-choice",
                    "unrecognized",
                    "unknown field",
                    "extra inputs are not permitted",
                    "not allowed",
                ]
                .iter()
                .any(|p| m.contains(p));
                about_tools && unsupported
            }
            _ => false,
        }
    }

    /// What the provider asked us to wait, if anything.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after, .. } | LlmError::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::NotConfigured => "not_configured",
            LlmError::Config(_) => "config",
            LlmError::Timeout { .. } => "timeout",
            LlmError::Connect { .. } => "connect",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Server { .. } => "server",
            LlmError::Auth { .. } => "auth",
            LlmError::Rejected { .. } => "rejected",
            LlmError::Malformed { .. } => "malformed",
            LlmError::CircuitOpen { .. } => "circuit_open",
            LlmError::AllProvidersFailed(_) => "all_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LlmError;

    fn rejected(status: u16, message: &str) -> LlmError {
        LlmError::Rejected {
            provider: "openai:m".into(),
            status,
            message: message.into(),
        }
    }

    #[test]
    fn only_servers_without_tools_are_asked_in_json_mode() {
        for m in [
            "registry.ollama.ai/library/gemma:2b does not support tools",
            "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set",
            "tools: Extra inputs are not permitted",
            "Unrecognized request argument supplied: tools",
        ] {
            assert!(rejected(400, m).refuses_tools(), "{m}");
        }
        for m in [
            // Our own request was wrong: falling back would hide it.
            "Invalid schema for function 'submit_plan': 'additionalProperties' is required",
            "messages[3]: a 'tool' message must answer a preceding tool call",
            "max_tokens: field required",
        ] {
            assert!(!rejected(400, m).refuses_tools(), "{m}");
        }
        assert!(!LlmError::Server {
            provider: "p".into(),
            status: 500,
            message: "tools not supported".into(),
            retry_after: None,
        }
        .refuses_tools());
    }
}
