//! OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::{json, Value};

use crate::wire::{completion, post_json, snippet};
use crate::{ChatRequest, Completion, LlmError, Provider, ResponseFormat};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

pub struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    model: String,
    api_key: String,
    name: String,
    max_tokens: u32,
    temperature: f64,
}

impl OpenAiProvider {
    /// `base_url` is the API root that `/chat/completions` hangs off (`…/v1`).
    pub fn new(
        client: reqwest::Client,
        base_url: &str,
        model: &str,
        api_key: &str,
        max_tokens: u32,
        temperature: f64,
    ) -> Self {
        let base = if base_url.trim().is_empty() {
            DEFAULT_BASE_URL
        } else {
            base_url.trim()
        };
        let model = if model.trim().is_empty() {
            DEFAULT_MODEL
        } else {
            model.trim()
        };
        OpenAiProvider {
            client,
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            name: format!("openai:{model}"),
            model: model.to_string(),
            api_key: api_key.trim().to_string(),
            max_tokens,
            temperature,
        }
    }

    pub(crate) fn body(&self, req: &ChatRequest) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": req.max_tokens.unwrap_or(self.max_tokens),
            "temperature": req.temperature.unwrap_or(self.temperature),
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
        }
        body
    }

    fn parse(&self, v: &Value, prompt_chars: usize) -> Result<Completion, LlmError> {
        let malformed = |message: String| LlmError::Malformed {
            provider: self.name.clone(),
            message,
        };
        let message = v.pointer("/choices/0/message").ok_or_else(|| {
            malformed(format!(
                "no choices[0].message in {}",
                snippet(&v.to_string())
            ))
        })?;
        let text = match message.get("content") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                let refusal = message.get("refusal").and_then(Value::as_str).unwrap_or("");
                return Err(malformed(format!("no text content (refusal: '{refusal}')")));
            }
        };
        Ok(completion(
            v,
            text,
            prompt_chars,
            &self.model,
            ("prompt_tokens", "completion_tokens"),
        ))
    }
}

impl Provider for OpenAiProvider {
    fn kind(&self) -> &'static str {
        "openai"
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
            if !self.api_key.is_empty() {
                let value = HeaderValue::from_str(&format!("Bearer {}", self.api_key))
                    .map_err(|_| LlmError::Config("API key holds invalid characters".into()))?;
                headers.insert(AUTHORIZATION, value);
            }
            let body = self.body(request);
            let v = post_json(&self.client, &self.name, &self.url, headers, &body, timeout).await?;
            let prompt_chars = request.messages.iter().map(|m| m.content.len()).sum();
            self.parse(&v, prompt_chars)
        }
        .boxed()
    }
}
