//! Streamed answers against the fake server's real event streams, over
//! loopback HTTP: deltas in order, usage priced at the end, fallback only
//! before the first byte, a cut or stalled stream an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_llm::{BreakerState, ChatMessage, ChatRequest, LlmClient, LlmConfig, LlmError};
use octollm_server::MetricsRegistry;

fn cfg(provider: &str, base_url: String, model: &str) -> LlmConfig {
    LlmConfig {
        provider: provider.into(),
        base_url,
        model: model.into(),
        api_key: "k-test".into(),
        timeout_seconds: 2.0,
        backoff_initial_ms: 10,
        backoff_max_ms: 50,
        ..LlmConfig::default()
    }
}

fn client(cfg: &LlmConfig) -> Arc<LlmClient> {
    Arc::new(LlmClient::from_config(cfg, &MetricsRegistry::new("test")).unwrap())
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![ChatMessage::user("Tell me a story")])
}

/// Every delta, then the finished stream's usage.
async fn collect(c: &Arc<LlmClient>) -> Result<(Vec<String>, octollm_llm::ChatResponse), LlmError> {
    let mut s = c.chat_stream(&request()).await?;
    let mut deltas = Vec::new();
    while let Some(d) = s.next().await? {
        deltas.push(d);
    }
    Ok((deltas, s.response().cloned().expect("usage once complete")))
}

const STORY: &str = "Once upon a time, ünïcode crossed every boundary.";

#[tokio::test]
async fn both_apis_stream_deltas_and_price_the_reported_usage() {
    let fake = FakeLlm::start().await.unwrap();
    for c in [
        cfg("openai", fake.openai_base_url(), "gpt-4o-mini"),
        cfg(
            "anthropic",
            fake.anthropic_base_url(),
            "claude-3-5-haiku-latest",
        ),
    ] {
        fake.push_reply(
            FakeReply::text(STORY)
                .usage(11, 13)
                .chunked(4, Duration::ZERO),
        );
        let (deltas, res) = collect(&client(&c)).await.unwrap();
        assert!(deltas.len() >= STORY.chars().count() / 4, "{deltas:?}");
        assert_eq!(deltas.concat(), STORY);
        assert_eq!(
            (res.usage.prompt_tokens, res.usage.completion_tokens),
            (11, 13)
        );
        assert!(res.usage.cost_usd > 0.0, "{res:?}");
    }
    let sent = fake.requests();
    assert_eq!(sent[0].body["stream"], true);
    assert_eq!(sent[0].body["stream_options"]["include_usage"], true);
    assert_eq!(sent[1].body["stream"], true);
    assert_eq!(sent[1].header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn a_failure_before_the_first_byte_falls_back() {
    let primary = FakeLlm::start().await.unwrap();
    let secondary = FakeLlm::start().await.unwrap();
    for _ in 0..3 {
        primary.push_reply(FakeReply::error(503, "down"));
    }
    secondary.push_reply(FakeReply::text("from the fallback"));
    let mut c = cfg("openai", primary.openai_base_url(), "gpt-4o-mini");
    c.max_retries = 1;
    c.fallback_provider = "anthropic".into();
    c.fallback_base_url = secondary.anthropic_base_url();
    c.fallback_model = "claude-3-5-haiku-latest".into();
    c.fallback_api_key = "k-test".into();
    let (deltas, res) = collect(&client(&c)).await.unwrap();
    assert_eq!(deltas.concat(), "from the fallback");
    assert_eq!(res.provider, "anthropic");
    assert_eq!(primary.requests().len(), 2, "one try and one retry");
}

#[tokio::test]
async fn a_stream_cut_mid_answer_is_an_error_and_counts_against_the_breaker() {
    let fake = FakeLlm::start().await.unwrap();
    let mut c = cfg(
        "anthropic",
        fake.anthropic_base_url(),
        "claude-3-5-haiku-latest",
    );
    c.breaker_failure_threshold = 1;
    let client = client(&c);
    fake.push_reply(FakeReply::text(STORY).cut_after(3));
    let mut s = client.chat_stream(&request()).await.unwrap();
    let mut got = String::new();
    let err = loop {
        match s.next().await {
            Ok(Some(d)) => got.push_str(&d),
            Ok(None) => panic!("a cut stream must not end cleanly: {got}"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, STORY.chars().take(9).collect::<String>());
    assert!(err.to_string().contains("ended before"), "{err}");
    assert!(s.response().is_none());
    assert!(s.usage_so_far().prompt_tokens > 0);
    assert_eq!(client.providers()[0].breaker, BreakerState::Open);
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let fake = FakeLlm::start().await.unwrap();
    let mut c = cfg("openai", fake.openai_base_url(), "gpt-4o-mini");
    c.timeout_seconds = 0.3;
    fake.push_reply(FakeReply::text("ab").chunked(1, Duration::from_secs(2)));
    let mut s = client(&c).chat_stream(&request()).await.unwrap();
    let err = s.next().await.unwrap_err();
    assert!(matches!(err, LlmError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn a_request_for_json_is_not_streamed() {
    let fake = FakeLlm::start().await.unwrap();
    let c = client(&cfg("openai", fake.openai_base_url(), "gpt-4o-mini"));
    let err = c
        .chat_stream(&request().json(octollm_llm::ResponseFormat::JsonObject))
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LlmError::Config(_)), "{err}");
    assert!(fake.requests().is_empty());
}
