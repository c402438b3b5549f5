//! The checks the real APIs make on tool definitions and tool turns, so a
//! client that gets either tool-call wire format wrong fails here as it
//! would against the real service.

use std::collections::HashSet;

use serde_json::Value;

use crate::record::{Api, RecordedRequest};

/// The first problem with the request's tools, tool choice or tool turns.
pub(crate) fn check(r: &RecordedRequest) -> Option<String> {
    let offered = match offered(r) {
        Ok(o) => o,
        Err(problem) => return Some(problem),
    };
    if let Some(choice) = r.body.get("tool_choice") {
        let Some(offered) = &offered else {
            return Some("tool_choice: requires tools to be specified".into());
        };
        if let Some(problem) = check_choice(r.api, choice, offered) {
            return Some(problem);
        }
    }
    match r.api {
        Api::OpenAi => openai_turns(&r.messages()),
        Api::Anthropic => anthropic_turns(&r.messages()),
    }
}

/// The names of the tools defined (`None` without a `tools` field), or
/// what is wrong with a definition.
fn offered(r: &RecordedRequest) -> Result<Option<HashSet<String>>, String> {
    let Some(tools) = r.body.get("tools") else {
        return Ok(None);
    };
    let tools = tools.as_array().ok_or("tools: must be an array")?;
    let mut names = HashSet::new();
    for (i, t) in tools.iter().enumerate() {
        let (name, schema) = match r.api {
            Api::OpenAi => {
                if t.get("type").and_then(Value::as_str) != Some("function") {
                    return Err(format!("tools[{i}].type: must be 'function'"));
                }
                (
                    t.pointer("/function/name"),
                    t.pointer("/function/parameters"),
                )
            }
            Api::Anthropic => (t.get("name"), t.get("input_schema")),
        };
        let name = name
            .and_then(Value::as_str)
            .filter(|n| valid_name(n))
            .ok_or_else(|| format!("tools[{i}]: name must match ^[a-zA-Z0-9_-]{{1,64}}$"))?;
        let schema_ok = match r.api {
            Api::OpenAi => schema.is_none_or(Value::is_object),
            Api::Anthropic => schema.is_some_and(Value::is_object),
        };
        if !schema_ok {
            return Err(format!("tools[{i}]: the schema must be an object"));
        }
        names.insert(name.to_string());
    }
    Ok(Some(names))
}

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// What is wrong with `tool_choice`, if anything.
fn check_choice(api: Api, choice: &Value, offered: &HashSet<String>) -> Option<String> {
    let named = match (api, choice) {
        (Api::OpenAi, Value::String(s)) => {
            return (!matches!(s.as_str(), "none" | "auto" | "required"))
                .then(|| format!("tool_choice: unknown value '{s}'"));
        }
        (Api::OpenAi, Value::Object(_)) => choice.pointer("/function/name"),
        (Api::Anthropic, Value::Object(_)) => match choice.get("type").and_then(Value::as_str) {
            Some("auto" | "any" | "none") => return None,
            Some("tool") => choice.get("name"),
            _ => return Some("tool_choice.type: unknown value".into()),
        },
        _ => return Some("tool_choice: malformed".into()),
    };
    match named.and_then(Value::as_str) {
        Some(n) if offered.contains(n) => None,
        Some(n) => Some(format!("tool_choice: no tool named '{n}' was given")),
        None => Some("tool_choice: the tool's name is missing".into()),
    }
}

/// Every `tool` message answers a call an earlier assistant turn made.
fn openai_turns(messages: &[Value]) -> Option<String> {
    let mut calls = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("assistant") => {
                for c in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = c.get("id").and_then(Value::as_str).unwrap_or("");
                    let args = c.pointer("/function/arguments");
                    if id.is_empty() || !args.is_some_and(Value::is_string) {
                        return Some(format!(
                            "messages[{i}].tool_calls: each needs an id and string arguments"
                        ));
                    }
                    calls.insert(id.to_string());
                }
            }
            Some("tool") => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                if !calls.contains(id) {
                    return Some(format!(
                        "messages[{i}]: a 'tool' message must answer a preceding tool call (tool_call_id '{id}')"
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// Every `tool_result` answers a `tool_use` of the assistant turn right
/// before it.
fn anthropic_turns(messages: &[Value]) -> Option<String> {
    let mut previous_uses: HashSet<String> = HashSet::new();
    for (i, m) in messages.iter().enumerate() {
        let blocks: &[Value] = m
            .get("content")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let mut uses = HashSet::new();
        for b in blocks {
            match b.get("type").and_then(Value::as_str) {
                Some("tool_use") => {
                    let id = b.get("id").and_then(Value::as_str).unwrap_or("");
                    if id.is_empty() || !b.get("input").is_some_and(Value::is_object) {
                        return Some(format!(
                            "messages[{i}]: tool_use blocks need an id and an object input"
                        ));
                    }
                    uses.insert(id.to_string());
                }
                Some("tool_result") => {
                    let id = b.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
                    if !previous_uses.contains(id) {
                        return Some(format!(
                            "messages[{i}]: tool_result block(s) provided when previous message does not have a matching tool_use ('{id}')"
                        ));
                    }
                }
                _ => {}
            }
        }
        previous_uses = uses;
    }
    None
}
