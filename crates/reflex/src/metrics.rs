//! The reflex layer's own metric families.

use octollm_server::metrics::latency_histogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InjectionLabels {
    pub category: &'static str,
    pub severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabel {
    pub backend: &'static str,
}

octollm_server::metric_set! {
    pub struct ReflexMetrics {
        /// Screened texts by decision
        pub decisions: Family<DecisionLabel, Counter> => "reflex_decisions",
        /// PII and secret findings by type
        pub pii: Family<TypeLabel, Counter> => "reflex_pii_detections",
        /// Prompt-injection findings by category and severity
        pub injections: Family<InjectionLabels, Counter> => "reflex_injection_detections",
        /// Verdicts served from the cache
        pub cache_hits: Counter => "reflex_cache_hits",
        /// Verdicts computed because the cache had none
        pub cache_misses: Counter => "reflex_cache_misses",
        /// Entries in the in-process cache
        pub cache_entries: Gauge => "reflex_cache_entries",
        /// Requests refused by the rate limiter
        pub rate_limited: Counter => "reflex_rate_limited",
        /// Rate-limit checks by answering backend
        pub rate_checks: Family<BackendLabel, Counter> => "reflex_rate_limit_checks",
        /// Redis calls that failed or timed out
        pub redis_errors: Counter => "reflex_redis_errors",
        /// Time to screen one text (cache misses)
        pub scan_seconds: Histogram = latency_histogram() => "reflex_scan_duration_seconds",
        /// Bytes of text screened (cache misses)
        pub scanned_bytes: Counter => "reflex_scanned_bytes",
    }
}
