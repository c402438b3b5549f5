//! Every route of every service is in that service's OpenAPI document, and
//! every documented operation reaches a handler. Runs `octollm up` with an
//! API key, as an operator would.
//!
//! Routes come from two places in the sources: `#[utoipa::path(…, path =
//! "…")]` attributes (registered with `OpenApiRouter::routes`, so route and
//! document entry are one) and plain `.route("…")` calls, which bypass the
//! document. Both are read from the source files and looked up in the
//! served documents, so a route added either way without documentation
//! fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use octollm_testkit::http::wait_for_success;
use octollm_testkit::ports::free_port;
use octollm_testkit::unique_name;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_octollm");
const KEY: &str = "openapi-test-key";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal right after each `marker` in `text` (whitespace
/// between them allowed, as rustfmt leaves it).
fn literals_after(text: &str, marker: &str) -> Vec<String> {
    text.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = text[at + marker.len()..].trim_start().strip_prefix('"')?;
            let end = rest.find('"')?;
            Some(rest[..end].to_string())
        })
        .collect()
}

/// The paths a crate's sources route, by either way of routing.
fn routed_paths(krate: &str) -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(
        &workspace_root().join("crates").join(krate).join("src"),
        &mut files,
    );
    let mut paths = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for attr in text.split("#[utoipa::path(").skip(1) {
            let attr = &attr[..attr.find(")]").unwrap_or(attr.len())];
            paths.extend(literals_after(attr, "path ="));
        }
        paths.extend(literals_after(&text, ".route("));
    }
    paths
}

async fn get_json(url: &str) -> Value {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_document_entry_is_routed() {
    let data_dir = std::env::temp_dir().join(unique_name("octollm-openapi"));
    std::fs::create_dir_all(&data_dir).unwrap();
    let ports: [u16; 5] = std::array::from_fn(|_| free_port());
    let arm_ports = [ports[0], ports[1], ports[2], ports[3]];
    let child = common::up_command(BIN, &data_dir, &arm_ports, 1_506_000)
        .env("OCTOLLM_GATEWAY_PORT", ports[4].to_string())
        .env("OCTOLLM_API_KEYS", format!("tester:{KEY}"))
        .env("OCTOLLM_LOG_LEVEL", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _up = common::Running {
        children: vec![child],
        dir: Some(data_dir),
    };
    let client = reqwest::Client::new();
    for p in ports {
        let ready = format!("http://127.0.0.1:{p}/ready");
        wait_for_success(
            &format!("http://127.0.0.1:{p}/health"),
            Duration::from_secs(30),
        )
        .await;
        // With keys on, the components reach each other with a key of
        // their own: every one is ready, the planner's executor included.
        let r = client.get(&ready).bearer_auth(KEY).send().await.unwrap();
        let status = r.status();
        assert_eq!(status, 200, "{ready}: {}", r.text().await.unwrap());
    }

    let shared = routed_paths("server");
    assert!(
        shared.contains("/metrics") && shared.contains("/openapi.json"),
        "{shared:?}"
    );
    let services = [
        ("orchestrator", ports[0]),
        ("reflex", ports[1]),
        ("planner", ports[2]),
        ("executor", ports[3]),
        ("gateway", ports[4]),
    ];
    for (krate, port) in services {
        let base = format!("http://127.0.0.1:{port}");
        let doc = get_json(&format!("{base}/openapi.json")).await;
        assert_eq!(doc["openapi"], "3.1.0", "{krate}");
        let documented: BTreeSet<String> =
            doc["paths"].as_object().unwrap().keys().cloned().collect();
        let routed = routed_paths(krate);
        assert!(routed.len() >= 5, "{krate}: found only {routed:?}");
        let missing: Vec<_> = routed
            .iter()
            .chain(shared.iter())
            .filter(|p| !documented.contains(*p))
            .collect();
        assert!(
            missing.is_empty(),
            "{krate} routes missing from its document: {missing:?}"
        );

        // Every documented operation reaches a handler: the router's own
        // 404 ("No such endpoint") and 405 never come back.
        for (path, item) in doc["paths"].as_object().unwrap() {
            let url = format!(
                "{base}{}",
                path.replace("{id}", "00000000-0000-4000-8000-000000000000")
                    .replace("{name}", "report.txt")
                    .replace("{step}", "1")
            );
            for method in item.as_object().unwrap().keys() {
                let req = match method.as_str() {
                    "get" => client.get(&url),
                    "post" => client.post(&url).json(&serde_json::json!({})),
                    "delete" => client.delete(&url),
                    other => panic!("{krate} {path}: unexpected method {other}"),
                };
                let r = req
                    .bearer_auth(KEY)
                    .header("X-Capability-Token", "not-a-token")
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                if path == "/api/v1/tasks/{id}/events" && status == 200 {
                    continue;
                }
                let body = r.text().await.unwrap_or_default();
                assert!(
                    status != 405 && !(status == 404 && body.contains("No such endpoint")),
                    "{krate}: {method} {path} is documented but not routed ({status} {body})"
                );
            }
        }
    }

    // The rendered page and its assets are served, under a strict policy.
    let r = client
        .get(format!("http://127.0.0.1:{}/docs", ports[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(r.text().await.unwrap().contains("/docs/docs.js"));
}
