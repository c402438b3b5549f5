//! Planner metrics.

use octollm_server::metrics::latency_histogram;
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

octollm_server::metric_set! {
    pub(crate) struct PlannerMetrics {
        /// Plan requests by planner and outcome
        pub plans: Family<PlanLabels, Counter> => "planner_plans",
        /// Time to produce a validated plan, by planner
        pub duration: Family<PlannerLabel, Histogram> =
            Family::new_with_constructor(latency_histogram)
            => "planner_plan_duration_seconds",
        /// Steps per returned plan
        pub steps: Histogram = Histogram::new([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 10.0].into_iter())
            => "planner_plan_steps",
        /// Broken validation rules, by rule
        pub validation_failures: Family<RuleLabel, Counter> => "planner_validation_failures",
        /// LLM repair rounds (validation errors sent back to the model)
        pub repair_rounds: Counter => "planner_repair_rounds",
        /// Plan cache lookups by result
        pub cache: Family<ResultLabel, Counter> => "planner_cache_lookups",
        /// Goals the built-in planner refused
        pub unsupported: Counter => "planner_unsupported_goals",
        /// Falls back from the LLM to the built-in planner, by reason
        pub fallbacks: Family<ReasonLabel, Counter> => "planner_fallbacks",
    }
}
