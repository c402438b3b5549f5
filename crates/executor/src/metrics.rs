//! The executor's own metric families (the shared HTTP ones come from
//! `octollm_server`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use octollm_server::MetricsRegistry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub action: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub action: String,
}

#[derive(Clone)]
pub struct ExecMetrics {
    pub executions: Family<OutcomeLabels, Counter>,
    pub duration: Family<ActionLabels, Histogram>,
    pub denials: Family<ReasonLabels, Counter>,
    pub token_rejections: Family<ReasonLabels, Counter>,
    pub timeouts: Counter,
    pub truncated: Counter,
    pub sandbox_errors: Counter,
    pub oom_kills: Counter,
    pub slots_in_use: Gauge,
    pub layers_active: Gauge,
    pub cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    pub http_bytes: Counter,
    pub audit_errors: Counter,
}

impl Default for ExecMetrics {
    fn default() -> Self {
        ExecMetrics::new()
    }
}

impl ExecMetrics {
    /// The families, not yet in any registry.
    pub fn new() -> ExecMetrics {
        ExecMetrics {
            executions: Family::default(),
            duration: Family::new_with_constructor(octollm_server::metrics::latency_histogram),
            denials: Family::default(),
            token_rejections: Family::default(),
            timeouts: Counter::default(),
            truncated: Counter::default(),
            sandbox_errors: Counter::default(),
            oom_kills: Counter::default(),
            slots_in_use: Gauge::default(),
            layers_active: Gauge::default(),
            cpu_seconds: Counter::default(),
            http_bytes: Counter::default(),
            audit_errors: Counter::default(),
        }
    }

    /// Adds the families to `reg` (they share their values with `self`).
    pub fn register(&self, reg: &MetricsRegistry) {
        let m = self;
        reg.register(
            "executor_executions",
            "Executions by action and outcome",
            m.executions.clone(),
        );
        reg.register(
            "executor_execution_duration_seconds",
            "Wall-clock time of executions",
            m.duration.clone(),
        );
        reg.register(
            "executor_policy_denials",
            "Requests refused by the allowlist or argument policy",
            m.denials.clone(),
        );
        reg.register(
            "executor_token_rejections",
            "Requests refused for a missing, bad or insufficient capability token",
            m.token_rejections.clone(),
        );
        reg.register(
            "executor_timeouts",
            "Executions killed at their wall-clock timeout",
            m.timeouts.clone(),
        );
        reg.register(
            "executor_output_truncated",
            "Executions whose output hit the cap",
            m.truncated.clone(),
        );
        reg.register(
            "executor_sandbox_errors",
            "Executions the sandbox could not set up",
            m.sandbox_errors.clone(),
        );
        reg.register(
            "executor_oom_kills",
            "Executions killed by their memory cgroup",
            m.oom_kills.clone(),
        );
        reg.register(
            "executor_sandbox_slots_in_use",
            "Sandboxed executions running now",
            m.slots_in_use.clone(),
        );
        reg.register(
            "executor_sandbox_layers_active",
            "Sandbox layers applied to every execution on this host",
            m.layers_active.clone(),
        );
        reg.register(
            "executor_cpu_seconds",
            "CPU time consumed by sandboxed commands",
            m.cpu_seconds.clone(),
        );
        reg.register(
            "executor_http_response_bytes",
            "Bytes received by the http action",
            m.http_bytes.clone(),
        );
        reg.register(
            "executor_audit_write_errors",
            "Audit records that could not be written",
            m.audit_errors.clone(),
        );
    }

    pub fn count(&self, action: &str, outcome: &str) {
        self.executions
            .get_or_create(&OutcomeLabels {
                action: action.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}
