//! The reflex layer's own metric families.

use octollm_server::metrics::latency_histogram;
use octollm_server::MetricsRegistry;
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

#[derive(Clone)]
pub struct ReflexMetrics {
    pub decisions: Family<DecisionLabel, Counter>,
    pub pii: Family<TypeLabel, Counter>,
    pub injections: Family<InjectionLabels, Counter>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub cache_entries: Gauge,
    pub rate_limited: Counter,
    pub rate_checks: Family<BackendLabel, Counter>,
    pub redis_errors: Counter,
    pub scan_seconds: Histogram,
    pub scanned_bytes: Counter,
}

impl ReflexMetrics {
    pub fn register(reg: &MetricsRegistry) -> Self {
        let m = ReflexMetrics {
            decisions: Family::default(),
            pii: Family::default(),
            injections: Family::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_entries: Gauge::default(),
            rate_limited: Counter::default(),
            rate_checks: Family::default(),
            redis_errors: Counter::default(),
            scan_seconds: latency_histogram(),
            scanned_bytes: Counter::default(),
        };
        reg.register(
            "reflex_decisions",
            "Screened texts by decision",
            m.decisions.clone(),
        );
        reg.register(
            "reflex_pii_detections",
            "PII and secret findings by type",
            m.pii.clone(),
        );
        reg.register(
            "reflex_injection_detections",
            "Prompt-injection findings by category and severity",
            m.injections.clone(),
        );
        reg.register(
            "reflex_cache_hits",
            "Verdicts served from the cache",
            m.cache_hits.clone(),
        );
        reg.register(
            "reflex_cache_misses",
            "Verdicts computed because the cache had none",
            m.cache_misses.clone(),
        );
        reg.register(
            "reflex_cache_entries",
            "Entries in the in-process cache",
            m.cache_entries.clone(),
        );
        reg.register(
            "reflex_rate_limited",
            "Requests refused by the rate limiter",
            m.rate_limited.clone(),
        );
        reg.register(
            "reflex_rate_limit_checks",
            "Rate-limit checks by answering backend",
            m.rate_checks.clone(),
        );
        reg.register(
            "reflex_redis_errors",
            "Redis calls that failed or timed out",
            m.redis_errors.clone(),
        );
        reg.register(
            "reflex_scan_duration_seconds",
            "Time to screen one text (cache misses)",
            m.scan_seconds.clone(),
        );
        reg.register(
            "reflex_scanned_bytes",
            "Bytes of text screened (cache misses)",
            m.scanned_bytes.clone(),
        );
        m
    }
}
