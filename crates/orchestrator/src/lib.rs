//! The OctoLLM orchestrator (SPEC §6): the task API, a durable task queue
//! on SQLite or PostgreSQL, the main loop (screen → cache → plan → run the
//! step DAG → verify → scan → store), budgets, deadlines, cancellation, the
//! arm registry, and the command-line pieces that drive it.
//!
//! Entry points: [`app`] for the service (router plus a [`Handle`] that
//! stops its workers), [`cli`] for `octollm run` and `octollm tasks`.

mod api;
mod arms;
pub mod caps;
pub mod client;
mod config;
mod core;
pub mod criteria;
mod error;
mod judge;
mod metrics;
pub mod refs;
mod runner;
mod sse;
pub mod store;
mod view;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use octollm_llm::{LlmClient, LlmConfig};
use octollm_server::{ServiceOptions, Uptime};
use parking_lot::Mutex;
use tokio::sync::{broadcast, Notify};

pub use client::{CancelReply, ClientError, EventStream, OrchestratorClient};
pub use config::OrchestratorConfig;
pub use error::{OrchestratorError, StoreError};
pub use worker::Handle;

/// Builds the orchestrator: opens the store (running its migrations),
/// starts the workers and returns the finished router. No LLM judge: free
/// text acceptance criteria are recorded as unchecked.
pub async fn app(
    config: OrchestratorConfig,
    opts: ServiceOptions,
) -> Result<(axum::Router, Handle), OrchestratorError> {
    app_with_llm(config, LlmConfig::default(), opts).await
}

/// [`app`] with an LLM provider for judging free-text acceptance criteria.
pub async fn app_with_llm(
    config: OrchestratorConfig,
    llm: LlmConfig,
    opts: ServiceOptions,
) -> Result<(axum::Router, Handle), OrchestratorError> {
    for (name, url) in [
        ("reflex_url", &config.reflex_url),
        ("planner_url", &config.planner_url),
        ("executor_url", &config.executor_url),
    ] {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(OrchestratorError::Config(format!(
                "{name} must be an http:// or https:// URL, not '{url}'"
            )));
        }
    }
    let store = store::Store::connect(&config).await?;
    let metrics = metrics::Metrics::register(&opts.metrics);
    let arms = arms::Arms::new(&config, metrics.clone())?;
    let judge = if llm.is_configured() {
        Some(Arc::new(LlmClient::from_config(&llm, &opts.metrics)?))
    } else {
        None
    };
    let (events, _) = broadcast::channel(1024);
    let core = Arc::new(core::Core {
        token_secret: config.resolved_token_secret(),
        config,
        store,
        arms,
        metrics,
        judge,
        events,
        wake: Notify::new(),
        running: Mutex::new(HashMap::new()),
        process_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        uptime: Uptime::now(),
    });
    let handle = worker::start(core.clone());
    let router = octollm_server::finish(api::routes(core), opts);
    Ok((router, handle))
}
