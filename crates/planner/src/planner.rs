//! The planner: input checks, cache, LLM or built-in planning, validation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use octollm_llm::{LlmClient, LlmConfig, ProviderStatus, ResponseFormat};
use octollm_server::trace::TARGET;
use octollm_server::MetricsRegistry;
use octollm_types::plan::{Plan, PlanRequest, Usage};
use tracing::field::Empty;
use tracing::Instrument;

use crate::builtin::BuiltinPlanner;
use crate::cache::{cache_key, PlanCache};
use crate::capabilities::PolicyProvider;
use crate::error::{PlanError, PlannerError};
use crate::llm_plan::{plan_with_llm, ArmInfo, LlmPlanFailure, LoopStats};
use crate::metrics::{
    PlanLabels, PlannerLabel, PlannerMetrics, ReasonLabel, ResultLabel, RuleLabel,
};
use crate::policy::Policy;
use crate::reply_format::{self, response_format};
use crate::validate::{validate, Rules};
use crate::PlannerConfig;

const MAX_CONSTRAINTS: usize = 50;
const MAX_CONSTRAINT_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Auto,
    Builtin,
    BuiltinFirst,
    Llm,
}

/// A plan and whether it came from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub cached: bool,
}

pub struct Planner {
    cfg: PlannerConfig,
    mode: Mode,
    /// How the model is asked for its plan (`llm_response_format`).
    format: ResponseFormat,
    arms: BTreeMap<String, String>,
    llm: Arc<LlmClient>,
    policy: PolicyProvider,
    cache: PlanCache,
    metrics: PlannerMetrics,
}

