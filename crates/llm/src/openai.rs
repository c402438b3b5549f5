//! OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde_json::{json, Value};

use crate::wire::{completion, header_value, snippet, Backend, Endpoint, ProviderSettings};
use crate::{ChatRequest, Completion, LlmError, ResponseFormat};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

pub struct OpenAiProvider {
    endpoint: Endpoint,
}

impl OpenAiProvider {
    /// `base_url` is the API root that `/chat/completions` hangs off (`…/v1`).
    pub fn new(settings: ProviderSettings<'_>) -> Self {
        let defaults = (DEFAULT_BASE_URL, DEFAULT_MODEL);
        OpenAiProvider {
            endpoint: Endpoint::new::<Self>(settings, defaults, |base| {
                format!("{base}/chat/completions")
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
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect();
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
            &self.endpoint.model,
            ("prompt_tokens", "completion_tokens"),
        ))
    }
}
