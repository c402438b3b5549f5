//! The Anthropic Messages wire format: request parsing, answers, stream
//! events and errors, in Anthropic's own shapes.

use octollm_llm::Role;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::gateway::{Answer, Exchange};
use crate::openai::content_text;
use crate::screening::Turn;
use crate::GatewayError;

/// `POST /v1/messages` body; fields the gateway does not use are accepted
/// and ignored.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct MessagesRequest {
    pub model: String,
    pub max_tokens: u32,
    #[schema(min_items = 1)]
    pub messages: Vec<MessagesMessage>,
    /// A string or a list of text blocks.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub system: Option<Value>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub stream: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct MessagesMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// A string or a list of `{"type": "text", "text": …}` blocks.
    #[schema(value_type = Object)]
    pub content: Value,
}

/// `POST /v1/messages` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub role: String,
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub content: Vec<Value>,
    pub stop_reason: String,
    #[schema(value_type = Option<String>)]
    pub stop_sequence: Option<String>,
    #[schema(value_type = Object)]
    pub usage: Value,
}

/// Anthropic's error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnthropicError {
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub error: Value,
}

/// The request, checked, in neutral form; and whether it asks to stream.
pub fn parse(body: &[u8]) -> Result<(Exchange, bool), GatewayError> {
    let req: MessagesRequest = serde_json::from_slice(body)
        .map_err(|e| GatewayError::BadRequest(format!("invalid request body: {e}")))?;
    let mut turns = Vec::with_capacity(req.messages.len() + 1);
    let system = content_text(req.system.as_ref())?;
    if !system.is_empty() {
        turns.push(Turn {
            role: Role::System,
            text: system,
        });
    }
    if req.messages.is_empty() {
        return Err(GatewayError::BadRequest(
            "messages must hold at least one message".into(),
        ));
    }
    for m in &req.messages {
        let role = match m.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(GatewayError::BadRequest(format!(
                    "unknown message role '{other}'"
                )))
            }
        };
        turns.push(Turn {
            role,
            text: content_text(Some(&m.content))?,
        });
    }
    if req.max_tokens == 0 {
        return Err(GatewayError::BadRequest(
            "max_tokens must be at least 1".into(),
        ));
    }
    Ok((
        Exchange {
            model: req.model,
            turns,
            max_tokens: Some(req.max_tokens),
            temperature: req.temperature,
        },
        req.stream.unwrap_or(false),
    ))
}

pub fn message(id: &str, model: &str, a: &Answer) -> Message {
    Message {
        id: id.to_string(),
        kind: "message".into(),
        role: "assistant".into(),
        model: model.to_string(),
        content: vec![json!({"type": "text", "text": a.text})],
        stop_reason: "end_turn".into(),
        stop_sequence: None,
        usage: json!({"input_tokens": a.prompt_tokens, "output_tokens": a.completion_tokens}),
    }
}

/// A streamed answer's named events, `message_start` to `message_stop`.
pub struct EventWriter {
    pub id: String,
    pub model: String,
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

impl crate::relay::Frames for EventWriter {
    fn start(&self, prompt_tokens: u64) -> String {
        let mut out = event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": prompt_tokens, "output_tokens": 0},
            }}),
        );
        out.push_str(&event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        out
    }

    fn text(&self, text: &str) -> String {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        )
    }

    fn end(&self, a: &Answer) -> String {
        let mut out = event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        );
        out.push_str(&event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"input_tokens": a.prompt_tokens, "output_tokens": a.completion_tokens}}),
        ));
        out.push_str(&event("message_stop", json!({"type": "message_stop"})));
        out
    }

    /// As Anthropic's own streams do: an `error` event ends the stream.
    fn error(&self, e: &GatewayError) -> String {
        event("error", error_body(e))
    }
}

pub fn error_body(e: &GatewayError) -> Value {
    let kind = match e.status() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_error",
        503 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": e.to_string()}})
}
