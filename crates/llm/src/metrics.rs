//! Provider metrics, labelled by provider and model.

use std::sync::atomic::AtomicU64;

use octollm_server::metrics::latency_histogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModelLabels {
    pub provider: String,
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutcomeLabels {
    pub provider: String,
    pub model: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ErrorLabels {
    pub provider: String,
    pub model: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TokenLabels {
    pub provider: String,
    pub model: String,
    pub direction: String,
}

octollm_server::metric_set! {
    /// Every metric of the provider layer.
    pub struct LlmMetrics {
        /// HTTP calls to LLM providers by provider, model and outcome
        pub(crate) calls: Family<OutcomeLabels, Counter> => "llm_calls",
        /// Failed LLM calls by provider, model and error kind
        pub(crate) errors: Family<ErrorLabels, Counter> => "llm_errors",
        /// Latency of one LLM HTTP call by provider and model
        pub(crate) latency: Family<ModelLabels, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => "llm_request_duration_seconds",
        /// Tokens consumed by provider, model and direction (prompt or completion)
        pub(crate) tokens: Family<TokenLabels, Counter> => "llm_tokens",
        /// Dollars spent on LLM calls by provider and model
        pub(crate) cost: Family<ModelLabels, Counter<f64, AtomicU64>> => "llm_cost_usd",
        /// Retries of LLM calls by provider and model
        pub(crate) retries: Family<ModelLabels, Counter> => "llm_retries",
        /// Circuit breaker state per provider and model: 0 closed, 1 half-open, 2 open
        pub(crate) breaker: Family<ModelLabels, Gauge> => "llm_circuit_state",
    }
}
