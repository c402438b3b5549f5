//! The provider layer against the fake server, over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use octollm_fake_llm::{Api, FakeLlm, FakeReply};
use octollm_llm::{
    BreakerState, ChatMessage, ChatRequest, ChatResponse, LlmClient, LlmConfig, LlmError,
    ResponseFormat,
};
use octollm_server::MetricsRegistry;
use serde_json::json;

/// One provider on the fake, with short timeouts and backoff so failure
/// tests stay fast.
fn cfg(provider: &str, base_url: String, model: &str, api_key: &str) -> LlmConfig {
    LlmConfig {
        provider: provider.into(),
        base_url,
        model: model.into(),
        api_key: api_key.into(),
        timeout_seconds: 2.0,
        backoff_initial_ms: 10,
        backoff_max_ms: 50,
        ..LlmConfig::default()
    }
}

fn openai_cfg(fake: &FakeLlm) -> LlmConfig {
    cfg("openai", fake.openai_base_url(), "gpt-4o-mini", "sk-test")
}

fn anthropic_cfg(fake: &FakeLlm) -> LlmConfig {
    cfg(
        "anthropic",
        fake.anthropic_base_url(),
        "claude-3-5-haiku-latest",
        "ak-test",
    )
}

fn client(cfg: &LlmConfig) -> (LlmClient, MetricsRegistry) {
    let reg = MetricsRegistry::new("test");
    (LlmClient::from_config(cfg, &reg).unwrap(), reg)
}

fn request() -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are a planner."),
        ChatMessage::user("List files in /tmp"),
    ])
}

/// One JSON-mode chat through `cfg`; the fake answers `reply`, and only to
/// the configured key.
async fn json_chat(
    fake: &FakeLlm,
    cfg: &LlmConfig,
    reply: FakeReply,
) -> (ChatResponse, MetricsRegistry) {
    fake.require_api_key(&cfg.api_key);
    fake.push_reply(reply);
    let (c, reg) = client(cfg);
    let res = c
        .chat(&request().json(ResponseFormat::JsonObject))
        .await
        .unwrap();
    (res, reg)
}

#[tokio::test]
async fn openai_success_sends_the_exact_wire_format() {
    let fake = FakeLlm::start().await.unwrap();
    let reply = FakeReply::text("{\"ok\": true}").usage(1000, 500);
    let (res, reg) = json_chat(&fake, &openai_cfg(&fake), reply).await;
    assert_eq!(res.text, "{\"ok\": true}");
    assert_eq!(res.json_value().unwrap()["ok"], true);
    assert_eq!(
        (res.usage.prompt_tokens, res.usage.completion_tokens),
        (1000, 500)
    );
    // gpt-4o-mini: $0.00015 in, $0.0006 out per 1k.
    assert!((res.usage.cost_usd - (0.00015 + 0.0003)).abs() < 1e-12);
    assert_eq!((res.provider.as_str(), res.attempts), ("openai", 1));

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.api, Api::OpenAi);
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.model(), Some("gpt-4o-mini"));
    assert_eq!(
        r.messages(),
        vec![
            json!({"role": "system", "content": "You are a planner."}),
            json!({"role": "user", "content": "List files in /tmp"}),
        ]
    );
    assert_eq!(r.response_format(), Some(&json!({"type": "json_object"})));
    assert_eq!(r.body["temperature"], 0.0);
    assert_eq!(r.body["max_tokens"], 2048);

    let text = reg.render();
    for family in [
        "octollm_llm_calls_total{provider=\"openai\",model=\"gpt-4o-mini\",outcome=\"success\"} 1",
        "octollm_llm_tokens_total{provider=\"openai\",model=\"gpt-4o-mini\",direction=\"prompt\"} 1000",
        "octollm_llm_cost_usd_total{provider=\"openai\",model=\"gpt-4o-mini\"} 0.000449",
        "octollm_llm_request_duration_seconds_count{provider=\"openai\",model=\"gpt-4o-mini\"} 1",
    ] {
        assert!(text.contains(family), "missing {family} in\n{text}");
    }
}

