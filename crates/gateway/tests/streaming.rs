//! Streamed answers through the gateway: the provider's deltas screened in
//! a sliding window and sent on as they come, placeholders restored across
//! delta boundaries, every ending charged and audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_gateway::GatewayConfig;
use serde_json::{json, Value};

/// A streamed request read as it arrives: each network read with when it
/// came, relative to the request.
async fn stream(url: &str, body: Value, key: Option<&str>) -> (u16, Vec<(Duration, String)>) {
    let started = Instant::now();
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let mut res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let mut reads = Vec::new();
    while let Some(bytes) = res.chunk().await.unwrap() {
        reads.push((
            started.elapsed(),
            String::from_utf8(bytes.to_vec()).unwrap(),
        ));
    }
    (status, reads)
}

fn all(reads: &[(Duration, String)]) -> String {
    reads.iter().map(|(_, s)| s.as_str()).collect()
}

/// The text deltas of an OpenAI-shaped stream.
fn openai_texts(sse: &str) -> Vec<String> {
    data_lines(sse)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty())
        .collect()
}

fn streamed(text: &str) -> Value {
    let mut body = chat(text);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body
}

/// About `n` characters of ordinary prose.
fn prose(n: usize) -> String {
    let words = [
        "the", "deploy", "finished", "and", "every", "check", "passed", "before", "noon", "so",
        "we", "moved", "on",
    ];
    let mut out = String::new();
    let mut i = 0;
    while out.len() < n {
        out.push_str(words[i % words.len()]);
        out.push(' ');
        i += 1;
    }
    out
}

#[tokio::test]
async fn the_answer_arrives_while_the_provider_is_still_writing_it() {
    let fake = FakeLlm::start().await.unwrap();
    fake.set_responder(|r| {
        Some(
            FakeReply::text(format!(
                "You said: {}",
                r.last_user_text().unwrap_or_default()
            ))
            .chunked(3, Duration::from_millis(3)),
        )
    });
    let base = gateway(&fake, "openai", GatewayConfig::default()).await;
    let said = format!(
        "{} my SSN is {SSN} and {} once more {SSN}.",
        prose(200),
        prose(300)
    );
    let (status, reads) = stream(
        &format!("{base}/v1/chat/completions"),
        streamed(&said),
        None,
    )
    .await;
    let sse = all(&reads);
    assert_eq!(status, 200, "{sse}");
    let texts = openai_texts(&sse);
    assert!(texts.len() >= 3, "{texts:?}");
    assert_eq!(texts.concat(), format!("You said: {said}"));
    // The SSN left as a placeholder, cut by the fake between deltas, and
    // came back whole.
    assert!(!upstream_log(&fake).contains(SSN));
    assert!(upstream_log(&fake).contains("[SSN_1]"));
    // Text reached the client long before the provider's last delta.
    let first_text = reads
        .iter()
        .find(|(_, s)| !openai_texts(s).is_empty())
        .unwrap()
        .0;
    let last = reads.last().unwrap().0;
    assert!(
        first_text < last.mul_f64(0.7),
        "first text at {first_text:?}, stream over at {last:?}"
    );
    let usage: Value = serde_json::from_str(&data_lines(&sse)[data_lines(&sse).len() - 2]).unwrap();
    assert!(
        usage["usage"]["total_tokens"].as_u64().unwrap() > 0,
        "{usage}"
    );
}

/// What the model writes, streamed two characters at a time and in one
/// piece, comes out redacted the same way.
#[tokio::test]
async fn secrets_the_model_writes_are_redacted_as_when_not_streamed() {
    let key_body: String = (0..12)
        .map(|i| format!("MIIEowIBAAKCAQEA{i:02}x7Qv9bP2mN4kL8sT3wR6yU1zA5cD0eF\n"))
        .collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{key_body}-----END RSA PRIVATE KEY-----");
    let answers = [
        format!(
            "Use the key AKIA2E0A8F3B244C9986 in {} and mail ops@example.com.",
            prose(150)
        ),
        format!(
            "{} Here it is:\n{pem}\nKeep it safe. {}",
            prose(100),
            prose(100)
        ),
        format!(
            "Call +1 415 555 0142 or pay with 4111 1111 1111 1111, {}",
            prose(300)
        ),
        format!(
            "{} token ghp_4f9K2mQ8vX1cZ7bN3aL6sD0pW5eR8tY2uI9o done",
            prose(140)
        ),
    ];
    for policy in ["all", "secrets"] {
        let fake = FakeLlm::start().await.unwrap();
        let config = GatewayConfig {
            response_redaction: policy.into(),
            ..GatewayConfig::default()
        };
        let base = gateway(&fake, "openai", config).await;
        let url = format!("{base}/v1/chat/completions");
        for answer in &answers {
            fake.push_reply(FakeReply::text(answer.clone()));
            let (_, _, whole) = post(&url, chat("Go on."), None).await;
            let whole: Value = serde_json::from_str(&whole).unwrap();
            let whole = whole["choices"][0]["message"]["content"].as_str().unwrap();
            if policy == "all" {
                assert_ne!(whole, answer.as_str(), "nothing redacted");
            }

            fake.push_reply(FakeReply::text(answer.clone()).chunked(2, Duration::ZERO));
            let (status, reads) = stream(&url, streamed("Go on."), None).await;
            let texts = openai_texts(&all(&reads));
            assert_eq!(status, 200);
            assert_eq!(texts.concat(), whole, "under {policy}");
        }
    }
    // Not one line of the key's body reached the client.
    let fake = FakeLlm::start().await.unwrap();
    let base = gateway(&fake, "openai", GatewayConfig::default()).await;
    fake.push_reply(FakeReply::text(answers[1].clone()).chunked(2, Duration::ZERO));
    let (_, reads) = stream(
        &format!("{base}/v1/chat/completions"),
        streamed("Go on."),
        None,
    )
    .await;
    let got = openai_texts(&all(&reads)).concat();
    assert!(got.contains("[PRIVATE_KEY]"), "{got}");
    for line in key_body.lines() {
        assert!(!got.contains(&line[..20]), "{got}");
    }
}

