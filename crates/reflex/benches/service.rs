//! One `POST /api/v1/reflex/process` through the whole HTTP stack of the
//! service in process (no sockets): the shared layers of
//! `octollm_server::finish` (request span and trace-context check, metrics,
//! API keys, body limit) and the handler, under the log subscriber the
//! binary installs, at `info` (the request span is recorded, nothing is
//! printed). Compare two builds with `--save-baseline` / `--baseline`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion};
use octollm_reflex::{Reflex, ReflexConfig};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use tower::ServiceExt;

const BODY: &str = r#"{"text": "My SSN is 123-45-6789 and email is test@example.com", "check_pii": true, "check_injection": true, "redact": true, "use_cache": true}"#;

fn process(c: &mut Criterion) {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,octollm::trace=off",
        ))
        .with_writer(std::io::sink)
        .init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let opts = ServiceOptions {
        body_limit: 1 << 20,
        api_keys: ApiKeys::from_csv(""),
        metrics: MetricsRegistry::new("reflex"),
    };
    let config = ReflexConfig {
        rate_limit_enabled: false,
        ..ReflexConfig::default()
    };
    let reflex = Arc::new(rt.block_on(Reflex::new(config, &opts.metrics)).unwrap());
    let app = octollm_server::finish(octollm_reflex::router(reflex), opts);
    let request = || {
        Request::post("/api/v1/reflex/process")
            .header("content-type", "application/json")
            .body(Body::from(BODY))
            .unwrap()
    };
    let status = rt
        .block_on(app.clone().oneshot(request()))
        .unwrap()
        .status();
    assert_eq!(status, 200);
    c.bench_function("http_process_fc002_cached", |b| {
        b.iter(|| rt.block_on(app.clone().oneshot(request())).unwrap())
    });
}

criterion_group!(benches, process);
criterion_main!(benches);
