//! Planner metrics.

use octollm_server::metrics::latency_histogram;
use octollm_server::MetricsRegistry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PlanLabels {
    pub planner: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PlannerLabel {
    pub planner: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RuleLabel {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone)]
pub(crate) struct PlannerMetrics {
    pub plans: Family<PlanLabels, Counter>,
    pub duration: Family<PlannerLabel, Histogram>,
    pub steps: Histogram,
    pub validation_failures: Family<RuleLabel, Counter>,
    pub repair_rounds: Counter,
    pub cache: Family<ResultLabel, Counter>,
    pub unsupported: Counter,
    pub fallbacks: Family<ReasonLabel, Counter>,
}

impl PlannerMetrics {
    pub fn register(reg: &MetricsRegistry) -> Self {
        let m = PlannerMetrics {
            plans: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            steps: Histogram::new([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0].into_iter()),
            validation_failures: Family::default(),
            repair_rounds: Counter::default(),
            cache: Family::default(),
            unsupported: Counter::default(),
            fallbacks: Family::default(),
        };
        reg.register(
            "planner_plans",
            "Plan requests by planner and outcome",
            m.plans.clone(),
        );
        reg.register(
            "planner_plan_duration_seconds",
            "Time to produce a validated plan, by planner",
            m.duration.clone(),
        );
        reg.register(
            "planner_plan_steps",
            "Steps per returned plan",
            m.steps.clone(),
        );
        reg.register(
            "planner_validation_failures",
            "Broken validation rules, by rule",
            m.validation_failures.clone(),
        );
        reg.register(
            "planner_repair_rounds",
            "LLM repair rounds (validation errors sent back to the model)",
            m.repair_rounds.clone(),
        );
        reg.register(
            "planner_cache_lookups",
            "Plan cache lookups by result",
            m.cache.clone(),
        );
        reg.register(
            "planner_unsupported_goals",
            "Goals the built-in planner refused",
            m.unsupported.clone(),
        );
        reg.register(
            "planner_fallbacks",
            "Falls back from the LLM to the built-in planner, by reason",
            m.fallbacks.clone(),
        );
        m
    }
}
