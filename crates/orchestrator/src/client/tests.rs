//! The client against a scripted server (SSE chunking, envelopes) and
//! against the real task API on SQLite (typed answers, auth, 404s).

use super::*;
use axum::routing::{get, post};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

fn event(seq: u64, kind: &str, goal_text: &str) -> String {
    let ev = serde_json::json!({"seq": seq, "task_id": "t", "kind": kind,
        "status": "executing", "step": 1, "data": {"action": goal_text}, "at": "now"});
    format!("event: {kind}\nid: {seq}\ndata: {ev}\n\n")
}

#[test]
fn parses_sse_blocks() {
    let block = "event: step.started\nid: 3\ndata: {\"seq\":3,\"task_id\":\"t\",\"kind\":\"step.started\",\"status\":\"executing\",\"step\":1,\"data\":{\"action\":\"x\"},\"at\":\"now\"}\n\n";
    let ev = parse_sse_block(block).unwrap();
    assert_eq!(ev.kind, "step.started");
    assert_eq!(ev.step, Some(1));
    assert!(parse_sse_block(": keep-alive\n\n").is_none());
}

#[tokio::test]
async fn events_survive_split_chunks_and_end_with_the_task() {
    // Blocks cut mid-way, inside a multi-byte character, with a
    // keep-alive between them and noise after the last event.
    let text = format!(
        "{}: keep-alive\n\n{}{}",
        event(1, "step.started", "café ✓"),
        event(2, "task.completed", "done"),
        event(3, "step.started", "never read")
    );
    let bytes = text.into_bytes();
    let cut = bytes.iter().position(|b| *b == 0xc3).unwrap() + 1;
    let router = axum::Router::new().route(
        "/api/v1/tasks/{id}/events",
        get(move || {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
                Ok(bytes[..cut].to_vec()),
                Ok(bytes[cut..cut + 40].to_vec()),
                Ok(bytes[cut + 40..].to_vec()),
            ];
            async move { axum::body::Body::from_stream(futures_util::stream::iter(chunks)) }
        }),
    );
    let client = OrchestratorClient::new(&serve(router).await).unwrap();
    let mut events = client.events("t").await.unwrap();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(
        (first.seq, first.data["action"].as_str()),
        (1, Some("café ✓"))
    );
    let last = events.next().await.unwrap().unwrap();
    assert_eq!(last.kind, "task.completed");
    assert!(events.next().await.unwrap().is_none());
}

#[tokio::test]
async fn submit_sends_the_contract_and_keeps_error_envelopes() {
    let router = axum::Router::new().route(
        "/api/v1/tasks",
        post(|axum::Json(c): axum::Json<TaskContract>| async move {
            if c.goal == "evil" {
                let body = serde_json::json!({"error": {"code": "INJECTION_DETECTED",
                    "message": "no", "details": {"injections": [{"category": "x"}]}},
                    "request_id": "r1"});
                (StatusCode::BAD_REQUEST, axum::Json(body))
            } else if c.goal == "teapot" {
                (
                    StatusCode::IM_A_TEAPOT,
                    axum::Json(serde_json::json!("short and stout")),
                )
            } else {
                let body = serde_json::json!({"task_id": c.goal, "status": "pending",
                    "message": format!("{}", c.budget.max_time_seconds)});
                (StatusCode::ACCEPTED, axum::Json(body))
            }
        }),
    );
    let client = OrchestratorClient::new(&format!("{}/", serve(router).await)).unwrap();
    let mut contract: TaskContract =
        serde_json::from_value(serde_json::json!({"goal": "ok"})).unwrap();
    contract.budget.max_time_seconds = 7;
    let accepted = client.submit(&contract).await.unwrap();
    assert_eq!(
        (accepted.task_id.as_str(), accepted.message.as_str()),
        ("ok", "7")
    );
    contract.goal = "evil".into();
    let e = client.submit(&contract).await.unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("INJECTION_DETECTED"))
    );
    assert_eq!(e.to_string(), "INJECTION_DETECTED: no");
    let env = e.envelope().unwrap();
    assert_eq!(env.request_id, "r1");
    assert_eq!(env.error.details["injections"][0]["category"], "x");
    contract.goal = "teapot".into();
    let e = client.submit(&contract).await.unwrap_err();
    assert!(
        matches!(e, ClientError::Status { status: 418, ref body } if body.contains("stout")),
        "{e:?}"
    );
}

#[tokio::test]
async fn talks_to_the_real_api() {
    let dir = std::env::temp_dir().join(format!("octollm-client-{}", uuid::Uuid::new_v4()));
    let config = crate::OrchestratorConfig {
        data_dir: dir.to_string_lossy().into_owned(),
        reflex_url: "http://127.0.0.1:9".into(),
        planner_url: "http://127.0.0.1:9".into(),
        executor_url: "http://127.0.0.1:9".into(),
        workers: 1,
        ..Default::default()
    };
    let opts = ServiceOptions {
        body_limit: 64 * 1024,
        api_keys: ApiKeys::new(["k1".to_string()]),
        metrics: MetricsRegistry::new("orchestrator"),
    };
    let (router, handle) = crate::app(config, opts).await.unwrap();
    let url = serve(router).await;
    let anonymous = OrchestratorClient::new(&url).unwrap();
    let e = anonymous.list(None, None, None).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let client = OrchestratorClient::new(&url)
        .unwrap()
        .with_api_key("k1")
        .with_timeout(Duration::from_secs(10));
    assert!(client.health().await.unwrap().get("status").is_some());
    let page = client.list(Some("pending"), Some(5), None).await.unwrap();
    assert!(page.tasks.is_empty() && page.next_cursor.is_none());
    let e = client.list(Some("nope"), None, None).await.unwrap_err();
    assert_eq!(e.code(), Some("INVALID_STATUS"));
    let missing = uuid::Uuid::new_v4().to_string();
    for e in [
        client.get(&missing).await.unwrap_err(),
        client.cancel(&missing).await.unwrap_err(),
        client.events(&missing).await.err().unwrap(),
    ] {
        assert_eq!(
            (e.status(), e.code()),
            (Some(404), Some("NOT_FOUND")),
            "{e}"
        );
    }
    // An id is one path segment, whatever it contains.
    let e = client.get("a/../b?c").await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    handle.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn tells_unreachable_from_invalid() {
    let e = OrchestratorClient::new("http://127.0.0.1:9")
        .unwrap()
        .health()
        .await
        .unwrap_err();
    assert!(e.is_unreachable(), "{e:?}");
    assert!(e
        .to_string()
        .starts_with("cannot reach the orchestrator at http://127.0.0.1:9:"));
    for bad in ["127.0.0.1:8000", "ftp://x", "nonsense"] {
        assert!(matches!(
            OrchestratorClient::new(bad),
            Err(ClientError::InvalidUrl { .. })
        ));
    }
}
