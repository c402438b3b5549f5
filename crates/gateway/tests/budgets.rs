//! Virtual keys' budgets shared in a real Redis: two gateways (two
//! replicas) count against one budget, and without Redis a request with a
//! key is refused before anything is forwarded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_gateway::GatewayConfig;
use octollm_testkit::redis as test_redis;
use serde_json::Value;

fn shared(prefix: &str, keys: &[&str]) -> GatewayConfig {
    GatewayConfig {
        keys: keys.iter().map(|k| k.to_string()).collect(),
        redis_url: test_redis::url(),
        redis_key_prefix: prefix.to_string(),
        ..GatewayConfig::default()
    }
}

/// Waits (charges are written in the background) until key `name` has
/// spent `tokens` today, as Redis holds it.
async fn spent_tokens(prefix: &str, name: &str, tokens: u64) {
    let mut c = test_redis::connect(&test_redis::url()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = test_redis::keys(&test_redis::url(), &format!("{prefix}{name}:*:tokens")).await;
        let mut total = 0;
        for k in &found {
            let v: Option<u64> = redis::cmd("GET").arg(k).query_async(&mut c).await.unwrap();
            total += v.unwrap_or(0);
        }
        if total >= tokens {
            assert_eq!(total, tokens);
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "spent {total} of {tokens}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_replicas_spend_one_budget() {
    let prefix = test_redis::unique_prefix("gateway-budget");
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default_reply(Some(FakeReply::text("ok").usage(60, 40)));
    let keys = ["tokens:vk-tokens::150", "minute:vk-minute:3"];
    let a = gateway(&fake, "openai", shared(&prefix, &keys)).await;
    let b = gateway(&fake, "openai", shared(&prefix, &keys)).await;
    let url = |base: &str| format!("{base}/v1/chat/completions");

    // 100 tokens through A, 100 through B: the 150 a day are spent, on
    // both replicas.
    assert_eq!(post(&url(&a), chat("hi"), Some("vk-tokens")).await.0, 200);
    assert_eq!(post(&url(&b), chat("hi"), Some("vk-tokens")).await.0, 200);
    spent_tokens(&prefix, "tokens", 200).await;
    for base in [&a, &b] {
        let (status, headers, body) = post(&url(base), chat("hi"), Some("vk-tokens")).await;
        assert_eq!(status, 429, "{body}");
        assert!(body.contains("tokens per day"), "{body}");
        assert!(headers.contains_key("retry-after"));
    }

    // Three requests a minute, wherever they land.
    let mut statuses = Vec::new();
    for base in [&a, &b, &a, &b] {
        statuses.push(post(&url(base), chat("hi"), Some("vk-minute")).await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(fake.requests().len(), 5, "refused requests were forwarded");

    let written = test_redis::keys(&test_redis::url(), &format!("{prefix}*")).await;
    assert!(
        written.iter().any(|k| k.ends_with(":tokens")),
        "{written:?}"
    );
    test_redis::delete_prefix(&test_redis::url(), &prefix).await;
}

#[tokio::test]
async fn without_its_redis_a_request_with_a_key_is_refused_and_not_forwarded() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default_reply(Some(FakeReply::text("ok")));
    // A port where nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = GatewayConfig {
        keys: vec!["team:vk-team:10".into()],
        redis_url: format!("redis://127.0.0.1:{closed}"),
        redis_key_prefix: "unused:".into(),
        ..GatewayConfig::default()
    };
    let base = gateway(&fake, "openai", config).await;
    let (status, headers, body) = post(
        &format!("{base}/v1/chat/completions"),
        chat("hi"),
        Some("vk-team"),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "budget_unavailable", "{v}");
    assert!(headers.contains_key("retry-after"));
    assert!(fake.requests().is_empty());
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
}
