//! The LLM judge for acceptance criteria no deterministic matcher can check.
//! It only ever sees the screened goal and the redacted output.

use std::time::Duration;

use octollm_llm::{ChatMessage, ChatRequest, LlmClient, ResponseFormat};
use octollm_types::orchestrator::CriterionOutcome;
use octollm_types::plan::Usage;
use serde_json::Value;

const SYSTEM: &str = "You verify whether the output of an automated task meets its acceptance \
criteria. Judge only from the output shown. Reply with one JSON object: \
{\"results\": [{\"criterion\": \"...\", \"passed\": true|false, \"reason\": \"one sentence\"}]} \
with one entry per criterion, in the order given.";

/// Longest output shown to the judge, in characters.
const MAX_OUTPUT_CHARS: usize = 8_000;

pub(crate) fn prompt(goal: &str, output: &str, criteria: &[String]) -> String {
    let shown: String = output.chars().take(MAX_OUTPUT_CHARS).collect();
    let list: Vec<String> = criteria
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}. {c}", i + 1))
        .collect();
    format!(
        "Goal: {goal}\n\nAcceptance criteria:\n{}\n\nOutput:\n<<<\n{shown}\n>>>",
        list.join("\n")
    )
}

/// Rough token count of what the judge will be sent, for the budget check
/// made before calling it.
pub(crate) fn estimate_tokens(prompt: &str) -> u64 {
    ((SYSTEM.len() + prompt.len()) / 4 + 16) as u64
}

pub(crate) async fn judge(
    client: &LlmClient,
    prompt: String,
    criteria: &[String],
    max_tokens: u32,
    timeout: Duration,
) -> Result<(Vec<CriterionOutcome>, Usage), String> {
    let mut req = ChatRequest::new(vec![ChatMessage::system(SYSTEM), ChatMessage::user(prompt)])
        .json(ResponseFormat::JsonObject);
    req.max_tokens = Some(max_tokens);
    let reply = tokio::time::timeout(timeout, client.chat(&req))
        .await
        .map_err(|_| "the LLM judge did not answer in time".to_string())?
        .map_err(|e| e.to_string())?;
    let usage = reply.usage;
    let parsed = reply.json_value().ok();
    let results = parsed
        .as_ref()
        .and_then(|v| v.get("results"))
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| parsed.clone().map(|v| vec![v]))
        .unwrap_or_default();
    let outcomes = criteria
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let r = results.get(i);
            let passed = r.and_then(|r| r.get("passed")).and_then(Value::as_bool);
            CriterionOutcome {
                criterion: c.clone(),
                method: "llm_judge".to_string(),
                passed,
                reason: r
                    .and_then(|r| r.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or(if passed.is_none() {
                        "the judge gave no verdict"
                    } else {
                        ""
                    })
                    .to_string(),
            }
        })
        .collect();
    Ok((outcomes, usage))
}
