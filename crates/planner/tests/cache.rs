//! The plan cache, in process and on a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use octollm_planner::{cache_key, PlanCache};
use octollm_testkit::redis as test_redis;
use octollm_types::plan::{Plan, PlanRequest};

fn plan(tag: &str) -> Plan {
    Plan {
        plan: vec![],
        rationale: tag.to_string(),
        confidence: 0.5,
        total_estimated_duration: 0,
        complexity_score: 0.1,
        planner: "builtin".into(),
        usage: Default::default(),
    }
}

#[test]
fn key_covers_goal_constraints_and_arms() {
    let a = PlanRequest {
        goal: "List /tmp".into(),
        ..Default::default()
    };
    let mut b = a.clone();
    b.constraints = vec!["at most 2 steps".into()];
    let arms = vec!["executor".to_string()];
    assert_eq!(cache_key(&a, &arms), cache_key(&a.clone(), &arms));
    assert_ne!(cache_key(&a, &arms), cache_key(&b, &arms));
    assert_ne!(
        cache_key(&a, &arms),
        cache_key(&a, &["executor".into(), "coder".into()])
    );
    let mut c = a.clone();
    c.goal = " List /tmp ".into();
    assert_eq!(
        cache_key(&a, &arms),
        cache_key(&c, &arms),
        "surrounding whitespace is not meaningful"
    );
}

#[tokio::test]
async fn memory_cache_expires_and_evicts() {
    let cache = PlanCache::memory(2, Duration::from_millis(200));
    cache.put("a", &plan("a")).await;
    cache.put("b", &plan("b")).await;
    assert_eq!(cache.get("a").await.unwrap().rationale, "a");
    cache.put("c", &plan("c")).await;
    assert!(
        cache.get("b").await.is_none(),
        "least recently used is evicted"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(cache.get("a").await.is_none(), "expired");
    assert_eq!(cache.redis_ok().await, None);
}

/// Redis comes from `OCTOLLM_TEST_REDIS_URL`; without it the test is skipped
/// locally, but under CI a missing or unreachable Redis fails it.
fn redis_url() -> Option<String> {
    let url = std::env::var("OCTOLLM_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but OCTOLLM_TEST_REDIS_URL is not set");
    }
    url
}

#[tokio::test]
async fn redis_cache_round_trips_with_ttl() {
    let Some(url) = redis_url() else {
        eprintln!("skipping: OCTOLLM_TEST_REDIS_URL is not set");
        return;
    };
    let prefix = test_redis::unique_prefix("plan-cache");
    let cache = PlanCache::redis(
        &url,
        &prefix,
        Duration::from_secs(2),
        Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!(
        cache.redis_ok().await,
        Some(true),
        "Redis at {url} must answer"
    );
    cache.put("k1", &plan("from redis")).await;
    assert_eq!(cache.get("k1").await.unwrap().rationale, "from redis");
    assert!(cache.get("missing").await.is_none());

    let mut conn = test_redis::connect(&url).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{prefix}k1"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=2).contains(&ttl), "TTL {ttl}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(cache.get("k1").await.is_none(), "expired by Redis");
    test_redis::delete_prefix(&url, &prefix).await;
}

#[tokio::test]
async fn unreachable_redis_is_a_miss_not_a_failure() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", dead.local_addr().unwrap());
    drop(dead);
    let cache = PlanCache::redis(
        &url,
        "octollm-test:",
        Duration::from_secs(5),
        Duration::from_millis(250),
    )
    .unwrap();
    cache.put("k", &plan("x")).await;
    assert!(cache.get("k").await.is_none());
    assert_eq!(cache.redis_ok().await, Some(false));
}

#[tokio::test]
async fn redis_that_never_answers_is_a_miss_within_the_timeout() {
    // Accepts connections and never says a word, like a Redis that hangs.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
        }
    });
    let cache = PlanCache::redis(
        &url,
        "octollm-test:",
        Duration::from_secs(5),
        Duration::from_millis(200),
    )
    .unwrap();
    let started = std::time::Instant::now();
    cache.put("k", &plan("x")).await;
    assert!(cache.get("k").await.is_none());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a lookup and a store took {:?}",
        started.elapsed()
    );
}
