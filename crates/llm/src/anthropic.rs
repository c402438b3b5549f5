//! Anthropic Messages API.

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::wire::{completion, post_json, snippet};
use crate::{ChatRequest, Completion, LlmError, Provider, ResponseFormat, Role};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const DEFAULT_MODEL: &str = "claude-3-5-haiku-latest";

pub struct AnthropicProvider {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: String,
    version: String,
    name: String,
    max_tokens: u32,
    temperature: f64,
}

impl AnthropicProvider {
    /// `base_url` is the host root (`https://api.anthropic.com`); a root that
    /// already ends in `/v1` is accepted too.
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        model: &str,
        api_key: &str,
        version: &str,
        max_tokens: u32,
        temperature: f64,
    ) -> Self {
        let base = if base_url.trim().is_empty() {
            DEFAULT_BASE_URL
        } else {
            base_url.trim()
        };
        let base = base.trim_end_matches('/');
        let url = if base.ends_with("/v1") {
            format!("{base}/messages")
        } else {
            format!("{base}/v1/messages")
        };
        let model = if model.trim().is_empty() {
            DEFAULT_MODEL
        } else {
            model.trim()
        };
        AnthropicProvider {
            client,
            url,
            name: format!("anthropic:{model}"),
            model: model.to_string(),
            api_key: api_key.trim().to_string(),
            version: if version.trim().is_empty() {
                "2023-06-01".to_string()
            } else {
                version.trim().to_string()
            },
            max_tokens,
            temperature,
        }
    }

    /// The Messages API has no JSON mode, so the format becomes an
    /// instruction in the system prompt; system messages move to `system`.
    pub(crate) fn body(&self, req: &ChatRequest) -> Value {
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
            "model": self.model,
            "max_tokens": req.max_tokens.unwrap_or(self.max_tokens),
            "temperature": req.temperature.unwrap_or(self.temperature),
            "messages": messages,
        });
        if !system.is_empty() {
            body["system"] = Value::String(system.join("\n\n"));
        }
        body
    }

    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError> {
        let malformed = |message: String| LlmError::Malformed {
            provider: self.name.clone(),
            message,
        };
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
            &self.model,
            ("input_tokens", "output_tokens"),
        ))
    }
}

impl Provider for AnthropicProvider {
    fn kind(&self) -> &'static str {
        "anthropic"
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn complete<'a>(
        &'a self,
        request: &'a ChatRequest,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Completion, LlmError>> {
        async move {
            let mut headers = HeaderMap::new();
            let key = HeaderValue::from_str(&self.api_key)
                .map_err(|_| LlmError::Config("API key holds invalid characters".into()))?;
            headers.insert("x-api-key", key);
            let version = HeaderValue::from_str(&self.version).map_err(|_| {
                LlmError::Config("anthropic_version holds invalid characters".into())
            })?;
            headers.insert("anthropic-version", version);
            let body = self.body(request);
            let v = post_json(&self.client, &self.name, &self.url, headers, &body, timeout).await?;
            let prompt_chars = request.messages.iter().map(|m| m.content.len()).sum();
            self.parse(&v, prompt_chars)
        }
        .boxed()
    }
}
