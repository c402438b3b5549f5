//! The executor's own metric families (the shared HTTP ones come from
//! `octollm_server`).

use octollm_server::metrics::latency_histogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

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

octollm_server::metric_set! {
    pub struct ExecMetrics {
        pub executions: Family<OutcomeLabels, Counter>
            => ("executor_executions", "Executions by action and outcome"),
        pub duration: Family<ActionLabels, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => ("executor_execution_duration_seconds", "Wall-clock time of executions"),
        pub denials: Family<ReasonLabels, Counter>
            => ("executor_policy_denials", "Requests refused by the allowlist or argument policy"),
        pub token_rejections: Family<ReasonLabels, Counter>
            => (
                "executor_token_rejections",
                "Requests refused for a missing, bad or insufficient capability token",
            ),
        pub timeouts: Counter
            => ("executor_timeouts", "Executions killed at their wall-clock timeout"),
        pub truncated: Counter
            => ("executor_output_truncated", "Executions whose output hit the cap"),
        pub sandbox_errors: Counter
            => ("executor_sandbox_errors", "Executions the sandbox could not set up"),
        pub oom_kills: Counter
            => ("executor_oom_kills", "Executions killed by their memory cgroup"),
        pub slots_in_use: Gauge
            => ("executor_sandbox_slots_in_use", "Sandboxed executions running now"),
        pub layers_active: Gauge
            => (
                "executor_sandbox_layers_active",
                "Sandbox layers applied to every execution on this host",
            ),
        pub cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>
            => ("executor_cpu_seconds", "CPU time consumed by sandboxed commands"),
        pub http_bytes: Counter
            => ("executor_http_response_bytes", "Bytes received by the http action"),
        pub audit_errors: Counter
            => ("executor_audit_write_errors", "Audit records that could not be written"),
    }
}

impl ExecMetrics {
    pub fn count(&self, action: &str, outcome: &str) {
        self.executions
            .get_or_create(&OutcomeLabels {
                action: action.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}
