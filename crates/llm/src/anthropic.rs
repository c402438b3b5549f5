//! Anthropic Messages API.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::wire::{
    completion, error_message, header_value, or_default, snippet, Backend, Endpoint,
    ProviderSettings,
};
use crate::{ChatMessage, ChatRequest, Completion, LlmError, ResponseFormat, Role, ToolUse};
use crate::{SseEvent, StreamState};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const DEFAULT_MODEL: &str = "claude-3-5-haiku-latest";
pub const DEFAULT_VERSION: &str = "2023-06-01";

pub struct AnthropicProvider {
    endpoint: Endpoint,
    version: String,
}

impl AnthropicProvider {
    /// `base_url` is the host root (`https://api.anthropic.com`); a root that
    /// already ends in `/v1` is accepted too. A blank `version` is
    /// [`DEFAULT_VERSION`].
    pub fn new(settings: ProviderSettings<'_>, version: &str) -> Self {
        let defaults = (DEFAULT_BASE_URL, DEFAULT_MODEL);
        AnthropicProvider {
            endpoint: Endpoint::new::<Self>(settings, defaults, |base| {
                let v1 = if base.ends_with("/v1") {
                    base.to_string()
                } else {
                    format!("{base}/v1")
                };
                // The list is paged, 20 a page unless asked; 1000 is the
                // most a page may hold.
                (format!("{v1}/messages"), format!("{v1}/models?limit=1000"))
            }),
            version: or_default(version, DEFAULT_VERSION).to_string(),
        }
    }
}

impl Backend for AnthropicProvider {
    const KIND: &'static str = "anthropic";

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn add_headers(&self, headers: &mut HeaderMap) -> Result<(), LlmError> {
        headers.insert(
            "x-api-key",
            header_value(&self.endpoint.api_key, "API key")?,
        );
        headers.insert(
            "anthropic-version",
            header_value(&self.version, "anthropic_version")?,
        );
        Ok(())
    }

