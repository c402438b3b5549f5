//! Executions per second through the HTTP API at concurrency 8 (loopback).
//! `cargo run --release -p octollm-executor --example http_throughput [-- N]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use octollm_executor::ExecutorConfig;
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

const CONCURRENCY: usize = 8;

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("octollm-throughput-{}", std::process::id()));
    let config = ExecutorConfig {
        data_dir: dir.join("data").to_string_lossy().into_owned(),
        sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
        max_concurrency: CONCURRENCY as u64,
        ..ExecutorConfig::default()
    };
    let opts = ServiceOptions {
        body_limit: 1 << 20,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new("executor"),
    };
    let router = octollm_executor::app(config, opts).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/execute", listener.local_addr().unwrap());
    tokio::spawn(octollm_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, next, failures) =
            (client.clone(), url.clone(), next.clone(), failures.clone());
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let res = client
                    .post(&url)
                    .json(&serde_json::json!({"command": "echo", "args": ["hi"]}))
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => {
                        r.status() == 200
                            && r.json::<serde_json::Value>()
                                .await
                                .is_ok_and(|v| v["success"] == true)
                    }
                    Err(_) => false,
                };
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{total} executions of `echo hi` at concurrency {CONCURRENCY}: {secs:.2} s, {:.0} executions/s, {} failed",
        total as f64 / secs,
        failures.load(Ordering::Relaxed)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
