//! Planning through native tool calls, in both wire formats: the model's
//! plan arrives as the arguments of a forced `submit_plan` call; a refused
//! call is answered as a tool result and repaired; a provider that does not
//! take tools is asked in JSON mode instead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use octollm_fake_llm::{content_text, Api, FakeLlm, FakeReply};
use octollm_planner::{LlmConfig, Planner, PlannerConfig};
use octollm_server::MetricsRegistry;
use octollm_types::plan::{PlanRequest, ToolCall};
use serde_json::{json, Value};

fn plan_with(command: &str, args: &[&str]) -> Value {
    json!({"plan": [{"step": 1, "action": "Say hello", "required_arm": "executor",
        "tool_call": {"action_type": "shell", "command": command, "args": args,
                      "stdin": null, "method": null, "url": null},
        "acceptance_criteria": null, "depends_on": [], "estimated_cost_tier": 1,
        "estimated_duration_seconds": null}],
        "rationale": "one echo", "confidence": 0.9, "complexity_score": 0.1,
        "total_estimated_duration": null})
}

async fn planner(fake: &FakeLlm, api: Api) -> Planner {
    let llm = match api {
        Api::OpenAi => LlmConfig {
            provider: "openai".into(),
            base_url: fake.openai_base_url(),
            model: "gpt-4o-mini".into(),
            api_key: "sk-test".into(),
            max_retries: 0,
            ..LlmConfig::default()
        },
        Api::Anthropic => LlmConfig {
            provider: "anthropic".into(),
            base_url: fake.anthropic_base_url(),
            model: "claude-3-5-haiku-latest".into(),
            api_key: "ak".into(),
            max_retries: 0,
            ..LlmConfig::default()
        },
    };
    let cfg = PlannerConfig {
        mode: "llm".into(),
        cache_enabled: false,
        ..PlannerConfig::default()
    };
    Planner::new(cfg, llm, &MetricsRegistry::new("planner"))
        .await
        .unwrap()
}

fn greet() -> PlanRequest {
    PlanRequest {
        goal: "Say hello to the user".into(),
        ..PlanRequest::default()
    }
}

/// The model first calls the tool with a command the executor refuses,
/// then repairs the call once told why.
async fn invalid_call_then_repair(api: Api) {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_replies([
        FakeReply::json(&plan_with("bash", &["-c", "echo hello"])).usage(500, 80),
        FakeReply::json(&plan_with("echo", &["hello"])).usage(700, 60),
    ]);
    let p = planner(&fake, api).await;
    let out = p
        .plan(&greet())
        .await
        .expect("the repaired call is accepted");
    assert_eq!(
        out.plan.plan[0].tool_call,
        Some(ToolCall::Shell {
            command: "echo".into(),
            args: vec!["hello".into()],
            stdin: None
        })
    );
    assert_eq!(out.plan.usage.prompt_tokens, 1200, "both rounds are billed");

    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        assert_eq!(r.forced_tool(), Some("submit_plan"));
        assert_eq!(r.tool_names(), vec!["submit_plan".to_string()]);
        assert!(r.response_format().is_none(), "tools, not JSON mode");
    }
    // The second request replays the refused call and answers it with the
    // reason; the fake answers 400 unless the ids pair up as the API needs.
    let turns = sent[1].messages();
    let (call, answer) = (&turns[turns.len() - 2], &turns[turns.len() - 1]);
    let reason = content_text(answer);
    assert!(reason.contains("command_not_allowed"), "{reason}");
    assert!(
        reason.contains("calling the `submit_plan` tool"),
        "{reason}"
    );
    match api {
        Api::OpenAi => {
            assert_eq!(call["role"], "assistant");
            let refused: Value = serde_json::from_str(
                call["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(refused["plan"][0]["tool_call"]["command"], "bash");
            assert_eq!(answer["role"], "tool");
            assert_eq!(answer["tool_call_id"], call["tool_calls"][0]["id"]);
            assert_eq!(sent[0].body["tools"][0]["function"]["strict"], true);
            assert_eq!(sent[0].body["parallel_tool_calls"], false);
        }
        Api::Anthropic => {
            let use_block = &call["content"][0];
            assert_eq!(use_block["type"], "tool_use");
            assert_eq!(
                use_block["input"]["plan"][0]["tool_call"]["command"],
                "bash"
            );
            let result = &answer["content"][0];
            assert_eq!(answer["role"], "user");
            assert_eq!(result["type"], "tool_result");
            assert_eq!(result["tool_use_id"], use_block["id"]);
            assert_eq!(result["is_error"], true);
            assert!(sent[0].body["tools"][0]["input_schema"].is_object());
        }
    }
}

#[tokio::test]
async fn openai_invalid_tool_call_is_repaired() {
    invalid_call_then_repair(Api::OpenAi).await;
}

#[tokio::test]
async fn anthropic_invalid_tool_use_is_repaired() {
    invalid_call_then_repair(Api::Anthropic).await;
}

/// An OpenAI-compatible server without tool support answers 400; the
/// client asks again in JSON mode with the same schema, and goes straight
/// to JSON mode afterwards.
#[tokio::test]
async fn a_provider_without_tools_is_asked_in_json_mode() {
    let fake = FakeLlm::start().await.unwrap();
    fake.refuse_tools("registry.ollama.ai/library/gemma:2b does not support tools");
    fake.push_replies([
        FakeReply::json(&plan_with("echo", &["hello"])),
        FakeReply::json(&plan_with("echo", &["again"])),
    ]);
    let p = planner(&fake, Api::OpenAi).await;
    let first = p.plan(&greet()).await.expect("planned in JSON mode");
    assert_eq!(first.plan.plan.len(), 1);
    let mut second = greet();
    second.goal = "Say hello once more".into();
    p.plan(&second).await.expect("planned in JSON mode again");

    let sent = fake.requests();
    assert_eq!(sent.len(), 3, "one refused request, then two in JSON mode");
    assert!(sent[0].body.get("tools").is_some());
    for r in &sent[1..] {
        assert!(r.body.get("tools").is_none());
        assert_eq!(r.response_format().unwrap()["type"], "json_object");
    }
}

/// A malformed call (arguments that are not JSON) is refused with the
/// reply-format rule and repaired like any other.
#[tokio::test]
async fn arguments_that_are_not_json_are_repaired() {
    let fake = FakeLlm::start().await.unwrap();
    fake.push_replies([
        FakeReply::text("{\"plan\": [{\"step\": 1,"),
        FakeReply::json(&plan_with("echo", &["hello"])),
    ]);
    let p = planner(&fake, Api::OpenAi).await;
    p.plan(&greet()).await.expect("repaired");
    let sent = fake.requests();
    let reason = content_text(sent[1].messages().last().unwrap());
    assert!(reason.contains("reply_format"), "{reason}");
}
