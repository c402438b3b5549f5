//! Scripted replies and how they are rendered in each wire format.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::record::Api;

/// One scripted answer. With a 2xx status and no `raw_body`, `content` is
/// wrapped in the exact success shape of the API the request came in on; with
/// another status, `error_message` is wrapped in that API's error envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeReply {
    /// HTTP status; 0 is read as 200.
    pub status: u16,
    /// The assistant's text.
    pub content: String,
    /// Sent verbatim instead of a rendered body (malformed replies).
    pub raw_body: Option<String>,
    /// Message of the error envelope for non-2xx statuses.
    pub error_message: String,
    /// Extra response headers, e.g. `retry-after`.
    pub headers: Vec<(String, String)>,
    /// How long to wait before answering.
    pub delay_ms: u64,
    /// Reported usage; estimated from the text when absent.
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    /// Model reported back; the requested model when absent.
    pub model: Option<String>,
    /// How `content` is answered; see [`Answer`].
    pub answer: Answer,
    /// When the request asks to stream: characters of `content` per delta
    /// (0: 3, small enough that most words straddle a delta boundary).
    pub chunk_chars: usize,
    /// When streaming: the pause before each delta.
    pub chunk_delay_ms: u64,
    /// When streaming: the connection closes after this many deltas,
    /// without the stream's end events, as a provider failing mid-answer.
    pub cut_after_chunks: Option<usize>,
}

/// Whether a reply comes back as text or as a tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// As a real model does: a call of the tool when the request forces
    /// one (`tool_choice` naming it), text otherwise.
    #[default]
    Auto,
    /// Text whatever the request asked for.
    Text,
    /// A call of the named tool, whose arguments are `content`.
    ToolCall(String),
}

impl FakeReply {
    /// A successful reply carrying `text`.
    pub fn text(text: impl Into<String>) -> Self {
        FakeReply {
            status: 200,
            content: text.into(),
            ..Default::default()
        }
    }

    /// A successful reply whose text is `value` serialised.
    pub fn json(value: &Value) -> Self {
        Self::text(value.to_string())
    }

    /// An error status with the API's own error envelope.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        FakeReply {
            status,
            error_message: message.into(),
            ..Default::default()
        }
    }

    /// A reply whose body is sent as-is, e.g. truncated JSON.
    pub fn raw(status: u16, body: impl Into<String>) -> Self {
        FakeReply {
            status,
            raw_body: Some(body.into()),
            ..Default::default()
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        self.with_header("retry-after", &seconds.to_string())
    }

    pub fn delay(mut self, d: Duration) -> Self {
        self.delay_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self
    }

    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.prompt_tokens = Some(prompt_tokens);
        self.completion_tokens = Some(completion_tokens);
        self
    }

    /// Answers as text even when the request forces a tool.
    pub fn as_text(mut self) -> Self {
        self.answer = Answer::Text;
        self
    }

    /// Answers as a call of `tool`, forced or not.
    pub fn as_tool_call(mut self, tool: &str) -> Self {
        self.answer = Answer::ToolCall(tool.to_string());
        self
    }

    /// When streamed: `chars` characters per delta, `delay` before each.
    pub fn chunked(mut self, chars: usize, delay: Duration) -> Self {
        self.chunk_chars = chars;
        self.chunk_delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// When streamed: the connection drops after `n` deltas.
    pub fn cut_after(mut self, n: usize) -> Self {
        self.cut_after_chunks = Some(n);
        self
    }

    pub fn model(mut self, model: &str) -> Self {
        self.model = Some(model.to_string());
        self
    }

    pub(crate) fn status_code(&self) -> u16 {
        if self.status == 0 {
            200
        } else {
            self.status
        }
    }

    /// The body to send for a request to `api` that asked for `model`;
    /// `forced_tool` is the tool the request's `tool_choice` names.
    pub(crate) fn render(
        &self,
        api: Api,
        model: &str,
        forced_tool: Option<&str>,
        prompt_chars: usize,
        seq: u64,
    ) -> String {
        if let Some(raw) = &self.raw_body {
            return raw.clone();
        }
        let status = self.status_code();
        if !(200..300).contains(&status) {
            return render_error(api, status, &self.error_message);
        }
        let model = self.model.as_deref().unwrap_or(model);
        let (prompt, completion) = self.usage_for(prompt_chars);
        let tool = match &self.answer {
            Answer::Auto => forced_tool,
            Answer::Text => None,
            Answer::ToolCall(name) => Some(name.as_str()),
        };
        match api {
            Api::OpenAi => json!({
                "id": format!("chatcmpl-fake-{seq}"),
                "object": "chat.completion",
                "created": 1_700_000_000u64 + seq,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": match tool {
                        None => json!({"role": "assistant", "content": self.content}),
                        Some(name) => json!({
                            "role": "assistant",
                            "content": null,
                            "tool_calls": [{
                                "id": format!("call_fake_{seq}"),
                                "type": "function",
                                "function": {"name": name, "arguments": self.content}
                            }]
                        }),
                    },
                    "logprobs": null,
                    "finish_reason": if tool.is_some() { "tool_calls" } else { "stop" }
                }],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion
                }
            }),
            Api::Anthropic => json!({
                "id": format!("msg_fake_{seq}"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": match tool {
                    None => json!([{"type": "text", "text": self.content}]),
                    // The API always sends an object as a tool's input; a
                    // scripted call whose content is none is sent as text
                    // inside one, so a client still sees what was wrong.
                    Some(name) => json!([{
                        "type": "tool_use",
                        "id": format!("toolu_fake_{seq}"),
                        "name": name,
                        "input": serde_json::from_str::<Value>(&self.content)
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| json!({"text": self.content})),
                    }]),
                },
                "stop_reason": if tool.is_some() { "tool_use" } else { "end_turn" },
                "stop_sequence": null,
                "usage": {"input_tokens": prompt, "output_tokens": completion}
            }),
        }
        .to_string()
    }
}

impl FakeReply {
    /// The usage reported: scripted, else estimated from the lengths.
    pub(crate) fn usage_for(&self, prompt_chars: usize) -> (u64, u64) {
        (
            self.prompt_tokens.unwrap_or(estimate_tokens(prompt_chars)),
            self.completion_tokens
                .unwrap_or(estimate_tokens(self.content.chars().count())),
        )
    }
}

/// Roughly four characters per token, like the real tokenisers on English.
fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

pub(crate) fn render_error(api: Api, status: u16, message: &str) -> String {
    let message = if message.is_empty() {
        "fake-llm scripted error"
    } else {
        message
    };
    match api {
        Api::OpenAi => {
            let (kind, code) = match status {
                401 => ("invalid_request_error", "invalid_api_key"),
                403 => ("invalid_request_error", "permission_denied"),
                404 => ("invalid_request_error", "model_not_found"),
                429 => ("requests", "rate_limit_exceeded"),
                s if s >= 500 => ("server_error", "server_error"),
                _ => ("invalid_request_error", "invalid_request"),
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Api::Anthropic => {
            let kind = match status {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                s if s >= 500 => "api_error",
                _ => "invalid_request_error",
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
    }
    .to_string()
}
