//! Redis killed (SIGKILL) under traffic and started again on the same
//! port: the reflex layer keeps answering (degraded, its limiter falling
//! back to in-process buckets), the plan cache misses, tasks still run;
//! once Redis is back the shared limiter and the caches are used again.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;

/// Screens one text as client `user`; every answer must be a 200 within a second.
async fn screen(reflex: &str, user: &str, i: usize) {
    let asked = Instant::now();
    let (status, v) = post(
        &format!("{reflex}/api/v1/reflex/process"),
        json!({"text": format!("chaos request {i} from {user}"), "user_id": user}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "screening took {:?}",
        asked.elapsed()
    );
}

async fn rate_checks(reflex: &str, backend: &str) -> f64 {
    metric(
        &get_text(&format!("{reflex}/metrics")).await,
        "octollm_reflex_rate_limit_checks",
        &[&format!("backend=\"{backend}\"")],
    )
}

/// Plans `goal`; whether the plan came from the cache. Must answer 200
/// within two seconds.
async fn plan(planner: &str, goal: &str) -> bool {
    let asked = Instant::now();
    let (status, v) = post(&format!("{planner}/api/v1/plan"), json!({"goal": goal})).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "planning took {:?}",
        asked.elapsed()
    );
    v["cached"].as_bool().unwrap()
}

async fn health(url: &str) -> Value {
    let (status, h) = get(&format!("{url}/health")).await;
    assert_eq!(status, 200, "{h}");
    h
}

/// Polls `url`'s /health until `pred` holds; panics after `within`.
async fn health_until(url: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let h = health(url).await;
        if pred(&h) {
            return h;
        }
        assert!(Instant::now() < deadline, "{url}/health stayed {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const EMAIL: &str = "alice.chaos@example.com";

/// Runs a task whose goal holds an e-mail address; its output.
async fn pii_task_output(orchestrator: &str) -> String {
    let id = submit(orchestrator, &format!("Echo {EMAIL}"), 60).await;
    let task = wait_task_until(orchestrator, &id, Duration::from_secs(30), ended).await;
    assert_eq!(task["status"], "completed", "{task:#}");
    task["result"]["output"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted() {
    bounded(
        "redis_killed_and_restarted",
        Duration::from_secs(120),
        async {
            let scratch = Scratch::new("chaos-redis");
            let mut redis = PrivateRedis::start(scratch.join("redis"));
            let sandbox = Sandbox::new(3);
            let prefix = octollm_testkit::redis::unique_prefix("chaos");
            let mut env = vec![
                ("REDIS_URL".to_string(), redis.url()),
                (
                    "OCTOLLM_DATA_DIR".into(),
                    scratch.join("data").display().to_string(),
                ),
                (
                    "OCTOLLM_REFLEX_REDIS_KEY_PREFIX".into(),
                    format!("{prefix}reflex:"),
                ),
                (
                    "OCTOLLM_PLANNER_CACHE_KEY_PREFIX".into(),
                    format!("{prefix}planner:"),
                ),
                ("OCTOLLM_PLANNER_CACHE_ENABLED".into(), "true".into()),
            ];
            env.extend(sandbox.env(&scratch.join("sandbox-root")));
            let up = Up::start(scratch.path(), &env).await;
            let (o, r, p) = (up.orchestrator(), up.reflex(), up.planner());

            // Healthy: the limiter and the plan cache are in Redis.
            let h = health(&r).await;
            assert_eq!(h["redis"], "connected", "{h}");
            assert_eq!(health(&p).await["redis"], "connected");
            for i in 0..5 {
                screen(&r, "before", i).await;
            }
            assert!(rate_checks(&r, "redis").await >= 5.0);
            assert!(!plan(&p, "List files in /tmp").await);
            assert!(plan(&p, "List files in /tmp").await, "the plan cache works");
            let keys = octollm_testkit::redis::keys(&redis.url(), &format!("{prefix}*")).await;
            assert!(
                keys.iter().any(|k| k.contains("planner:"))
                    && keys.iter().any(|k| k.contains("reflex:")),
                "{keys:?}"
            );

            redis.kill9();

            // Degraded, not down: every screening answers, the limiter falls
            // back to in-process buckets, /health says so.
            let fallback_before = rate_checks(&r, "fallback").await;
            for i in 0..20 {
                screen(&r, "during", i).await;
            }
            let h = health_until(&r, Duration::from_secs(5), |h| h["status"] == "degraded").await;
            assert_eq!(h["redis"], "disconnected", "{h}");
            let (status, _) = get(&format!("{r}/ready")).await;
            assert_eq!(status, 503, "not ready without its Redis");
            assert!(
                rate_checks(&r, "fallback").await >= fallback_before + 20.0,
                "the limiter did not fall back"
            );
            // The plan cache misses; planning goes on.
            assert!(
                !plan(&p, "List files in /tmp").await,
                "no cache without Redis"
            );
            assert!(
                !plan(&p, "List files in /tmp").await,
                "no cache without Redis"
            );
            health_until(&p, Duration::from_secs(5), |h| h["redis"] == "disconnected").await;
            // Tasks run end to end meanwhile. Personal data in a goal cannot
            // become placeholders without the vault: it stays redacted.
            let id = submit(&o, "Echo still working", 60).await;
            let task = wait_task_until(&o, &id, Duration::from_secs(30), ended).await;
            assert_eq!(task["status"], "completed", "{task:#}");
            let output = pii_task_output(&o).await;
            assert!(!output.contains(EMAIL), "{output}");

            // Back on the same port (empty: nothing was persisted).
            redis.start_again();
            let back = Instant::now();
            let h = health_until(&r, Duration::from_secs(10), |h| h["status"] == "healthy").await;
            assert_eq!(h["redis"], "connected", "{h}");
            health_until(&p, Duration::from_secs(10), |h| h["redis"] == "connected").await;
            eprintln!(
                "reflex and planner healthy {:.1} s after Redis returned",
                back.elapsed().as_secs_f64()
            );
            // The shared limiter is used again, not the fallback.
            let (redis_before, fallback_before) = (
                rate_checks(&r, "redis").await,
                rate_checks(&r, "fallback").await,
            );
            for i in 0..10 {
                screen(&r, "after", i).await;
            }
            assert_eq!(rate_checks(&r, "redis").await, redis_before + 10.0);
            assert_eq!(rate_checks(&r, "fallback").await, fallback_before);
            // The vault is back: the user sees their own value again.
            let output = pii_task_output(&o).await;
            assert!(output.contains(EMAIL), "{output}");
            // And the plan cache fills and hits again.
            assert!(!plan(&p, "List files in /tmp").await);
            assert!(
                plan(&p, "List files in /tmp").await,
                "the plan cache works again"
            );
            let keys = octollm_testkit::redis::keys(&redis.url(), &format!("{prefix}*")).await;
            assert!(
                keys.iter().any(|k| k.contains("planner:"))
                    && keys.iter().any(|k| k.contains("reflex:")),
                "{keys:?}"
            );
        },
    )
    .await;
}
