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
        /// Executions by action and outcome
        pub executions: Family<OutcomeLabels, Counter> => "executor_executions",
        /// Wall-clock time of executions
        pub duration: Family<ActionLabels, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => "executor_execution_duration_seconds",
        /// Requests refused by the allowlist or argument policy
        pub denials: Family<ReasonLabels, Counter> => "executor_policy_denials",
        /// Requests refused for a missing, bad or insufficient capability token
        pub token_rejections: Family<ReasonLabels, Counter> => "executor_token_rejections",
        /// Executions killed at their wall-clock timeout
        pub timeouts: Counter => "executor_timeouts",
        /// Executions whose output hit the cap
        pub truncated: Counter => "executor_output_truncated",
        /// Executions the sandbox could not set up
        pub sandbox_errors: Counter => "executor_sandbox_errors",
        /// Executions killed by their memory cgroup
        pub oom_kills: Counter => "executor_oom_kills",
        /// Sandboxed executions running now
        pub slots_in_use: Gauge => "executor_sandbox_slots_in_use",
        /// Sandbox layers applied to every execution on this host
        pub layers_active: Gauge => "executor_sandbox_layers_active",
        /// CPU time consumed by sandboxed commands
        pub cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64> => "executor_cpu_seconds",
        /// Bytes received by the http action
        pub http_bytes: Counter => "executor_http_response_bytes",
        /// Audit records that could not be written
        pub audit_errors: Counter => "executor_audit_write_errors",
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
