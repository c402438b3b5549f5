//! Regressions of the plan-and-policy contract, over real HTTP with the
//! fake LLM as planner and judge: screened criteria only, one reference
//! grammar for validation and resolution.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use octollm_fake_llm::{FakeLlm, FakeReply};
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

/// A criterion holding an SSN is stored, planned and judged redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn criteria_with_pii_never_reach_the_planner_or_the_judge() {
    let (db, arms) = llm_planned().await;
    let judge = FakeLlm::start().await.unwrap();
    judge.push_reply(FakeReply::json(
        &json!({"results": [{"criterion": "x", "passed": true, "reason": "it says hi"}]}),
    ));
    let o = start_orch_with_llm(arms.config(&db), openai_on(&judge)).await;
    let id = submit(
        &o.url,
        json!({"goal": "Say hi", "acceptance_criteria": ["The output greets the holder of SSN 123-45-6789"]}),
    )
    .await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    let stored = v.to_string();
    assert!(!stored.contains("123-45-6789"), "{v:#}");
    assert!(
        stored.contains("[SSN]"),
        "the criterion is kept, redacted: {v:#}"
    );
    let planner_log = arms.fake.as_ref().unwrap().requests();
    assert!(!planner_log.is_empty(), "the planner LLM was asked");
    let judge_log = judge.requests();
    assert!(!judge_log.is_empty(), "the judge was asked");
    for r in planner_log.iter().chain(judge_log.iter()) {
        let body = r.body.to_string();
        assert!(!body.contains("123-45-6789"), "{body}");
    }
    o.handle.shutdown().await;
}

/// `{{step1.output}}` (no underscore) is accepted by validation and
/// resolved by the orchestrator: the command never sees the placeholder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reference_the_planner_accepts_is_resolved() {
    let (db, arms) = llm_planned().await;
    let fake = arms.fake.as_ref().unwrap();
    fake.push_reply(FakeReply::json(&json!({"plan": [
        {"step": 1, "action": "Say a word", "required_arm": "executor",
         "tool_call": {"action_type": "shell", "command": "echo", "args": ["abcdef"]}, "depends_on": []},
        {"step": 2, "action": "Count its bytes", "required_arm": "executor",
         "tool_call": {"action_type": "shell", "command": "wc", "args": ["-c"], "stdin": "{{step1.output}}"},
         "depends_on": [1]}],
        "rationale": "x", "confidence": 0.9})));
    let o = start_orch(arms.config(&db)).await;
    let id = submit(&o.url, json!({"goal": "Count the bytes of a word"})).await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    // "abcdef\n" is 7 bytes; the literal placeholder would be 16.
    assert_eq!(v["result"]["output"].as_str().unwrap().trim(), "7", "{v:#}");
    o.handle.shutdown().await;
}

/// A plan step naming an arm nobody registered is refused by validation,
/// never sent to the executor.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_step_on_an_unknown_arm_is_refused() {
    let (db, arms) = llm_planned().await;
    let fake = arms.fake.as_ref().unwrap();
    let bad = json!({"plan": [
        {"step": 1, "action": "Teleport", "required_arm": "teleporter",
         "tool_call": {"action_type": "shell", "command": "echo", "args": ["beam"]}, "depends_on": []}],
        "rationale": "x", "confidence": 0.9});
    for _ in 0..3 {
        fake.push_reply(FakeReply::json(&bad));
    }
    let o = start_orch(arms.config(&db)).await;
    let id = submit(&o.url, json!({"goal": "Teleport me"})).await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "failed", "{v:#}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("teleporter"), "{v:#}");
    assert!(
        v["steps"].as_array().is_none_or(|s| s.is_empty()),
        "nothing ran: {v:#}"
    );
    o.handle.shutdown().await;
}
