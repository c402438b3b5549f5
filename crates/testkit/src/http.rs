//! HTTP shorthands for tests that drive the services over loopback.
//!
//! API tests send a request and look at the status and the JSON (or text)
//! body, over and over; services started as processes need a wait until
//! they answer. Transport failures panic.

use std::time::{Duration, Instant};

use reqwest::RequestBuilder;
use serde_json::Value;

/// A client that never goes through a proxy from the environment.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Sends `req`; the status and the JSON body. Panics when the body is not
/// JSON, so every use also checks that it is.
pub async fn send_json(req: RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request failed");
    let status = res.status().as_u16();
    let body = res.text().await.expect("response body");
    match serde_json::from_str(&body) {
        Ok(json) => (status, json),
        Err(e) => panic!("status {status}: the body is not JSON ({e}): {body:?}"),
    }
}

/// Sends `req`; the status and the JSON body, `Null` when there is none or
/// it is not JSON.
pub async fn send_json_or_null(req: RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request failed");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Sends `req`; the status and the body as text.
pub async fn send_text(req: RequestBuilder) -> (u16, String) {
    let res = req.send().await.expect("request failed");
    let status = res.status().as_u16();
    (status, res.text().await.expect("response body"))
}

/// Polls `url` until it answers with a 2xx; panics after `timeout`.
pub async fn wait_for_success(url: &str, timeout: Duration) {
    let client = client();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not answer with success within {timeout:?}");
}

/// Fails unless the Prometheus exposition `text` has at least `at_least`
/// metric families (one `# TYPE` line each).
pub fn assert_metric_families(text: &str, at_least: usize) {
    let families = text.lines().filter(|l| l.starts_with("# TYPE")).count();
    assert!(
        families >= at_least,
        "{families} metric families, want {at_least} or more:\n{text}"
    );
}

/// POSTs `body(i)` to `urls[i % urls.len()]` for every `i` in `0..n`, all at
/// once, as one client spread over replicas: how many were admitted (200)
/// and how many rate-limited (429). Any other answer fails the test.
pub async fn admitted_and_limited(
    urls: &[String],
    n: usize,
    body: impl Fn(usize) -> Value,
) -> (usize, usize) {
    let client = client();
    let sends: Vec<_> = (0..n)
        .map(|i| {
            let req = client.post(&urls[i % urls.len()]).json(&body(i));
            tokio::spawn(async move { req.send().await.expect("POST").status().as_u16() })
        })
        .collect();
    let (mut admitted, mut limited) = (0, 0);
    for send in sends {
        match send.await.expect("request task") {
            200 => admitted += 1,
            429 => limited += 1,
            s => panic!("unexpected status {s}"),
        }
    }
    (admitted, limited)
}

/// Polls task `id` on the orchestrator at `orchestrator` until it ends
/// (completed, failed or cancelled); its final JSON. Panics after `timeout`.
pub async fn wait_task(
    client: &reqwest::Client,
    orchestrator: &str,
    id: &str,
    timeout: Duration,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let (_, task) =
            send_json_or_null(client.get(format!("{orchestrator}/api/v1/tasks/{id}"))).await;
        if matches!(
            task["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} did not finish: {task}"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}