impl Planner {
    /// Builds the planner and registers its metrics (and the LLM layer's) in `metrics`.
    pub async fn new(
        cfg: PlannerConfig,
        llm: LlmConfig,
        metrics: &MetricsRegistry,
    ) -> Result<Planner, PlannerError> {
        let mode = match cfg.mode.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Mode::Auto,
            "builtin" => Mode::Builtin,
            "builtin_first" => Mode::BuiltinFirst,
            "llm" => Mode::Llm,
            other => {
                return Err(PlannerError::Config(format!(
                    "mode '{other}' is not one of auto, builtin, builtin_first, llm"
                )))
            }
        };
        if cfg.min_steps == 0 || cfg.min_steps > cfg.max_steps {
            return Err(PlannerError::Config(format!(
                "step bounds {}..{} are not valid: need 1 <= min_steps <= max_steps",
                cfg.min_steps, cfg.max_steps
            )));
        }
        let Some(format) = response_format(&cfg.llm_response_format) else {
            return Err(PlannerError::Config(format!(
                "llm_response_format '{}' is not one of {}",
                cfg.llm_response_format,
                reply_format::NAMES.join(", ")
            )));
        };
        let arms: BTreeMap<String, String> = cfg
            .arms
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| match a.split_once('=') {
                Some((n, d)) => (n.trim().to_string(), d.trim().to_string()),
                None => (a.trim().to_string(), String::new()),
            })
            .collect();
        if arms.is_empty() {
            return Err(PlannerError::Config(
                "at least one arm must be registered".into(),
            ));
        }
        let llm_client = LlmClient::from_config(&llm, metrics)?;
        if mode == Mode::Llm && !llm_client.is_configured() {
            return Err(PlannerError::Config(
                "mode 'llm' needs an LLM provider ([llm] provider)".into(),
            ));
        }
        let ttl = Duration::from_secs(cfg.cache_ttl_seconds.max(1));
        let cache = if !cfg.cache_enabled {
            PlanCache::off()
        } else if cfg.redis_url.trim().is_empty() {
            PlanCache::memory(usize::try_from(cfg.cache_capacity).unwrap_or(1024), ttl)
        } else {
            PlanCache::redis(
                cfg.redis_url.trim(),
                &cfg.cache_key_prefix,
                ttl,
                Duration::from_millis(cfg.redis_timeout_ms.max(1)),
            )
            .map_err(PlannerError::Config)?
        };
        Ok(Planner {
            policy: PolicyProvider::new(&cfg),
            mode,
            format,
            arms,
            llm: Arc::new(llm_client),
            cache,
            metrics: PlannerMetrics::register(metrics),
            cfg,
        })
    }

    pub fn config(&self) -> &PlannerConfig {
        &self.cfg
    }

    pub fn llm_providers(&self) -> Vec<ProviderStatus> {
        self.llm.providers()
    }

    pub fn llm_configured(&self) -> bool {
        self.llm.is_configured()
    }

    pub fn arms(&self) -> &BTreeMap<String, String> {
        &self.arms
    }

    pub fn cache_backend(&self) -> &'static str {
        self.cache.backend_name()
    }

    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Auto => "auto",
            Mode::Builtin => "builtin",
            Mode::BuiltinFirst => "builtin_first",
            Mode::Llm => "llm",
        }
    }

    /// The policy plans are validated against right now.
    pub async fn policy(&self) -> Policy {
        self.policy.current().await
    }

    /// Whether the executor (if configured) and Redis (if configured) answer.
    pub async fn dependencies(&self) -> BTreeMap<&'static str, bool> {
        let mut deps = BTreeMap::new();
        if self.policy.executor_configured() {
            deps.insert("executor", self.policy.fetch().await.is_ok());
        }
        if let Some(ok) = self.cache.redis_ok().await {
            deps.insert("redis", ok);
        }
        deps
    }

    fn check_input(&self, req: &PlanRequest) -> Result<(), PlanError> {
        let bad = |code, message: String| Err(PlanError::BadInput { code, message });
        let goal = req.goal.trim();
        if goal.is_empty() {
            return bad(
                "EMPTY_GOAL",
                "The goal is empty; describe what should be done".into(),
            );
        }
        let chars = req.goal.chars().count();
        if chars as u64 > self.cfg.max_goal_chars {
            return bad(
                "GOAL_TOO_LONG",
                format!(
                    "The goal has {chars} characters; at most {} are accepted",
                    self.cfg.max_goal_chars
                ),
            );
        }
        if req.constraints.len() > MAX_CONSTRAINTS {
            return bad(
                "TOO_MANY_CONSTRAINTS",
                format!(
                    "{} constraints given; at most {MAX_CONSTRAINTS} are accepted",
                    req.constraints.len()
                ),
            );
        }
        if let Some(c) = req
            .constraints
            .iter()
            .chain(&req.acceptance_criteria)
            .find(|c| c.chars().count() > MAX_CONSTRAINT_CHARS)
        {
            return bad(
                "CONSTRAINT_TOO_LONG",
                format!("A constraint or criterion has {} characters; at most {MAX_CONSTRAINT_CHARS} are accepted", c.chars().count()),
            );
        }
        if let Some(arms) = &req.available_arms {
            if arms.iter().all(|a| !self.arms.contains_key(a.trim())) {
                return bad(
                    "NO_KNOWN_ARMS",
                    format!(
                        "None of the available_arms ({}) is registered with the planner (registered: {})",
                        arms.join(", "),
                        self.arms.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        Ok(())
    }

    /// Whether a failed plan can be revised here: only a model revises
    /// plans (the built-in planner plans each goal one way).
    pub fn revises_plans(&self) -> bool {
        self.llm.is_configured() && self.mode != Mode::Builtin
    }

    /// Plans `req`: validated, from the cache when possible. A
    /// `planner.plan` span when traces are exported.
    pub async fn plan(&self, req: &PlanRequest) -> Result<PlanOutcome, PlanError> {
        let span = tracing::info_span!(target: TARGET, "planner.plan",
            planner.replan = req.replan.is_some(), planner.cached = Empty, planner.steps = Empty,
            planner.source = Empty, error.type = Empty, otel.status_code = Empty);
        let result = self.plan_untraced(req).instrument(span.clone()).await;
        match &result {
            _ if span.is_disabled() => {}
            Ok(o) => {
                span.record("planner.cached", o.cached);
                span.record("planner.steps", o.plan.plan.len());
                span.record("planner.source", o.plan.planner.as_str());
            }
            Err(e) => {
                span.record("error.type", e.to_api_error().code.as_str());
                span.record("otel.status_code", "error");
            }
        }
        result
    }

    async fn plan_untraced(&self, req: &PlanRequest) -> Result<PlanOutcome, PlanError> {
        let started = Instant::now();
        self.check_input(req)?;
        let policy = self.policy.current().await;
        let registered: BTreeSet<String> = self.arms.keys().cloned().collect();
        let usable: Vec<String> = match &req.available_arms {
            Some(a) => registered
                .iter()
                .filter(|r| a.contains(r))
                .cloned()
                .collect(),
            None => registered.iter().cloned().collect(),
        };
        let rules = Rules {
            policy: Some(&policy.exec),
            registered_arms: &registered,
            available_arms: Some(&usable),
            min_steps: self.cfg.min_steps,
            max_steps: self.cfg.max_steps,
        };

        // A revision answers one failure: it is never cached or served
        // from the cache.
        let key = cache_key(req, &usable);
        let cached = match req.replan {
            None => self.cache.get(&key).await,
            Some(_) => None,
        };
        if let Some(mut plan) = cached {
            // Re-validated: the executor's policy may have changed since.
            if validate(&plan, &rules).is_empty() {
                self.count_cache("hit");
                plan.usage = Usage::default();
                self.finish(&plan, "success", started);
                return Ok(PlanOutcome { plan, cached: true });
            }
        }
        self.count_cache("miss");

        let result = self.produce(req, &rules, &usable).await;
        match result {
            Ok(plan) => {
                if req.replan.is_none() {
                    self.cache.put(&key, &plan).await;
                }
                self.finish(&plan, "success", started);
                Ok(PlanOutcome {
                    plan,
                    cached: false,
                })
            }
            Err(e) => {
                let (planner, outcome) = match &e {
                    PlanError::BadInput { .. } => ("none", "bad_input"),
                    PlanError::Unsupported(_) => ("builtin", "unsupported"),
                    PlanError::Invalid { .. } => ("any", "invalid"),
                    PlanError::LlmUnavailable { .. } => ("llm", "unavailable"),
                    PlanError::ReplanUnavailable => ("builtin", "replan_unavailable"),
                };
                self.count_plan(planner, outcome);
                Err(e)
            }
        }
    }

    async fn produce(
        &self,
        req: &PlanRequest,
        rules: &Rules<'_>,
        usable: &[String],
    ) -> Result<Plan, PlanError> {
        let use_llm = self.revises_plans();
        if req.replan.is_some() && !use_llm {
            return Err(PlanError::ReplanUnavailable);
        }
        // A revision is the model's work: the built-in planner would plan
        // the goal exactly as it did the first time.
        if req.replan.is_none() && (!use_llm || self.mode == Mode::BuiltinFirst) {
            match self.builtin(req, rules, usable) {
                Err(PlanError::Unsupported(reason)) if use_llm => {
                    tracing::debug!(%reason, "built-in planner declined; asking the LLM");
                }
                other => return other,
            }
        }
        let arms: Vec<ArmInfo<'_>> = usable
            .iter()
            .map(|n| ArmInfo {
                name: n,
                description: self.arms.get(n).map(String::as_str).unwrap_or(""),
            })
            .collect();
        let mut stats = LoopStats::default();
        let outcome = plan_with_llm(
            &self.llm,
            req,
            rules,
            &arms,
            self.cfg.repair_rounds,
            self.format.clone(),
            &mut stats,
        )
        .await;
        self.metrics
            .repair_rounds
            .inc_by(u64::from(stats.repair_rounds));
        for issue in &stats.issues {
            self.count_rule(issue.rule);
        }
        let failure = match outcome {
            Ok(plan) => return Ok(plan),
            Err(f) => f,
        };
        if self.mode == Mode::Llm || self.mode == Mode::BuiltinFirst || req.replan.is_some() {
            return Err(failure.into_error(
                "the built-in fallback is disabled in this mode or declined the goal".into(),
            ));
        }
        // Last link of the chain: the built-in planner.
        let (reason, spent) = match &failure {
            LlmPlanFailure::Provider(e, u) => (format!("provider failure: {e}"), *u),
            LlmPlanFailure::Invalid { usage, .. } => {
                ("no valid plan after the repair rounds".to_string(), *usage)
            }
        };
        let label = if matches!(failure, LlmPlanFailure::Provider(..)) {
            "provider_failure"
        } else {
            "invalid_plan"
        };
        self.metrics
            .fallbacks
            .get_or_create(&ReasonLabel {
                reason: label.into(),
            })
            .inc();
        tracing::warn!(%reason, "LLM planning failed; falling back to the built-in planner");
        match self.builtin(req, rules, usable) {
            Ok(mut plan) => {
                plan.usage = spent;
                plan.rationale = format!("{} (LLM planning failed: {reason})", plan.rationale);
                Ok(plan)
            }
            Err(PlanError::Unsupported(builtin)) => Err(failure.into_error(builtin)),
            Err(other) => Err(other),
        }
    }

    fn builtin(
        &self,
        req: &PlanRequest,
        rules: &Rules<'_>,
        usable: &[String],
    ) -> Result<Plan, PlanError> {
        if !usable.iter().any(|a| a == "executor") {
            self.metrics.unsupported.inc();
            return Err(PlanError::Unsupported(
                "the built-in planner only plans executor steps and the executor arm is not available".into(),
            ));
        }
        let b = BuiltinPlanner {
            allowed_commands: rules
                .policy
                .map(|p| p.commands.allowed().iter().cloned().collect())
                .unwrap_or_default(),
            max_steps: rules.max_steps,
        };
        let plan = b.plan(req).map_err(|u| {
            self.metrics.unsupported.inc();
            PlanError::Unsupported(u.0)
        })?;
        let issues = validate(&plan, rules);
        if issues.is_empty() {
            Ok(plan)
        } else {
            for i in &issues {
                self.count_rule(i.rule);
            }
            Err(PlanError::Invalid {
                planner: "builtin".into(),
                issues,
                usage: Usage::default(),
            })
        }
    }

    fn count_rule(&self, rule: &str) {
        self.metrics
            .validation_failures
            .get_or_create(&RuleLabel {
                rule: rule.to_string(),
            })
            .inc();
    }

    fn count_cache(&self, result: &str) {
        self.metrics
            .cache
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }

    fn count_plan(&self, planner: &str, outcome: &str) {
        self.metrics
            .plans
            .get_or_create(&PlanLabels {
                planner: planner.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    fn finish(&self, plan: &Plan, outcome: &str, started: Instant) {
        let planner = if plan.planner == "builtin" {
            "builtin"
        } else {
            "llm"
        };
        self.count_plan(planner, outcome);
        self.metrics
            .duration
            .get_or_create(&PlannerLabel {
                planner: planner.into(),
            })
            .observe(started.elapsed().as_secs_f64());
        self.metrics.steps.observe(plan.plan.len() as f64);
    }
}
