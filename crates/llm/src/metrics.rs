//! Provider metrics, labelled by provider and model.

use std::sync::atomic::AtomicU64;

use octollm_server::metrics::latency_histogram;
use octollm_server::MetricsRegistry;
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

/// Every metric of the provider layer.
#[derive(Clone)]
pub struct LlmMetrics {
    pub(crate) calls: Family<OutcomeLabels, Counter>,
    pub(crate) errors: Family<ErrorLabels, Counter>,
    pub(crate) latency: Family<ModelLabels, Histogram>,
    pub(crate) tokens: Family<TokenLabels, Counter>,
    pub(crate) cost: Family<ModelLabels, Counter<f64, AtomicU64>>,
    pub(crate) retries: Family<ModelLabels, Counter>,
    pub(crate) breaker: Family<ModelLabels, Gauge>,
}

impl LlmMetrics {
    pub fn register(reg: &MetricsRegistry) -> Self {
        let m = LlmMetrics {
            calls: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            tokens: Family::default(),
            cost: Family::default(),
            retries: Family::default(),
            breaker: Family::default(),
        };
        reg.register(
            "llm_calls",
            "HTTP calls to LLM providers by provider, model and outcome",
            m.calls.clone(),
        );
        reg.register(
            "llm_errors",
            "Failed LLM calls by provider, model and error kind",
            m.errors.clone(),
        );
        reg.register(
            "llm_request_duration_seconds",
            "Latency of one LLM HTTP call by provider and model",
            m.latency.clone(),
        );
        reg.register(
            "llm_tokens",
            "Tokens consumed by provider, model and direction (prompt or completion)",
            m.tokens.clone(),
        );
        reg.register(
            "llm_cost_usd",
            "Dollars spent on LLM calls by provider and model",
            m.cost.clone(),
        );
        reg.register(
            "llm_retries",
            "Retries of LLM calls by provider and model",
            m.retries.clone(),
        );
        reg.register(
            "llm_circuit_state",
            "Circuit breaker state per provider and model: 0 closed, 1 half-open, 2 open",
            m.breaker.clone(),
        );
        m
    }
}
