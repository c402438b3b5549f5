//! Usage and cost per virtual key and model.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub key: String,
    pub model: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KeyModel {
    pub key: String,
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TokenLabels {
    pub key: String,
    pub model: String,
    pub direction: String,
}

octollm_server::metric_set! {
    /// Every metric of the gateway.
    pub struct GatewayMetrics {
        /// Gateway requests by virtual key, model and outcome
        pub(crate) requests: Family<RequestLabels, Counter> => "gateway_requests",
        /// Tokens used through the gateway by virtual key, model and direction
        pub(crate) tokens: Family<TokenLabels, Counter> => "gateway_tokens",
        /// Dollars spent through the gateway by virtual key and model
        pub(crate) cost: Family<KeyModel, Counter<f64, AtomicU64>> => "gateway_cost_usd",
        /// Values tokenized before leaving, by virtual key and model
        pub(crate) tokenized: Family<KeyModel, Counter> => "gateway_pii_tokenized",
        /// Values the model produced that were redacted, by virtual key and model
        pub(crate) redacted: Family<KeyModel, Counter> => "gateway_output_redacted",
    }
}
