//! The fake server's own contract: wire checks, scripting and the control API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_fake_llm::{FakeLlm, FakeReply};
use serde_json::{json, Value};

async fn post(url: String, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(url).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn enforces_wire_rules_and_replays_scripts() {
    let fake = FakeLlm::start().await.unwrap();
    let msgs = json!([{"role": "user", "content": "hi"}]);

    // Anthropic without anthropic-version is a 400 in Anthropic's envelope.
    let res = post(
        format!("{}/v1/messages", fake.url()),
        json!({"model": "m", "max_tokens": 10, "messages": msgs}),
        &[("x-api-key", "k")],
    )
    .await;
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    // Scripted replies come back in order, with their headers, in OpenAI shape.
    fake.push_reply(FakeReply::error(429, "slow down").retry_after(7));
    fake.push_reply(FakeReply::text("hello").usage(3, 1));
    let url = format!("{}/chat/completions", fake.openai_base_url());
    let body = json!({"model": "gpt-x", "messages": msgs});
    let res = post(url.clone(), body.clone(), &[]).await;
    assert_eq!(res.status().as_u16(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "rate_limit_exceeded");
    let ok: Value = post(url.clone(), body.clone(), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["choices"][0]["message"]["content"], "hello");
    assert_eq!(ok["usage"]["total_tokens"], 4);
    assert_eq!(ok["model"], "gpt-x");

    // With nothing scripted the server says so with a 500.
    assert_eq!(post(url, body, &[]).await.status().as_u16(), 500);
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn control_api_drives_an_out_of_process_server() {
    let fake = FakeLlm::start().await.unwrap();
    let queued: Value = post(
        format!("{}/_fake/replies", fake.url()),
        json!([{"content": "one"}, {"status": 503, "error_message": "busy"}]),
        &[],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(queued["queued"], 2);
    assert_eq!(fake.pending_replies(), 2);
    let body: Value = post(
        format!("{}/v1/messages", fake.url()),
        json!({"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
        &[("x-api-key", "k"), ("anthropic-version", "2023-06-01")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["content"][0]["text"], "one");
    assert_eq!(body["type"], "message");
    let recorded: Value = reqwest::get(format!("{}/_fake/requests", fake.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded[0]["api"], "anthropic");
    assert_eq!(recorded[0]["headers"]["anthropic-version"], "2023-06-01");
}

#[tokio::test]
async fn lists_models_in_each_apis_shape() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_models((0..25).map(|i| format!("model-{i}")));
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut req = reqwest::Client::new().get(format!("{}{path}", fake.url()));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };

    // OpenAI: one list object, under /v1 and without it.
    for path in ["/v1/models", "/models"] {
        let res = get(path, &[]).await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["object"], "list");
        assert_eq!(body["data"].as_array().unwrap().len(), 25);
        assert_eq!(body["data"][3]["id"], "model-3");
        assert_eq!(body["data"][3]["object"], "model");
    }

    // Anthropic: a page of 20 unless asked, with the paging fields.
    let anthropic = [("x-api-key", "k"), ("anthropic-version", "2023-06-01")];
    let body: Value = get("/v1/models", &anthropic)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 20);
    assert_eq!(body["data"][0]["type"], "model");
    assert_eq!(body["has_more"], true);
    assert_eq!(body["first_id"], "model-0");
    assert_eq!(body["last_id"], "model-19");
    let body: Value = get("/v1/models?limit=1000", &anthropic)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 25);
    assert_eq!(body["has_more"], false);

    // The same credential rules as the chat endpoints.
    let res = get("/v1/models", &[("anthropic-version", "2023-06-01")])
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = get("/v1/models", &[("x-api-key", "k")]).await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    fake.require_api_key("right");
    let res = get("/v1/models", &[("authorization", "Bearer wrong")])
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let res = get("/v1/models", &[("authorization", "Bearer right")])
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(fake.requests().iter().all(|r| r.path.ends_with("models")));
}
