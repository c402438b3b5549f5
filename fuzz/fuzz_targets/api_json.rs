//! The JSON body extractor (`ApiJson`) of every service, on any body and
//! content type, through the layers every service shares (`finish`):
//! request ids, the error envelope, panic containment, the body limit.
//!
//! Requests go to a router in this process (`oneshot`, no network) with
//! one route per request type the services read with `ApiJson`, at any
//! path and with any method and content type. Every
//! answer is a 2xx with the body read back, or a 4xx in the error
//! envelope; never a 5xx. What is read back serialises and reads again
//! to the same value.

#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use octollm_server::{finish, ApiJson, ApiKeys, MetricsRegistry, ServiceOptions};
use octollm_types::exec::WorkspaceInputs;
use octollm_types::orchestrator::PurgeRequest;
use octollm_types::plan::PlanRequest;
use octollm_types::reflex::{BatchRequest, ProcessRequest, RestoreRequest};
use octollm_types::task::TaskContract;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

/// Small, so that bodies over the limit are reached too.
const BODY_LIMIT: usize = 2048;

const PATHS: [&str; 7] = [
    "/process",
    "/restore",
    "/batch",
    "/plan",
    "/tasks",
    "/purge",
    "/workspace",
];

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

static ROUTER: LazyLock<Router> = LazyLock::new(|| {
    let routes = OpenApiRouter::new()
        .route(PATHS[0], post(echo::<ProcessRequest>))
        .route(PATHS[1], post(echo::<RestoreRequest>))
        .route(PATHS[2], post(echo::<BatchRequest>))
        .route(PATHS[3], post(echo::<PlanRequest>))
        .route(PATHS[4], post(echo::<TaskContract>))
        .route(PATHS[5], post(echo::<PurgeRequest>))
        .route(PATHS[6], post(echo::<WorkspaceInputs>));
    finish(
        routes,
        ServiceOptions {
            body_limit: BODY_LIMIT,
            api_keys: ApiKeys::default(),
            metrics: MetricsRegistry::new("fuzz"),
        },
    )
});

/// Answers with what was read, after checking that it reads back the same.
async fn echo<T: Serialize + DeserializeOwned>(ApiJson(body): ApiJson<T>) -> Response {
    let value = serde_json::to_value(&body).expect("a request body serialises");
    let again: T = serde_json::from_value(value.clone()).expect("what was read reads again");
    assert_eq!(
        serde_json::to_value(&again).expect("serialises"),
        value,
        "reading back changed the body"
    );
    axum::Json(value).into_response()
}

// The input is a request: a line `METHOD PATH [CONTENT-TYPE]`, then the
// body's bytes.
fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut words = head.splitn(3, ' ');
    let method =
        Method::from_bytes(words.next().unwrap_or_default().as_bytes()).unwrap_or(Method::POST);
    let path = words.next().unwrap_or_default().to_string();
    let mut req = Request::builder().method(method).uri(path.as_str());
    if let Some(ct) = words.next().and_then(|c| HeaderValue::from_str(c).ok()) {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    // Not a request line an HTTP server would pass on.
    let Ok(req) = req.body(Body::from(body.to_vec())) else {
        return;
    };
    let (status, headers, body) = RUNTIME.block_on(async {
        let res = ROUTER.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("a body").to_bytes();
        (parts.status, parts.headers, bytes)
    });
    assert!(
        !status.is_server_error(),
        "answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if !status.is_client_error() {
        if status.is_success() && PATHS.contains(&path.as_str()) {
            let _: Value = serde_json::from_slice(&body).expect("a body read back is JSON");
        }
        return;
    }
    let json: Value = serde_json::from_slice(&body).expect("every error is JSON");
    assert_eq!(
        headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes),
        Some(&b"application/json"[..])
    );
    let code = json["error"]["code"].as_str().unwrap_or_default();
    let message = json["error"]["message"].as_str().unwrap_or_default();
    let id = json["request_id"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty() && !message.is_empty() && !id.is_empty(),
        "{status} without the error envelope: {json}"
    );
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some(id)
    );
});
