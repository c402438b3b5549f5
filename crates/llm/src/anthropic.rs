//! Anthropic Messages API.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::wire::{
    completion, header_value, or_default, snippet, Backend, Endpoint, ProviderSettings,
};
use crate::{ChatRequest, Completion, LlmError, ResponseFormat, Role};

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
                if base.ends_with("/v1") {
                    format!("{base}/messages")
                } else {
                    format!("{base}/v1/messages")
                }
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
        }
        let messages: Vec<Value> = req
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
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
        body
    }

    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError> {
        let malformed = |message| self.endpoint.malformed(message);
        let blocks = v
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed(format!("no content array in {}", snippet(&v.to_string()))))?;
        let text: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        if text.is_empty() && !blocks.is_empty() {
            return Err(malformed("no text block in content".into()));
        }
        Ok(completion(
            v,
            text,
            prompt_chars,
            &self.endpoint.model,
            ("input_tokens", "output_tokens"),
        ))
    }
}
