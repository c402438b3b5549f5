//! The reflex layer against the real Redis: shared cache, shared rate
//! limit, no raw PII at rest, and graceful fallback when Redis is down.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use octollm_testkit::http::admitted_and_limited;
use octollm_testkit::redis as test_redis;
use serde_json::json;

fn redis_config(prefix: &str) -> octollm_reflex::ReflexConfig {
    let mut c = common::config();
    c.redis_url = test_redis::url();
    c.redis_key_prefix = prefix.to_string();
    c.hash_key = "test-shared-key".into();
    c
}

#[tokio::test]
async fn cache_is_shared_between_replicas_and_holds_no_raw_pii() {
    let prefix = test_redis::unique_prefix("cache");
    let a = common::start(redis_config(&prefix)).await;
    let b = common::start(redis_config(&prefix)).await;
    let (_, h, _) = (
        200,
        serde_json::from_str::<serde_json::Value>(&a.get_text("/health").await.1).unwrap(),
        (),
    );
    assert_eq!(h["redis"], "connected", "{h}");
    assert_eq!(h["cache"], "redis");

    let text = "Card 4111 1111 1111 1111, SSN 123-45-6789, mail test@example.com";
    let (_, first, _) = a.post("/process", json!({"text": text})).await;
    assert_eq!(first["cached"], false);
    let (_, second, _) = b.post("/process", json!({"text": text})).await;
    assert_eq!(
        second["cached"], true,
        "replica b did not see a's cache entry"
    );
    assert_eq!(first["pii_detected"], second["pii_detected"]);

    let keys = test_redis::keys(&test_redis::url(), &format!("{prefix}cache:*")).await;
    assert_eq!(keys.len(), 1);
    let mut c = test_redis::connect(&test_redis::url()).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 300,
        "cache entries must expire, ttl {ttl}"
    );
    let stored: String = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut c)
        .await
        .unwrap();
    for raw in ["4111 1111 1111 1111", "123-45-6789", "test@example.com"] {
        assert!(
            !stored.contains(raw),
            "raw PII {raw} stored in Redis: {stored}"
        );
    }
    assert!(!keys[0].contains("6789"));
    test_redis::delete_prefix(&test_redis::url(), &prefix).await;
}

#[tokio::test]
async fn rate_limit_is_shared_between_replicas() {
    let prefix = test_redis::unique_prefix("rl");
    let mut cfg = redis_config(&prefix);
    cfg.rate_limit_burst = 10.0;
    cfg.rate_limit_per_second = 0.0001;
    let a = common::start(cfg.clone()).await;
    let b = common::start(cfg).await;
    let urls = [&a.url, &b.url].map(|u| format!("{u}/process"));
    let counts = admitted_and_limited(
        &urls,
        30,
        |i| json!({"text": format!("hello {i}"), "user_id": "shared-user"}),
    )
    .await;
    assert_eq!(
        counts,
        (10, 20),
        "two replicas must together admit exactly the burst"
    );
    test_redis::delete_prefix(&test_redis::url(), &prefix).await;
}

#[tokio::test]
async fn redis_outage_degrades_instead_of_failing() {
    let mut cfg = common::config();
    // Nothing listens on port 1: connections are refused at once.
    cfg.redis_url = "redis://127.0.0.1:1".into();
    cfg.rate_limit_burst = 2.0;
    cfg.rate_limit_per_second = 0.001;
    let s = common::start(cfg).await;
    let h: serde_json::Value = serde_json::from_str(&s.get_text("/health").await.1).unwrap();
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["redis"], "disconnected");
    assert_eq!(s.get_text("/ready").await.0, 503);
    // Requests are still screened, and the limiter falls back to in-process
    // buckets rather than refusing everyone.
    let (status, body, _) = s
        .post(
            "/process",
            json!({"text": "SSN 123-45-6789", "user_id": "u"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pii_detected"][0]["type"], "ssn");
    let (status, _, _) = s
        .post(
            "/process",
            json!({"text": "SSN 123-45-6789", "user_id": "u"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["cached"], false);
    let (status, _, _) = s
        .post("/process", json!({"text": "third", "user_id": "u"}))
        .await;
    assert_eq!(
        status, 429,
        "the in-process fallback still enforces the budget"
    );
    let (_, m) = s.get_text("/metrics").await;
    assert!(
        m.contains("octollm_reflex_rate_limit_checks_total{backend=\"fallback\"}"),
        "{m}"
    );
}

/// Tokenized values live in Redis, sealed: a replica with the same
/// `vault_key` restores them, one with another key cannot, and the entry
/// expires.
#[tokio::test]
async fn the_vault_is_shared_sealed_and_expires() {
    let prefix = test_redis::unique_prefix("vault");
    let mut ca = redis_config(&prefix);
    ca.vault_key = "shared vault key".into();
    ca.vault_ttl_seconds = 2;
    let a = common::start(ca.clone()).await;
    let b = common::start(ca.clone()).await;
    let mut cc = ca;
    cc.vault_key = "another key".into();
    let c = common::start(cc).await;
    let text = "Mail jane.roe@example.com about SSN 123-45-6789";
    let (st, v, _) = a
        .post(
            "/api/v1/reflex/process",
            json!({"text": text, "redact": "tokenize"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["redacted_text"], "Mail [EMAIL_1] about SSN [SSN_1]");
    let id = v["vault_id"].as_str().unwrap().to_string();
    let keys = test_redis::keys(&test_redis::url(), &format!("{prefix}vault:*")).await;
    assert_eq!(keys.len(), 1);
    let mut conn = test_redis::connect(&test_redis::url()).await;
    let held: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&held).contains("jane.roe"),
        "a value is stored in the clear"
    );
    let restore = json!({"vault_id": id, "text": "Reply to [EMAIL_1] re [SSN_1]"});
    let (st, r, _) = b.post("/api/v1/reflex/restore", restore.clone()).await;
    assert_eq!(
        (st, r["text"].as_str()),
        (200, Some("Reply to jane.roe@example.com re 123-45-6789")),
        "{r}"
    );
    let (st, r, _) = c.post("/api/v1/reflex/restore", restore.clone()).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (409, Some("VAULT_SEALED")),
        "{r}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    let (st, _, _) = a.post("/api/v1/reflex/restore", restore).await;
    assert_eq!(st, 404);
}
