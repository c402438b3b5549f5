//! The provider-neutral request and response.

use std::time::Duration;

use octollm_types::plan::Usage;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What shape the answer must have.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResponseFormat {
    #[default]
    Text,
    /// Any single JSON object.
    JsonObject,
    /// A JSON object matching `schema`.
    JsonSchema {
        name: String,
        schema: Value,
        strict: bool,
    },
}

impl ResponseFormat {
    pub fn is_json(&self) -> bool {
        !matches!(self, ResponseFormat::Text)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub response_format: ResponseFormat,
    /// Overrides the configured `max_tokens`.
    pub max_tokens: Option<u32>,
    /// Overrides the configured temperature.
    pub temperature: Option<f64>,
}

impl ChatRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            messages,
            ..Default::default()
        }
    }

    pub fn json(mut self, format: ResponseFormat) -> Self {
        self.response_format = format;
        self
    }
}

/// A provider's answer after accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    pub text: String,
    pub usage: Usage,
    /// Provider kind: `openai` or `anthropic`.
    pub provider: String,
    /// Model as reported by the provider.
    pub model: String,
    pub latency: Duration,
    /// HTTP attempts made at the provider that answered.
    pub attempts: u32,
}

impl ChatResponse {
    /// Parses the text as JSON, tolerating code fences and prose around it.
    pub fn json_value(&self) -> Result<Value, serde_json::Error> {
        crate::json_text::parse_json_reply(&self.text)
    }
}

/// What a backend extracted from one successful HTTP exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}
