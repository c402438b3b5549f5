//! The screening gateway (SPEC §9.4): OpenAI- and Anthropic-compatible
//! endpoints in front of the configured provider.
//!
//! Every client-written message is screened by the reflex layer; an
//! injection it blocks is refused in the provider's own error shape.
//! Personal data is tokenized (`[SSN_1]`) before the request leaves and
//! restored in the answer; what the model produced itself is redacted by
//! policy. Virtual keys carry per-key limits, checked before the upstream
//! call. Entry points: [`app`] for the HTTP service, [`Gateway`] for the
//! domain logic.

mod anthropic;
mod budget;
mod config;
mod error;
mod gateway;
mod http;
mod keys;
mod metrics;
mod openai;
mod relay;
mod screen;
mod screening;
mod stream;

use std::sync::Arc;

pub use config::{GatewayConfig, ResponseRedaction};
pub use error::GatewayError;
pub use gateway::{Answer, Exchange, Gateway};
pub use octollm_llm::LlmConfig;
pub use screen::Screener;
pub use screening::Turn;

/// The finished gateway service. With `reflex`, screening calls that
/// instance directly (as under `octollm up`); without, the reflex layer at
/// `config.reflex_url`.
pub async fn app(
    config: GatewayConfig,
    llm: LlmConfig,
    reflex: Option<Arc<octollm_reflex::Reflex>>,
    mut opts: octollm_server::ServiceOptions,
) -> Result<axum::Router, GatewayError> {
    let screener = match reflex {
        Some(r) => Screener::Local(r),
        None => Screener::http(&config.reflex_url, &config.reflex_api_key)?,
    };
    let client = octollm_llm::LlmClient::from_config(&llm, &opts.metrics)
        .map_err(|e| GatewayError::Config(e.to_string()))?;
    let gateway = Gateway::new(&config, screener, Arc::new(client), &opts.metrics)?;
    if !gateway
        .connect_budgets(std::time::Duration::from_secs(2))
        .await
    {
        tracing::warn!("the keys' budgets are kept in Redis, which does not answer yet; requests with a key are refused until it does");
    }
    // Virtual keys replace the service-wide keys here: a client presents
    // one key, and refusals come in the provider's shape.
    if gateway.keys_enabled() {
        opts.api_keys = octollm_server::ApiKeys::default();
    }
    let state = http::AppState {
        gateway: Arc::new(gateway),
        uptime: octollm_server::Uptime::now(),
    };
    Ok(octollm_server::finish(http::routes(state), opts))
}
