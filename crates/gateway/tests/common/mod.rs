//! What the gateway's tests share: a gateway over loopback in front of the
//! fake LLM, and plain HTTP to talk to it.
#![allow(dead_code)]

use std::sync::Arc;

use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_gateway::{GatewayConfig, LlmConfig};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use serde_json::{json, Value};

pub const SSN: &str = "123-45-6789";

pub fn opts(name: &str) -> ServiceOptions {
    ServiceOptions {
        body_limit: 1 << 20,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new(name),
    }
}

pub fn llm(fake: &FakeLlm, provider: &str) -> LlmConfig {
    LlmConfig {
        provider: provider.into(),
        base_url: if provider == "anthropic" {
            fake.anthropic_base_url()
        } else {
            fake.openai_base_url()
        },
        model: "gpt-4o-mini".into(),
        api_key: "upstream-key".into(),
        max_retries: 0,
        ..Default::default()
    }
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(octollm_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    format!("http://{addr}")
}

pub async fn reflex() -> Arc<octollm_reflex::Reflex> {
    Arc::new(
        octollm_reflex::Reflex::new(
            octollm_reflex::ReflexConfig::default(),
            &MetricsRegistry::new("reflex"),
        )
        .await
        .unwrap(),
    )
}

/// A gateway in front of `fake`, answering what the fake is told.
pub async fn gateway(fake: &FakeLlm, provider: &str, config: GatewayConfig) -> String {
    let router = octollm_gateway::app(
        config,
        llm(fake, provider),
        Some(reflex().await),
        opts("gateway"),
    )
    .await
    .unwrap();
    serve(router).await
}

/// The fake answers by echoing what it was sent, as a model repeating
/// the user's words would.
pub fn echo(fake: &FakeLlm) {
    fake.set_responder(|r| {
        Some(FakeReply::text(format!(
            "You said: {}",
            r.last_user_text().unwrap_or_default()
        )))
    });
}

pub fn upstream_log(fake: &FakeLlm) -> String {
    fake.requests()
        .iter()
        .map(|r| r.raw_body.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn post(
    url: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

pub fn chat(text: &str) -> Value {
    json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": text},
    ]})
}

/// `data:` payloads of an SSE body.
pub fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}
