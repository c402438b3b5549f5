//! The OctoLLM orchestrator (SPEC §6): the task API, a durable task queue
//! on SQLite or PostgreSQL, the main loop (screen → cache → plan → run the
//! step DAG → verify → scan → store), budgets, deadlines, cancellation and
//! the arm registry.
//!
//! Entry points: [`app`] for the service (router plus a [`Handle`] that
//! stops its workers), [`app_with`] to supply the LLM judge and in-process
//! arms ([`arms`]), and [`OrchestratorClient`] for talking to a running one
//! (the binary renders what it returns).

mod admission;
mod api;
pub mod arms;
pub mod caps;
pub mod client;
mod config;
mod console;
mod core;
pub mod criteria;
mod decide;
mod error;
mod files;
mod judge;
mod metrics;
mod placeholders;
mod runner;
mod sse;
pub mod store;
mod submit;
mod view;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use octollm_llm::{LlmClient, LlmConfig};
use octollm_server::{ServiceOptions, Uptime};
use parking_lot::Mutex;
use tokio::sync::{broadcast, Notify};

pub use arms::ArmSet;
pub use client::{CancelReply, ClientError, EventStream, OrchestratorClient};
pub use config::OrchestratorConfig;
pub use error::{OrchestratorError, StoreError};
pub use worker::Handle;

/// Builds the orchestrator: opens the store (running its migrations),
/// starts the workers and returns the finished router. Every arm is reached
/// over HTTP at its configured URL, and there is no LLM judge: free-text
/// acceptance criteria are recorded as unchecked.
pub async fn app(
    config: OrchestratorConfig,
    opts: ServiceOptions,
) -> Result<(axum::Router, Handle), OrchestratorError> {
    app_with(config, LlmConfig::default(), ArmSet::default(), opts).await
}

/// [`app`] with an LLM provider for judging free-text acceptance criteria,
/// and with the arms in `supplied` used in place of their HTTP clients.
pub async fn app_with(
    config: OrchestratorConfig,
    llm: LlmConfig,
    supplied: ArmSet,
    opts: ServiceOptions,
) -> Result<(axum::Router, Handle), OrchestratorError> {
    app_with_routes(config, llm, supplied, opts, axum::Router::new()).await
}

/// [`app_with`] serving `extra` too (the MCP transport of `octollm up`),
/// behind the same API keys, limits and metrics as the task API. Its
/// routes are not in the OpenAPI document: they speak their own protocol.
pub async fn app_with_routes(
    config: OrchestratorConfig,
    llm: LlmConfig,
    supplied: ArmSet,
    opts: ServiceOptions,
    extra: axum::Router,
) -> Result<(axum::Router, Handle), OrchestratorError> {
    let mut urls = vec![("executor_url", &config.executor_url)];
    if supplied.screen.is_none() {
        urls.push(("reflex_url", &config.reflex_url));
    }
    if supplied.plan.is_none() {
        urls.push(("planner_url", &config.planner_url));
    }
    for (name, url) in urls {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(OrchestratorError::Config(format!(
                "{name} must be an http:// or https:// URL, not '{url}'"
            )));
        }
    }
    if config.annotate_injections().is_none() {
        return Err(OrchestratorError::Config(format!(
            "tool_output_injection must be 'fail' or 'annotate', not '{}'",
            config.tool_output_injection
        )));
    }
    let approval = octollm_policy::ApprovalPolicy::parse(&config.approval_required)
        .map_err(|e| OrchestratorError::Config(e.to_string()))?;
    if config.approval_timeout_seconds == 0 {
        return Err(OrchestratorError::Config(
            "approval_timeout_seconds must be at least 1".into(),
        ));
    }
    let store = store::Store::connect(&config).await?;
    let metrics = metrics::Metrics::register(&opts.metrics);
    let arms = arms::Arms::new(&config, supplied, metrics.clone())?;
    let judge = if llm.is_configured() {
        Some(Arc::new(LlmClient::from_config(&llm, &opts.metrics)?))
    } else {
        None
    };
    let (events, _) = broadcast::channel(1024);
    let core = Arc::new(core::Core {
        admission: admission::Admission::new(config.max_queued_tasks),
        token_secret: config.token_secret(),
        approval,
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
    let router =
        octollm_server::finish(api::routes(core, opts.body_limit).merge(extra.into()), opts);
    Ok((router, handle))
}