#[tokio::test]
async fn openai_json_schema_and_keyless_local_server() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::text("{}"));
    let mut cfg = openai_cfg(&fake);
    cfg.api_key = String::new();
    cfg.model = "llama3.1:8b".into();
    let (c, _) = client(&cfg);
    let schema = json!({"type": "object", "properties": {"plan": {"type": "array"}}});
    let res = c
        .chat(&request().json(ResponseFormat::JsonSchema {
            name: "plan".into(),
            schema: schema.clone(),
            strict: false,
        }))
        .await
        .unwrap();
    assert_eq!(res.usage.cost_usd, 0.0, "local models are free");
    let r = &fake.requests()[0];
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.response_format(),
        Some(
            &json!({"type": "json_schema", "json_schema": {"name": "plan", "schema": schema, "strict": false}})
        )
    );
}

#[tokio::test]
async fn anthropic_success_sends_the_exact_wire_format() {
    let fake = FakeLlm::start().await.unwrap();
    let reply = FakeReply::text("{\"plan\": []}").usage(2000, 1000);
    let (res, _) = json_chat(&fake, &anthropic_cfg(&fake), reply).await;
    assert_eq!(res.text, "{\"plan\": []}");
    assert_eq!(res.provider, "anthropic");
    // claude-3-5-haiku: $0.0008 in, $0.004 out per 1k.
    assert!((res.usage.cost_usd - (0.0016 + 0.004)).abs() < 1e-12);

    let r = &fake.requests()[0];
    assert_eq!(r.api, Api::Anthropic);
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some("ak-test"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.model(), Some("claude-3-5-haiku-latest"));
    assert_eq!(r.body["max_tokens"], 2048);
    // The system prompt is top-level, never a message.
    assert_eq!(
        r.messages(),
        vec![json!({"role": "user", "content": "List files in /tmp"})]
    );
    let system = r.system().unwrap();
    assert!(system.starts_with("You are a planner."));
    assert!(
        system.contains("single JSON object"),
        "JSON mode becomes an instruction"
    );
    assert!(r.response_format().is_none());
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::error(429, "Rate limit reached").retry_after(1));
    fake.push_reply(FakeReply::text("after the wait"));
    let (c, reg) = client(&openai_cfg(&fake));
    let started = Instant::now();
    let res = c.chat(&request()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(res.text, "after the wait");
    assert_eq!(res.attempts, 2);
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(fake.requests().len(), 2);
    assert!(reg.render().contains(
        "octollm_llm_errors_total{provider=\"openai\",model=\"gpt-4o-mini\",kind=\"rate_limited\"} 1"
    ));
    assert!(reg
        .render()
        .contains("octollm_llm_retries_total{provider=\"openai\",model=\"gpt-4o-mini\"} 1"));
}

#[tokio::test]
async fn retry_after_longer_than_allowed_moves_on() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::error(429, "come back in an hour").retry_after(3600));
    let (c, _) = client(&openai_cfg(&fake));
    let started = Instant::now();
    let err = c.chat(&request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::error(500, "internal"));
    fake.push_reply(FakeReply::error(503, "overloaded"));
    fake.push_reply(FakeReply::text("third time lucky"));
    let (c, _) = client(&anthropic_cfg(&fake));
    let res = c.chat(&request()).await.unwrap();
    assert_eq!(res.text, "third time lucky");
    assert_eq!(res.attempts, 3);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default_reply(Some(FakeReply::error(502, "bad gateway")));
    let (c, _) = client(&openai_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Server { status: 502, .. }), "{err}");
    assert_eq!(fake.requests().len(), 3, "one call plus max_retries = 2");
}

#[tokio::test]
async fn malformed_body_is_an_error_not_a_retry() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::raw(200, "{\"choices\": [{\"message\": "));
    let (c, _) = client(&openai_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Malformed { .. }), "{err}");
    assert_eq!(fake.requests().len(), 1);

    // Valid JSON of the wrong shape is malformed too.
    fake.push_reply(FakeReply::raw(200, "{\"id\": \"x\"}"));
    let (c, _) = client(&anthropic_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Malformed { .. }), "{err}");
}

