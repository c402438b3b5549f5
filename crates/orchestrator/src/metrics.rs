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
        /// Tasks accepted by the API
        pub submitted: Counter => "orchestrator_tasks_submitted",
        /// Task submissions refused, by reason
        pub rejected: Family<ReasonLabels, Counter> => "orchestrator_tasks_rejected",
        /// Tasks that ended, by final status
        pub finished: Family<StatusLabels, Counter> => "orchestrator_tasks_finished",
        /// Tasks stopped because their token or dollar budget ran out
        pub budget_exceeded: Counter => "orchestrator_tasks_budget_exceeded",
        /// Submission-to-end time of tasks run here
        pub task_duration: Histogram = latency_histogram() => "orchestrator_task_duration_seconds",
        /// Tasks not yet finished in the store (queue depth)
        pub open_tasks: Gauge => "orchestrator_tasks_open",
        /// Tasks waiting for a worker, as admission control counts them
        pub queued_tasks: Gauge => "orchestrator_tasks_queued",
        /// Tasks this process is running now
        pub running_tasks: Gauge => "orchestrator_tasks_running",
        /// Plan steps that ended, by status
        pub steps: Family<StatusLabels, Counter> => "orchestrator_steps",
        /// Duration of plan steps
        pub step_duration: Histogram = latency_histogram() => "orchestrator_step_duration_seconds",
        /// Calls to arms, by arm and outcome
        pub arm_calls: Family<ArmOutcomeLabels, Counter> => "orchestrator_arm_calls",
        /// Latency of calls to arms
        pub arm_latency: Family<ArmLabels, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => "orchestrator_arm_call_duration_seconds",
        /// Retried calls to arms after transient errors
        pub arm_retries: Family<ArmLabels, Counter> => "orchestrator_arm_retries",
        /// Circuit breaker per arm: 0 closed, 1 half-open, 2 open
        pub breaker_state: Family<ArmLabels, Gauge> => "orchestrator_arm_breaker_state",
        /// LLM tokens spent by tasks (planner and judge)
        pub llm_tokens: Counter => "orchestrator_llm_tokens",
        /// LLM dollars spent by tasks (planner and judge)
        pub llm_cost: Counter<f64, AtomicU64> => "orchestrator_llm_cost_usd",
        /// Submissions answered from the result cache
        pub cache_hits: Counter => "orchestrator_result_cache_hits",
        /// Submissions the result cache could not answer
        pub cache_misses: Counter => "orchestrator_result_cache_misses",
        /// Tasks claimed from the queue by this process
        pub claims: Counter => "orchestrator_queue_claims",
        /// Claims this process lost before finishing the task
        pub leases_lost: Counter => "orchestrator_leases_lost",
        /// Plans revised after a failed step or acceptance criterion
        pub replans: Counter => "orchestrator_replans",
        /// Failed store operations
        pub store_errors: Counter => "orchestrator_store_errors",
        /// Open event streams
        pub sse_streams: Gauge => "orchestrator_sse_streams",
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
