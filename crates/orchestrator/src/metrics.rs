//! The orchestrator's Prometheus metrics.

use std::sync::atomic::AtomicU64;

use octollm_server::metrics::latency_histogram;
use octollm_server::MetricsRegistry;
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

#[derive(Clone)]
pub struct Metrics {
    pub submitted: Counter,
    pub rejected: Family<ReasonLabels, Counter>,
    pub finished: Family<StatusLabels, Counter>,
    pub task_duration: Histogram,
    pub open_tasks: Gauge,
    pub running_tasks: Gauge,
    pub steps: Family<StatusLabels, Counter>,
    pub step_duration: Histogram,
    pub arm_calls: Family<ArmOutcomeLabels, Counter>,
    pub arm_latency: Family<ArmLabels, Histogram>,
    pub arm_retries: Family<ArmLabels, Counter>,
    pub breaker_state: Family<ArmLabels, Gauge>,
    pub llm_tokens: Counter,
    pub llm_cost: Counter<f64, AtomicU64>,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub claims: Counter,
    pub leases_lost: Counter,
    pub store_errors: Counter,
    pub sse_streams: Gauge,
}

impl Metrics {
    pub fn register(reg: &MetricsRegistry) -> Metrics {
        let m = Metrics {
            submitted: Counter::default(),
            rejected: Family::default(),
            finished: Family::default(),
            task_duration: latency_histogram(),
            open_tasks: Gauge::default(),
            running_tasks: Gauge::default(),
            steps: Family::default(),
            step_duration: latency_histogram(),
            arm_calls: Family::default(),
            arm_latency: Family::new_with_constructor(latency_histogram),
            arm_retries: Family::default(),
            breaker_state: Family::default(),
            llm_tokens: Counter::default(),
            llm_cost: Counter::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            claims: Counter::default(),
            leases_lost: Counter::default(),
            store_errors: Counter::default(),
            sse_streams: Gauge::default(),
        };
        let r = reg;
        r.register(
            "orchestrator_tasks_submitted",
            "Tasks accepted by the API",
            m.submitted.clone(),
        );
        r.register(
            "orchestrator_tasks_rejected",
            "Task submissions refused, by reason",
            m.rejected.clone(),
        );
        r.register(
            "orchestrator_tasks_finished",
            "Tasks that ended, by final status",
            m.finished.clone(),
        );
        r.register(
            "orchestrator_task_duration_seconds",
            "Submission-to-end time of tasks run here",
            m.task_duration.clone(),
        );
        r.register(
            "orchestrator_tasks_open",
            "Tasks not yet finished in the store (queue depth)",
            m.open_tasks.clone(),
        );
        r.register(
            "orchestrator_tasks_running",
            "Tasks this process is running now",
            m.running_tasks.clone(),
        );
        r.register(
            "orchestrator_steps",
            "Plan steps that ended, by status",
            m.steps.clone(),
        );
        r.register(
            "orchestrator_step_duration_seconds",
            "Duration of plan steps",
            m.step_duration.clone(),
        );
        r.register(
            "orchestrator_arm_calls",
            "Calls to arms, by arm and outcome",
            m.arm_calls.clone(),
        );
        r.register(
            "orchestrator_arm_call_duration_seconds",
            "Latency of calls to arms",
            m.arm_latency.clone(),
        );
        r.register(
            "orchestrator_arm_retries",
            "Retried calls to arms after transient errors",
            m.arm_retries.clone(),
        );
        r.register(
            "orchestrator_arm_breaker_state",
            "Circuit breaker per arm: 0 closed, 1 half-open, 2 open",
            m.breaker_state.clone(),
        );
        r.register(
            "orchestrator_llm_tokens",
            "LLM tokens spent by tasks (planner and judge)",
            m.llm_tokens.clone(),
        );
        r.register(
            "orchestrator_llm_cost_usd",
            "LLM dollars spent by tasks (planner and judge)",
            m.llm_cost.clone(),
        );
        r.register(
            "orchestrator_result_cache_hits",
            "Submissions answered from the result cache",
            m.cache_hits.clone(),
        );
        r.register(
            "orchestrator_result_cache_misses",
            "Submissions the result cache could not answer",
            m.cache_misses.clone(),
        );
        r.register(
            "orchestrator_queue_claims",
            "Tasks claimed from the queue by this process",
            m.claims.clone(),
        );
        r.register(
            "orchestrator_leases_lost",
            "Claims this process lost before finishing the task",
            m.leases_lost.clone(),
        );
        r.register(
            "orchestrator_store_errors",
            "Failed store operations",
            m.store_errors.clone(),
        );
        r.register(
            "orchestrator_sse_streams",
            "Open event streams",
            m.sse_streams.clone(),
        );
        m
    }

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
