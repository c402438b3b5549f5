//! The OpenAI chat-completions wire format: request parsing, answers,
//! stream chunks and errors, in OpenAI's own shapes.

use octollm_llm::Role;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::gateway::{Answer, Exchange};
use crate::screening::Turn;
use crate::GatewayError;

/// `POST /v1/chat/completions` body; fields the gateway does not use are
/// accepted and ignored.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ChatCompletionRequest {
    pub model: String,
    #[schema(min_items = 1)]
    pub messages: Vec<ChatCompletionMessage>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ChatCompletionMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// A string, or a list of `{"type": "text", "text": …}` parts.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub content: Option<Value>,
}

/// `POST /v1/chat/completions` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub choices: Vec<Value>,
    #[schema(value_type = Object)]
    pub usage: Value,
}

/// OpenAI's error body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenAiError {
    #[schema(value_type = Object)]
    pub error: Value,
}

/// Text of a message's content: a string or text parts.
pub(crate) fn content_text(content: Option<&Value>) -> Result<String, GatewayError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for p in parts {
                match (p.get("type").and_then(Value::as_str), p.get("text")) {
                    (Some("text"), Some(Value::String(t))) => {
                        if !out.is_empty() {
                            out.push('\n');
                        }
                        out.push_str(t);
                    }
                    _ => {
                        return Err(GatewayError::BadRequest(
                            "only text content parts are supported".into(),
                        ))
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(GatewayError::BadRequest(
            "content must be a string or a list of text parts".into(),
        )),
    }
}

/// The request, checked, in neutral form; and whether it asks to stream.
pub fn parse(body: &[u8]) -> Result<(Exchange, bool, bool), GatewayError> {
    let req: ChatCompletionRequest = serde_json::from_slice(body)
        .map_err(|e| GatewayError::BadRequest(format!("invalid request body: {e}")))?;
    let mut turns = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let role = match m.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" | "function" => Role::Tool,
            other => {
                return Err(GatewayError::BadRequest(format!(
                    "unknown message role '{other}'"
                )))
            }
        };
        turns.push(Turn {
            role,
            text: content_text(m.content.as_ref())?,
        });
    }
    if turns.is_empty() {
        return Err(GatewayError::BadRequest(
            "messages must hold at least one message".into(),
        ));
    }
    let include_usage = req
        .stream_options
        .as_ref()
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((
        Exchange {
            model: req.model,
            turns,
            max_tokens: req.max_completion_tokens.or(req.max_tokens),
            temperature: req.temperature,
        },
        req.stream.unwrap_or(false),
        include_usage,
    ))
}

fn usage(a: &Answer) -> Value {
    json!({
        "prompt_tokens": a.prompt_tokens,
        "completion_tokens": a.completion_tokens,
        "total_tokens": a.prompt_tokens + a.completion_tokens,
    })
}

pub fn completion(id: &str, created: i64, model: &str, a: &Answer) -> ChatCompletion {
    ChatCompletion {
        id: id.to_string(),
        object: "chat.completion".into(),
        created,
        model: model.to_string(),
        choices: vec![json!({
            "index": 0,
            "message": {"role": "assistant", "content": a.text, "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        })],
        usage: usage(a),
    }
}

/// A streamed answer's `data:` events: chunks, the usage chunk when the
/// client asked for it, `[DONE]` last.
pub struct ChunkWriter {
    pub id: String,
    pub created: i64,
    pub model: String,
    pub include_usage: bool,
}

impl ChunkWriter {
    fn chunk(&self, delta: Value, finish: Value) -> String {
        let mut c = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if self.include_usage {
            c["usage"] = Value::Null;
        }
        format!("data: {c}\n\n")
    }
}

impl crate::relay::Frames for ChunkWriter {
    fn start(&self, _prompt_tokens: u64) -> String {
        self.chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    }

    fn text(&self, text: &str) -> String {
        self.chunk(json!({"content": text}), Value::Null)
    }

    fn end(&self, a: &Answer) -> String {
        let mut out = self.chunk(json!({}), json!("stop"));
        if self.include_usage {
            let u = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage(a),
            });
            out.push_str(&format!("data: {u}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        out
    }

    /// OpenAI's own streams carry a failure as a chunk holding `error`,
    /// which its clients raise; no `[DONE]` follows.
    fn error(&self, e: &GatewayError) -> String {
        format!("data: {}\n\n", error_body(e))
    }
}

pub fn error_body(e: &GatewayError) -> Value {
    let kind = match e.status() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    json!({"error": {"message": e.to_string(), "type": kind, "param": null, "code": e.code()}})
}
