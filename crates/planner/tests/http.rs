//! The planner service over real loopback HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::routing::get;
use axum::{Json, Router};
use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_planner::{app, LlmConfig, PlannerConfig};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use octollm_testkit::http::{
    assert_metric_families, client, send_json, send_json_or_null, send_text,
};
use serde_json::{json, Value};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = octollm_server::serve(listener, router, std::future::pending()).await;
    });
    format!("http://{addr}")
}

async fn start(cfg: PlannerConfig, llm: LlmConfig) -> String {
    let opts = ServiceOptions {
        body_limit: 64 * 1024,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new("planner"),
    };
    serve(app(cfg, llm, opts).await.unwrap()).await
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    send_json_or_null(client().post(format!("{base}{path}")).json(&body)).await
}

async fn plan(base: &str, body: Value) -> (u16, Value) {
    post(base, "/api/v1/plan", body).await
}

#[tokio::test]
async fn plans_validates_and_caches() {
    let base = start(PlannerConfig::default(), LlmConfig::default()).await;
    let (status, body) = plan(&base, json!({"goal": "List files in /tmp and count them"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["planner"], "builtin");
    assert_eq!(body["cached"], false);
    let steps = body["plan"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        steps[0]["tool_call"],
        json!({"action_type": "shell", "command": "ls", "args": ["-1", "/tmp"]})
    );
    assert_eq!(steps[1]["tool_call"]["command"], "wc");
    assert_eq!(steps[1]["tool_call"]["stdin"], "{{step_1.output}}");
    assert_eq!(steps[1]["depends_on"], json!([1]));
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0})
    );

    let (status, again) = post(
        &base,
        "/plan",
        json!({"goal": "List files in /tmp and count them"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["cached"], true);
    assert_eq!(again["plan"], body["plan"]);

    let (_, with_criteria) = plan(
        &base,
        json!({"goal": "Echo 'deploy ok'", "acceptance_criteria": ["Output contains 'ok'"]}),
    )
    .await;
    // The criterion rides on the step whose output it judges; checking it
    // is the orchestrator's job, not an extra grep step's.
    let steps = with_criteria["plan"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{with_criteria}");
    assert_eq!(steps[0]["tool_call"]["command"], "echo");
    assert_eq!(
        steps[0]["acceptance_criteria"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "Output contains 'ok'"
    );
}

#[tokio::test]
async fn bad_input_gets_clear_4xx() {
    let base = start(PlannerConfig::default(), LlmConfig::default()).await;
    let cases = [
        (json!({"goal": ""}), 400, "EMPTY_GOAL"),
        (json!({"goal": "   "}), 400, "EMPTY_GOAL"),
        (json!({"goal": "x".repeat(10_001)}), 400, "GOAL_TOO_LONG"),
        (json!({"goal": 5}), 422, "VALIDATION_ERROR"),
        (
            json!({"goal": "echo hi", "constraints": "one"}),
            422,
            "VALIDATION_ERROR",
        ),
        (json!({"constraints": []}), 422, "VALIDATION_ERROR"),
        (
            json!({"goal": "echo hi", "available_arms": ["telepathy"]}),
            400,
            "NO_KNOWN_ARMS",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = plan(&base, body.clone()).await;
        assert_eq!(
            (s, b["error"]["code"].as_str().unwrap()),
            (status, code),
            "{body}: {b}"
        );
        assert!(b["request_id"].is_string());
    }
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/plan"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/plan"))
        .body(vec![b'x'; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
}

#[tokio::test]
async fn unsupported_goals_are_refused_not_invented() {
    let base = start(PlannerConfig::default(), LlmConfig::default()).await;
    for goal in [
        "Write a poem about the sea",
        "Delete all files in /tmp",
        "List files in /tmp owned by root",
        "echo hi > /etc/motd",
    ] {
        let (status, body) = plan(&base, json!({"goal": goal})).await;
        assert_eq!(status, 422, "{goal}: {body}");
        assert_eq!(body["error"]["code"], "PLANNER_UNSUPPORTED_GOAL");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("LLM provider is needed"));
    }
    // A host outside the allowlist is a validation failure naming step and rule.
    let (status, body) = plan(
        &base,
        json!({"goal": "Fetch https://internal.corp/secrets"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "PLAN_VALIDATION_FAILED");
    assert_eq!(
        body["error"]["details"]["issues"][0]["rule"],
        "http_host_not_allowed"
    );
    assert_eq!(body["error"]["details"]["issues"][0]["step"], 1);
}

#[tokio::test]
async fn validates_against_the_executors_reported_allowlist() {
    let executor = serve(Router::new().route(
        "/api/v1/capabilities",
        get(|| async { Json(json!({"allowed_commands": ["echo", "ls", "date"], "allowed_hosts": ["example.com"]})) }),
    ))
    .await;
    let cfg = PlannerConfig {
        executor_url: executor,
        ..PlannerConfig::default()
    };
    let base = start(cfg, LlmConfig::default()).await;
    let (status, body) = plan(&base, json!({"goal": "List files in /tmp and count them"})).await;
    assert_eq!(status, 422, "{body}");
    let issue = &body["error"]["details"]["issues"][0];
    assert_eq!(
        (issue["step"].as_u64(), issue["rule"].as_str()),
        (Some(2), Some("command_not_allowed"))
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("step 2 [command_not_allowed]: command 'wc'"));
    let (_, caps) = send_json(client().get(format!("{base}/api/v1/capabilities"))).await;
    assert_eq!(caps["allowed_commands"], json!(["date", "echo", "ls"]));
    assert_eq!(caps["allowlist_source"], "executor");
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
}

#[tokio::test]
async fn not_ready_while_the_executor_is_down() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let base = start(
        PlannerConfig {
            executor_url: url,
            ..PlannerConfig::default()
        },
        LlmConfig::default(),
    )
    .await;
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let (_, health) = send_json(client().get(format!("{base}/health"))).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["executor"], "unreachable");
    // Planning still works against the configured copy of the allowlist.
    let (status, _) = plan(&base, json!({"goal": "Show the date"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn llm_plans_carry_usage_and_fall_back_to_builtin() {
    let fake = FakeLlm::start().await.unwrap();
    let llm = LlmConfig {
        provider: "anthropic".into(),
        base_url: fake.anthropic_base_url(),
        model: "claude-3-5-haiku-latest".into(),
        api_key: "ak".into(),
        max_retries: 0,
        ..LlmConfig::default()
    };
    let base = start(PlannerConfig::default(), llm).await;
    let reply = json!({"plan": [{"step": 1, "action": "Say hi", "required_arm": "executor",
        "tool_call": {"action_type": "shell", "command": "echo", "args": ["hi"]}, "depends_on": []}],
        "rationale": "trivial", "confidence": 0.95, "complexity_score": 0.1});
    // A model that answers the forced tool with fenced text instead (some
    // compatible servers do) is still read.
    fake.push_reply(
        FakeReply::text(format!("```json\n{reply}\n```"))
            .as_text()
            .usage(1000, 200),
    );
    let (status, body) = plan(&base, json!({"goal": "Greet the user"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["planner"], "anthropic:claude-3-5-haiku-latest");
    assert_eq!(body["usage"]["prompt_tokens"], 1000);
    assert!(body["usage"]["cost_usd"].as_f64().unwrap() > 0.0);
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert!(sent.system().unwrap().contains("Allowed programs"));
    assert!(sent
        .last_user_text()
        .unwrap()
        .contains("Goal: Greet the user"));

    // The provider is down: the built-in planner answers what it can...
    fake.set_default_reply(Some(FakeReply::error(503, "overloaded")));
    let (status, body) = plan(&base, json!({"goal": "Show the date"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["planner"], "builtin");
    assert!(body["rationale"]
        .as_str()
        .unwrap()
        .contains("LLM planning failed"));
    // ...and says so clearly when it cannot.
    let (status, body) = plan(&base, json!({"goal": "Write a haiku about octopuses"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "LLM_UNAVAILABLE");
}

#[tokio::test]
async fn capabilities_health_and_metrics() {
    let base = start(PlannerConfig::default(), LlmConfig::default()).await;
    let (_, caps) = send_json(client().get(format!("{base}/api/v1/capabilities"))).await;
    assert_eq!(caps["allowed_commands"].as_array().unwrap().len(), 12);
    assert_eq!(caps["allowlist_source"], "config");
    assert_eq!(caps["forbidden_arguments"]["find"][0]["option"], "-exec");
    assert_eq!(caps["forbidden_arguments"]["find"][0]["effect"], "refused");
    assert_eq!(
        caps["forbidden_arguments"]["sort"][0]["capability"],
        "shell_write"
    );
    assert_eq!(
        (caps["min_steps"].as_u64(), caps["max_steps"].as_u64()),
        (Some(1), Some(7))
    );
    let (_, health) = send_json(client().get(format!("{base}/health"))).await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["cache"], "memory");
    assert_eq!(
        reqwest::get(format!("{base}/ready"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let _ = plan(&base, json!({"goal": "Show the date"})).await;
    let (_, metrics) = send_text(client().get(format!("{base}/metrics"))).await;
    assert_metric_families(&metrics, 10);
    assert!(
        metrics.contains("octollm_planner_plans_total{planner=\"builtin\",outcome=\"success\"} 1")
    );
}

#[tokio::test]
async fn step_bounds_are_one_setting_away() {
    let cfg = PlannerConfig {
        min_steps: 3,
        ..PlannerConfig::default()
    };
    let base = start(cfg, LlmConfig::default()).await;
    let (status, body) = plan(&base, json!({"goal": "Show the date"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"]["issues"][0]["rule"], "step_count");
}
