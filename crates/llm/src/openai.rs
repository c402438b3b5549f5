//! OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde_json::{json, Value};

use crate::wire::{
    completion, error_message, header_value, snippet, Backend, Endpoint, ProviderSettings,
};
use crate::{ChatMessage, ChatRequest, Completion, LlmError, ResponseFormat, Role, ToolUse};
use crate::{SseEvent, StreamState};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

pub struct OpenAiProvider {
    endpoint: Endpoint,
}

impl OpenAiProvider {
    /// `base_url` is the API root that `/chat/completions` and `/models`
    /// hang off (`…/v1`).
    pub fn new(settings: ProviderSettings<'_>) -> Self {
        let defaults = (DEFAULT_BASE_URL, DEFAULT_MODEL);
        OpenAiProvider {
            endpoint: Endpoint::new::<Self>(settings, defaults, |base| {
                (format!("{base}/chat/completions"), format!("{base}/models"))
            }),
        }
    }
}

impl Backend for OpenAiProvider {
    const KIND: &'static str = "openai";

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn add_headers(&self, headers: &mut HeaderMap) -> Result<(), LlmError> {
        if !self.endpoint.api_key.is_empty() {
            let bearer = format!("Bearer {}", self.endpoint.api_key);
            headers.insert(AUTHORIZATION, header_value(&bearer, "API key")?);
        }
        Ok(())
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let messages: Vec<Value> = req.messages.iter().map(message).collect();
        let mut body = json!({
            "model": self.endpoint.model,
            "messages": messages,
            "max_tokens": req.max_tokens.unwrap_or(self.endpoint.max_tokens),
            "temperature": req.temperature.unwrap_or(self.endpoint.temperature),
        });
        match &req.response_format {
            ResponseFormat::Text => {}
            ResponseFormat::JsonObject => {
                body["response_format"] = json!({"type": "json_object"});
            }
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": strict}
                });
            }
            ResponseFormat::Tool(tool) => {
                body["tools"] = json!([{
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.schema,
                        "strict": tool.strict,
                    }
                }]);
                body["tool_choice"] = json!({"type": "function", "function": {"name": tool.name}});
                // Several calls at once would be several answers.
                body["parallel_tool_calls"] = Value::Bool(false);
            }
        }
        body
    }

    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError> {
        let malformed = |message| self.endpoint.malformed(message);
        let message = v.pointer("/choices/0/message").ok_or_else(|| {
            malformed(format!(
                "no choices[0].message in {}",
                snippet(&v.to_string())
            ))
        })?;
        let call = message
            .pointer("/tool_calls/0")
            .map(|c| {
                let field = |p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_string);
                match (field("/function/name"), field("/function/arguments")) {
                    (Some(name), Some(arguments)) => Ok(ToolUse {
                        // The id is sent back to answer the call; the API
                        // refuses an empty one.
                        id: field("/id")
                            .filter(|i| !i.is_empty())
                            .unwrap_or_else(|| "call_0".to_string()),
                        name,
                        arguments,
                    }),
                    _ => Err(malformed(format!(
                        "a tool call without a function name or arguments: {}",
                        snippet(&c.to_string())
                    ))),
                }
            })
            .transpose()?;
        let answer = match (call, message.get("content")) {
            (Some(call), _) => (call.arguments.clone(), Some(call)),
            (None, Some(Value::String(s))) => (s.clone(), None),
            (None, _) => {
                let refusal = message.get("refusal").and_then(Value::as_str).unwrap_or("");
                return Err(malformed(format!("no text content (refusal: '{refusal}')")));
            }
        };
        Ok(completion(
            v,
            answer,
            prompt_chars,
            &self.endpoint.model,
            ("prompt_tokens", "completion_tokens"),
        ))
    }

    /// Usage comes in a last chunk only when asked for.
    fn stream_body(&self, req: &ChatRequest) -> Value {
        let mut body = self.body(req);
        body["stream"] = Value::Bool(true);
        body["stream_options"] = json!({"include_usage": true});
        body
    }

    /// `data: {chunk}` events, `data: [DONE]` last; an error inside the
    /// stream comes as a chunk holding `error`.
    fn read_event(
        provider: &str,
        event: &SseEvent,
        state: &mut StreamState,
    ) -> Result<Option<String>, LlmError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            state.done = true;
            return Ok(None);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| LlmError::Malformed {
            provider: provider.to_string(),
            message: format!("a stream chunk is not JSON ({e}): {}", snippet(data)),
        })?;
        if v.get("error").is_some_and(|e| !e.is_null()) {
            return Err(LlmError::Server {
                provider: provider.to_string(),
                status: 500,
                message: error_message(data),
                retry_after: None,
            });
        }
        if let Some(m) = v.get("model").and_then(Value::as_str) {
            state.model = Some(m.to_string());
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            state.prompt_tokens = u.get("prompt_tokens").and_then(Value::as_u64);
            state.completion_tokens = u.get("completion_tokens").and_then(Value::as_u64);
        }
        let choice = v.pointer("/choices/0");
        if choice
            .and_then(|c| c.get("finish_reason"))
            .is_some_and(|f| !f.is_null())
        {
            state.stopped = true;
        }
        Ok(choice
            .and_then(|c| c.pointer("/delta/content"))
            .and_then(Value::as_str)
            .map(str::to_string))
    }
}

/// One message in the Chat Completions shape, tool turns included.
fn message(m: &ChatMessage) -> Value {
    match (&m.role, &m.tool_call) {
        (Role::Assistant, Some(call)) => json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments}
            }]
        }),
        (Role::Tool, _) => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.as_deref().unwrap_or(""),
            "content": m.content
        }),
        _ => json!({"role": m.role.as_str(), "content": m.content}),
    }
}