    /// The Messages API has no JSON mode, so the format becomes an
    /// instruction in the system prompt; system messages move to `system`.
    fn body(&self, req: &ChatRequest) -> Value {
        let mut system: Vec<&str> = req
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let instruction;
        match &req.response_format {
            ResponseFormat::Text => {}
            ResponseFormat::JsonObject => {
                system.push("Reply with a single JSON object only: no prose, no code fences.");
            }
            ResponseFormat::JsonSchema { schema, .. } => {
                instruction = format!(
                    "Reply with a single JSON object only (no prose, no code fences) that matches this JSON Schema:\n{schema}"
                );
                system.push(&instruction);
            }
            // The tool's input schema carries the shape; nothing to add.
            ResponseFormat::Tool(_) => {}
        }
        let messages: Vec<Value> = req
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(message)
            .collect();
        let mut body = json!({
            "model": self.endpoint.model,
            "max_tokens": req.max_tokens.unwrap_or(self.endpoint.max_tokens),
            "temperature": req.temperature.unwrap_or(self.endpoint.temperature),
            "messages": messages,
        });
        if !system.is_empty() {
            body["system"] = Value::String(system.join("\n\n"));
        }
        if let ResponseFormat::Tool(tool) = &req.response_format {
            body["tools"] = json!([{
                "name": tool.name,
                "description": tool.description,
                "input_schema": tool.schema,
            }]);
            body["tool_choice"] = json!({"type": "tool", "name": tool.name});
        }
        body
    }

    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError> {
        let malformed = |message| self.endpoint.malformed(message);
        let blocks = v
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(format!("no content array in {}", snippet(&v.to_string()))))?;
        let call = blocks
            .iter()
            .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
            .map(|b| {
                let name = b.get("name").and_then(Value::as_str);
                match (name, b.get("input")) {
                    (Some(name), Some(input)) => Ok(ToolUse {
                        // The id is sent back to answer the call; the API
                        // refuses an empty one.
                        id: b
                            .get("id")
                            .and_then(Value::as_str)
                            .filter(|i| !i.is_empty())
                            .unwrap_or("toolu_0")
                            .to_string(),
                        name: name.to_string(),
                        arguments: input.to_string(),
                    }),
                    _ => Err(malformed(format!(
                        "a tool_use block without a name or input: {}",
                        snippet(&b.to_string())
                    ))),
                }
            })
            .transpose()?;
        let text: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        if text.is_empty() && call.is_none() && !blocks.is_empty() {
            return Err(malformed("no text block in content".into()));
        }
        let answer = match call {
            Some(call) => (call.arguments.clone(), Some(call)),
            None => (text, None),
        };
        Ok(completion(
            v,
            answer,
            prompt_chars,
            &self.endpoint.model,
            ("input_tokens", "output_tokens"),
        ))
    }

    /// Named events from `message_start` to `message_stop`; an `error`
    /// event (say, `overloaded_error`) can come at any point.
    fn read_event(
        provider: &str,
        event: &SseEvent,
        state: &mut StreamState,
    ) -> Result<Option<String>, LlmError> {
        let name = event.name.as_deref().unwrap_or("");
        if name == "ping" || event.data.trim().is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(&event.data).map_err(|e| LlmError::Malformed {
            provider: provider.to_string(),
            message: format!("a stream event is not JSON ({e}): {}", snippet(&event.data)),
        })?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(name);
        let tokens =
            |u: Option<&Value>, field: &str| u.and_then(|u| u.get(field)).and_then(Value::as_u64);
        match kind {
            "error" => {
                let status = match v.pointer("/error/type").and_then(Value::as_str) {
                    Some("overloaded_error") => 529,
                    Some("rate_limit_error") => 429,
                    _ => 500,
                };
                let message = error_message(&event.data);
                Err(if status == 429 {
                    LlmError::RateLimited {
                        provider: provider.to_string(),
                        message,
                        retry_after: None,
                    }
                } else {
                    LlmError::Server {
                        provider: provider.to_string(),
                        status,
                        message,
                        retry_after: None,
                    }
                })
            }
            "message_start" => {
                let m = v.get("message");
                if let Some(model) = m.and_then(|m| m.get("model")).and_then(Value::as_str) {
                    state.model = Some(model.to_string());
                }
                let usage = m.and_then(|m| m.get("usage"));
                state.prompt_tokens = tokens(usage, "input_tokens").or(state.prompt_tokens);
                Ok(None)
            }
            "content_block_delta" => Ok(v
                .pointer("/delta/text")
                .and_then(Value::as_str)
                .map(str::to_string)),
            "message_delta" => {
                let usage = v.get("usage");
                state.completion_tokens =
                    tokens(usage, "output_tokens").or(state.completion_tokens);
                state.prompt_tokens = tokens(usage, "input_tokens").or(state.prompt_tokens);
                if v.pointer("/delta/stop_reason")
                    .is_some_and(|r| !r.is_null())
                {
                    state.stopped = true;
                }
                Ok(None)
            }
            "message_stop" => {
                state.done = true;
                Ok(None)
            }
            _ => Ok(None),
        }
    }
}

/// One message in the Messages API shape: a tool call is a `tool_use`
/// block, its answer a `tool_result` block in a user turn.
fn message(m: &ChatMessage) -> Value {
    match (&m.role, &m.tool_call) {
        (Role::Assistant, Some(call)) => {
            // The API takes the input as an object; a call whose arguments
            // were not one is replayed as an empty object, and the tool
            // result that follows says what was wrong with it.
            let input = serde_json::from_str::<Value>(&call.arguments)
                .ok()
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            json!({
                "role": "assistant",
                "content": [{"type": "tool_use", "id": call.id, "name": call.name, "input": input}]
            })
        }
        (Role::Tool, _) => json!({
            "role": "user",
            "content": [{
                "type": "tool_result",
                "tool_use_id": m.tool_call_id.as_deref().unwrap_or(""),
                "content": m.content,
                "is_error": true
            }]
        }),
        _ => json!({"role": m.role.as_str(), "content": m.content}),
    }
}