#[tokio::test]
async fn with_redaction_off_deltas_flow_through_and_placeholders_are_held_whole() {
    let fake = FakeLlm::start().await.unwrap();
    echo(&fake);
    let config = GatewayConfig {
        response_redaction: "off".into(),
        ..GatewayConfig::default()
    };
    let base = gateway(&fake, "openai", config).await;
    let said = format!("SSN {SSN}, again {SSN}, mail a@b.co");
    let (_, reads) = stream(
        &format!("{base}/v1/chat/completions"),
        streamed(&said),
        None,
    )
    .await;
    let texts = openai_texts(&all(&reads));
    assert_eq!(texts.concat(), format!("You said: {said}"));
    // Three characters per upstream delta: most go straight on.
    assert!(texts.len() >= said.len() / 6, "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains('[')), "{texts:?}");
}

#[tokio::test]
async fn a_provider_failing_mid_answer_ends_the_stream_with_an_error_and_is_charged() {
    let fake = FakeLlm::start().await.unwrap();
    let dir = std::env::temp_dir().join(octollm_testkit::unique_name("gateway-stream"));
    let audit = dir.join("audit.jsonl");
    let config = GatewayConfig {
        keys: vec!["team:vk-team::400".into()],
        audit_log_path: audit.display().to_string(),
        ..GatewayConfig::default()
    };
    let base = gateway(&fake, "openai", config).await;
    let url = format!("{base}/v1/chat/completions");
    fake.push_reply(FakeReply::text(prose(2000)).cut_after(300));
    let (status, reads) = stream(&url, streamed("Write at length."), Some("vk-team")).await;
    let sse = all(&reads);
    assert_eq!(status, 200);
    assert!(
        !openai_texts(&sse).is_empty(),
        "text before the cut goes out"
    );
    let last: Value = serde_json::from_str(data_lines(&sse).last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_error", "{sse}");
    assert!(!sse.contains("[DONE]"), "{sse}");

    let records = std::fs::read_to_string(&audit).unwrap();
    let record: Value = serde_json::from_str(records.lines().last().unwrap()).unwrap();
    assert_eq!(record["outcome"], "upstream_error", "{record}");
    assert!(
        record["completion_tokens"].as_u64().unwrap() > 200,
        "{record}"
    );
    // The ~225 tokens the cut answer used count against the key's 400.
    fake.push_reply(FakeReply::text(prose(800)));
    let (status, _) = stream(&url, streamed("More."), Some("vk-team")).await;
    assert_eq!(status, 200);
    let (status, reads) = stream(&url, streamed("More."), Some("vk-team")).await;
    assert_eq!(status, 429, "{}", all(&reads));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn anthropic_events_carry_the_providers_usage() {
    let fake = FakeLlm::start().await.unwrap();
    let base = gateway(&fake, "anthropic", GatewayConfig::default()).await;
    fake.push_reply(FakeReply::text(prose(400)).usage(30, 90));
    let body = json!({"model": "claude-3-5-haiku-latest", "max_tokens": 500, "stream": true,
        "messages": [{"role": "user", "content": "Write."}]});
    let (status, reads) = stream(&format!("{base}/v1/messages"), body, None).await;
    let sse = all(&reads);
    assert_eq!(status, 200, "{sse}");
    let events: Vec<Value> = data_lines(&sse)
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "message_start");
    assert_eq!(events[0]["message"]["usage"]["input_tokens"], 30);
    let text: String = events
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, prose(400));
    let deltas = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .count();
    assert!(deltas >= 3, "{deltas}");
    let end = events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(end["usage"]["output_tokens"], 90, "{end}");
    assert_eq!(events.last().unwrap()["type"], "message_stop");
}

#[tokio::test]
async fn a_client_that_leaves_mid_answer_is_recorded_with_what_was_used() {
    let fake = FakeLlm::start().await.unwrap();
    let dir = std::env::temp_dir().join(octollm_testkit::unique_name("gateway-stream"));
    let audit = dir.join("audit.jsonl");
    let config = GatewayConfig {
        audit_log_path: audit.display().to_string(),
        ..GatewayConfig::default()
    };
    let base = gateway(&fake, "openai", config).await;
    fake.push_reply(FakeReply::text(prose(3000)).chunked(3, Duration::from_millis(5)));
    let mut res = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .json(&streamed("Write at length."))
        .send()
        .await
        .unwrap();
    let mut got = String::new();
    while openai_texts(&got).is_empty() {
        got.push_str(&String::from_utf8_lossy(
            &res.chunk().await.unwrap().unwrap(),
        ));
    }
    drop(res);
    let deadline = Instant::now() + Duration::from_secs(5);
    let record = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if let Some(line) = text.lines().last() {
            break serde_json::from_str::<Value>(line).unwrap();
        }
        assert!(Instant::now() < deadline, "no audit record");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(record["outcome"], "client_closed", "{record}");
    assert!(
        record["completion_tokens"].as_u64().unwrap() > 0,
        "{record}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
