//! Egress per task (SPEC §9.2) over HTTP, on SQLite and PostgreSQL: a task
//! may narrow the executor's HTTP allowlist, never widen it; the narrowed
//! list is checked against every plan and carried in each step's token,
//! which the executor enforces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use octollm_executor::ExecutorConfig;
use octollm_fake_llm::FakeReply;
use octollm_testkit::tls::{self, HttpsServer, Reply};
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

/// The executor may fetch from both names of this machine's test server.
fn two_hosts(c: &mut ExecutorConfig) {
    c.http_allowed_hosts = vec!["localhost".into(), "127.0.0.1".into()];
    c.http_private_hosts = vec!["localhost".into(), "127.0.0.1".into()];
    c.http_extra_root_ca_pem = tls::ca_pem().display().to_string();
}

async fn setup(kind: Kind) -> (Db, Arms, Orch, HttpsServer) {
    let https = HttpsServer::start(|req| match req.path.as_str() {
        "/hello" => Reply::ok("hello over tls"),
        _ => Reply::new("404 Not Found", "nope"),
    })
    .await;
    let db = Db::new(kind).await;
    let arms = start_arms(ArmsOptions {
        llm_planner: true,
        token_secret: format!("egress-secret-{}", tag()),
        executor: Some(two_hosts),
    })
    .await;
    let o = start_orch(arms.config(&db)).await;
    (db, arms, o, https)
}

fn fetch_plan(url: &str) -> FakeReply {
    FakeReply::json(&json!({"plan": [{"step": 1, "action": "Fetch the page",
        "required_arm": "executor", "tool_call": {"action_type": "http", "method": "GET", "url": url},
        "depends_on": []}], "rationale": "one fetch", "confidence": 0.9, "complexity_score": 0.1}))
}

async fn egress(kind: Kind) {
    let (db, arms, o, https) = setup(kind).await;
    let port = https.port();

    // Malformed entries and entries wider than the executor's list are
    // refused, and nothing is stored.
    for (hosts, code) in [
        (json!(["exa mple.com"]), "INVALID_ALLOWED_HOSTS"),
        (json!(["*.10.0.0.1"]), "INVALID_ALLOWED_HOSTS"),
        (json!(["other.org"]), "HOST_NOT_ALLOWED"),
        (json!(["*.localhost"]), "HOST_NOT_ALLOWED"),
    ] {
        let (st, v) = post_task(
            &o.url,
            json!({"goal": "Fetch the page", "allowed_hosts": hosts}),
        )
        .await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (400, Some(code)),
            "{hosts}: {v}"
        );
    }
    let (_, v) = post_task(&o.url, json!({"goal": "x", "allowed_hosts": ["other.org"]})).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OCTOLLM_EXECUTOR_HTTP_ALLOWED_HOSTS"),
        "{v}"
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM tasks").await, 0);

    // Narrowed to localhost: a fetch there runs.
    let fake = arms.fake.as_ref().unwrap();
    fake.push_reply(fetch_plan(&format!("https://localhost:{port}/hello")));
    let id = submit(
        &o.url,
        json!({"goal": "Fetch the page", "allowed_hosts": ["localhost"]}),
    )
    .await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(v["result"]["output"], "hello over tls");
    assert_eq!(v["allowed_hosts"], json!(["localhost"]));

    // A plan fetching the executor's other host is refused before it runs.
    for _ in 0..3 {
        fake.push_reply(fetch_plan(&format!("https://127.0.0.1:{port}/hello")));
    }
    let before = https.connections();
    let id = submit(
        &o.url,
        json!({"goal": "Fetch the page", "allowed_hosts": ["localhost"]}),
    )
    .await;
    let v: Value = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "failed", "{v:#}");
    assert_eq!(v["error"]["code"], "INVALID_PLAN", "{v:#}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{v:#}"
    );
    assert_eq!(https.connections(), before, "the refused fetch connected");
    assert!(v.get("allowed_hosts").is_some());
    o.handle.shutdown().await;
}

mod a_task_narrows_its_hosts_and_never_widens_them {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        egress(Kind::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        egress(Kind::Postgres).await
    }
}
