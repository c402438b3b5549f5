//! The planner arm: turns a goal into a validated plan (SPEC §4).
//!
//! Plans come from an LLM (with a repair loop that sends validation errors
//! back to the model) or from the deterministic built-in planner, the
//! offline default and the last link of the fallback chain. Every plan is
//! validated against the executor's policy, whoever wrote it.
//!
//! Entry points: [`app`] for the HTTP service, [`Planner`] for in-process
//! planning (`octollm plan`, and the orchestrator in-process).

pub mod builtin;
mod cache;
mod capabilities;
mod config;
mod error;
mod http;
pub mod llm_plan;
mod metrics;
mod planner;
pub mod policy;
pub mod reply_format;
pub mod validate;

use std::sync::Arc;

pub use cache::{cache_key, PlanCache};
pub use config::{PlannerConfig, DEFAULT_ALLOWED_COMMANDS};
pub use error::{PlanError, PlannerError};
pub use octollm_llm::LlmConfig;
pub use planner::{PlanOutcome, Planner};

/// The finished planner service: routes plus the shared layers and `/metrics`.
pub async fn app(
    config: PlannerConfig,
    llm: LlmConfig,
    opts: octollm_server::ServiceOptions,
) -> Result<axum::Router, PlannerError> {
    let planner = Planner::new(config, llm, &opts.metrics).await?;
    Ok(router(Arc::new(planner), opts))
}

/// The HTTP service over a planner that in-process callers share.
pub fn router(planner: Arc<Planner>, opts: octollm_server::ServiceOptions) -> axum::Router {
    let state = http::AppState {
        planner,
        uptime: octollm_server::Uptime::now(),
    };
    octollm_server::finish(http::routes(state), opts)
}
