//! The orchestrator's Prometheus metrics.

use std::sync::atomic::AtomicU64;

use octollm_server::metrics::latency_histogram;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ArmLabels {
    pub arm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ArmOutcomeLabels {
    pub arm: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

octollm_server::metric_set! {
    pub struct Metrics {
        pub submitted: Counter
            => ("orchestrator_tasks_submitted", "Tasks accepted by the API"),
        pub rejected: Family<ReasonLabels, Counter>
            => ("orchestrator_tasks_rejected", "Task submissions refused, by reason"),
        pub finished: Family<StatusLabels, Counter>
            => ("orchestrator_tasks_finished", "Tasks that ended, by final status"),
        pub task_duration: Histogram = latency_histogram()
            => ("orchestrator_task_duration_seconds", "Submission-to-end time of tasks run here"),
        pub open_tasks: Gauge
            => ("orchestrator_tasks_open", "Tasks not yet finished in the store (queue depth)"),
        pub running_tasks: Gauge
            => ("orchestrator_tasks_running", "Tasks this process is running now"),
        pub steps: Family<StatusLabels, Counter>
            => ("orchestrator_steps", "Plan steps that ended, by status"),
        pub step_duration: Histogram = latency_histogram()
            => ("orchestrator_step_duration_seconds", "Duration of plan steps"),
        pub arm_calls: Family<ArmOutcomeLabels, Counter>
            => ("orchestrator_arm_calls", "Calls to arms, by arm and outcome"),
        pub arm_latency: Family<ArmLabels, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => ("orchestrator_arm_call_duration_seconds", "Latency of calls to arms"),
        pub arm_retries: Family<ArmLabels, Counter>
            => ("orchestrator_arm_retries", "Retried calls to arms after transient errors"),
        pub breaker_state: Family<ArmLabels, Gauge>
            => (
                "orchestrator_arm_breaker_state",
                "Circuit breaker per arm: 0 closed, 1 half-open, 2 open",
            ),
        pub llm_tokens: Counter
            => ("orchestrator_llm_tokens", "LLM tokens spent by tasks (planner and judge)"),
        pub llm_cost: Counter<f64, AtomicU64>
            => ("orchestrator_llm_cost_usd", "LLM dollars spent by tasks (planner and judge)"),
        pub cache_hits: Counter
            => ("orchestrator_result_cache_hits", "Submissions answered from the result cache"),
        pub cache_misses: Counter
            => (
                "orchestrator_result_cache_misses",
                "Submissions the result cache could not answer",
            ),
        pub claims: Counter
            => ("orchestrator_queue_claims", "Tasks claimed from the queue by this process"),
        pub leases_lost: Counter
            => ("orchestrator_leases_lost", "Claims this process lost before finishing the task"),
        pub store_errors: Counter
            => ("orchestrator_store_errors", "Failed store operations"),
        pub sse_streams: Gauge
            => ("orchestrator_sse_streams", "Open event streams"),
    }
}

impl Metrics {
    pub fn arm_call(&self, arm: &str, outcome: &str) {
        self.arm_calls
            .get_or_create(&ArmOutcomeLabels {
                arm: arm.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn reject(&self, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }
}