#[tokio::test]
async fn timeout_is_enforced_and_retried() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::text("too late").delay(Duration::from_millis(1500)));
    fake.push_reply(FakeReply::text("in time"));
    let mut cfg = openai_cfg(&fake);
    cfg.timeout_seconds = 0.3;
    let (c, reg) = client(&cfg);
    let started = Instant::now();
    let res = c.chat(&request()).await.unwrap();
    assert_eq!(res.text, "in time");
    assert!(started.elapsed() < Duration::from_millis(1200));
    assert!(reg.render().contains("kind=\"timeout\"} 1"));

    fake.set_default_reply(Some(FakeReply::text("never").delay(Duration::from_secs(2))));
    cfg.max_retries = 0;
    let (c, _) = client(&cfg);
    let err = c.chat(&request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Timeout { after_ms: 300, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn auth_error_is_never_retried() {
    let fake = FakeLlm::start().await.unwrap();
    fake.require_api_key("sk-right");
    let (c, _) = client(&openai_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::Auth { status: 401, .. }), "{err}");
    assert!(err.to_string().contains("Incorrect API key"));
    assert_eq!(fake.requests().len(), 1);

    fake.push_reply(FakeReply::error(400, "max_tokens is too large"));
    let (c, _) = client(&anthropic_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    // The anthropic key does not match either: still one request, no retry.
    assert!(matches!(err, LlmError::Auth { .. }), "{err}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn other_4xx_is_never_retried() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_reply(FakeReply::error(400, "messages: too long"));
    let (c, _) = client(&openai_cfg(&fake));
    let err = c.chat(&request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Rejected { status: 400, .. }),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn falls_back_to_the_second_provider() {
    let primary = FakeLlm::start().await.unwrap();
    let secondary = FakeLlm::start().await.unwrap();
    primary.set_default_reply(Some(FakeReply::error(503, "down")));
    secondary.push_reply(FakeReply::text("from the fallback"));
    let mut cfg = openai_cfg(&primary);
    cfg.fallback_provider = "anthropic".into();
    cfg.fallback_base_url = secondary.anthropic_base_url();
    cfg.fallback_model = "claude-sonnet-4-20250514".into();
    cfg.fallback_api_key = "ak-fallback".into();
    let (c, _) = client(&cfg);
    let res = c.chat(&request()).await.unwrap();
    assert_eq!(res.text, "from the fallback");
    assert_eq!(res.provider, "anthropic");
    assert_eq!(res.model, "claude-sonnet-4-20250514");
    assert_eq!(primary.requests().len(), 3);
    let sreq = secondary.requests();
    assert_eq!(sreq.len(), 1);
    assert_eq!(sreq[0].header("x-api-key"), Some("ak-fallback"));
    assert_eq!(sreq[0].model(), Some("claude-sonnet-4-20250514"));

    // Both failing: the error names both.
    secondary.set_default_reply(Some(FakeReply::error(500, "also down")));
    let err = c.chat(&request()).await.unwrap_err();
    match err {
        LlmError::AllProvidersFailed(errs) => assert_eq!(errs.len(), 2),
        other => panic!("expected AllProvidersFailed, got {other}"),
    }
}

#[tokio::test]
async fn connection_refused_falls_back() {
    let secondary = FakeLlm::start().await.unwrap();
    secondary.push_reply(FakeReply::text("alive"));
    // Bind and drop a listener to get a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/v1", dead.local_addr().unwrap());
    drop(dead);
    let mut cfg = openai_cfg(&secondary);
    cfg.base_url = dead_url;
    cfg.fallback_provider = "openai".into();
    cfg.fallback_base_url = secondary.openai_base_url();
    let (c, reg) = client(&cfg);
    let res = c.chat(&request()).await.unwrap();
    assert_eq!(res.text, "alive");
    assert!(reg.render().contains("kind=\"connect\"} 3"));
}

#[tokio::test]
async fn breaker_opens_and_half_opens() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default_reply(Some(FakeReply::error(500, "down")));
    let mut cfg = openai_cfg(&fake);
    cfg.max_retries = 0;
    cfg.breaker_failure_threshold = 3;
    cfg.breaker_cooldown_seconds = 0.3;
    let (c, reg) = client(&cfg);
    for _ in 0..3 {
        assert!(matches!(
            c.chat(&request()).await.unwrap_err(),
            LlmError::Server { .. }
        ));
    }
    assert_eq!(c.providers()[0].breaker, BreakerState::Open);
    assert!(reg
        .render()
        .contains("octollm_llm_circuit_state{provider=\"openai\",model=\"gpt-4o-mini\"} 2"));
    // Open: the call does not reach the server.
    let err = c.chat(&request()).await.unwrap_err();
    assert!(matches!(err, LlmError::CircuitOpen { .. }), "{err}");
    assert_eq!(fake.requests().len(), 3);

    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(c.providers()[0].breaker, BreakerState::HalfOpen);
    fake.push_reply(FakeReply::text("recovered"));
    assert_eq!(c.chat(&request()).await.unwrap().text, "recovered");
    assert_eq!(c.providers()[0].breaker, BreakerState::Closed);
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn unconfigured_and_misconfigured() {
    let reg = MetricsRegistry::new("test");
    let c = LlmClient::from_config(&LlmConfig::default(), &reg).unwrap();
    assert!(!c.is_configured());
    assert!(matches!(
        c.chat(&request()).await,
        Err(LlmError::NotConfigured)
    ));
    let bad = LlmConfig {
        provider: "gemini".into(),
        ..LlmConfig::default()
    };
    assert!(matches!(
        LlmClient::from_config(&bad, &reg),
        Err(LlmError::Config(_))
    ));
    let bad = LlmConfig {
        prices: vec!["nonsense".into()],
        ..LlmConfig::default()
    };
    assert!(matches!(
        LlmClient::from_config(&bad, &reg),
        Err(LlmError::Config(_))
    ));
}

#[test]
fn config_round_trips_through_serde_with_defaults() {
    let cfg: LlmConfig = serde_json::from_value(json!({"provider": "openai"})).unwrap();
    assert_eq!(cfg.provider, "openai");
    assert_eq!(
        cfg,
        LlmConfig {
            provider: "openai".into(),
            ..LlmConfig::default()
        }
    );
    let back: LlmConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
}

#[tokio::test]
async fn lists_models_of_each_provider_with_its_credentials() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_models(["gpt-4o-mini", "claude-3-5-haiku-20241022"]);
    let mut both = openai_cfg(&fake);
    both.api_key = "right".into();
    both.fallback_provider = "anthropic".into();
    both.fallback_base_url = fake.anthropic_base_url();
    both.fallback_api_key = "right".into();
    fake.require_api_key("right");
    let (c, _) = client(&both);
    let listed = c.list_models(Duration::from_secs(2)).await;
    assert_eq!(listed.len(), 2);
    for (status, models) in &listed {
        let models = models.as_ref().unwrap();
        assert_eq!(models.len(), 2, "{}", status.name);
    }
    assert_eq!(listed[0].0.kind, "openai");
    assert_eq!(listed[1].0.kind, "anthropic");
    let sent = fake.requests();
    assert_eq!(sent[0].path, "/v1/models");
    assert_eq!(sent[0].header("authorization"), Some("Bearer right"));
    assert_eq!(sent[1].api, Api::Anthropic);
    assert_eq!(sent[1].header("x-api-key"), Some("right"));
    assert!(sent[1].header("anthropic-version").is_some());

    // A wrong key is an authentication failure, asked once (no retries).
    fake.clear_requests();
    fake.require_api_key("other");
    let listed = c.list_models(Duration::from_secs(2)).await;
    for (status, models) in &listed {
        assert!(
            matches!(models, Err(LlmError::Auth { status: 401, .. })),
            "{}: {models:?}",
            status.name
        );
    }
    assert_eq!(fake.requests().len(), 2);

    // Nobody listening: a connection error.
    let dead = cfg("openai", "http://127.0.0.1:9/v1".into(), "m", "");
    let (c, _) = client(&dead);
    let listed = c.list_models(Duration::from_secs(2)).await;
    assert!(matches!(listed[0].1, Err(LlmError::Connect { .. })));
}
