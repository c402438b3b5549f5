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
    /// The answer to a tool call the assistant made (`tool_call_id` says which).
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
    /// On an assistant message: the tool call it made instead of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolUse>,
    /// On a [`Role::Tool`] message: the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// One call of a tool by the model: its id (to answer it), the tool's name
/// and the arguments as the JSON text the model wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// The one tool a request makes the model call: the answer is its
/// arguments, which must match `schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub schema: Value,
    /// Ask the provider to enforce the schema exactly (OpenAI's `strict`).
    pub strict: bool,
}

impl ChatMessage {
    fn new(role: Role, content: String) -> Self {
        ChatMessage {
            role,
            content,
            tool_call: None,
            tool_call_id: None,
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content.into())
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content.into())
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content.into())
    }

    /// The assistant's turn that called a tool.
    pub fn assistant_tool_call(call: ToolUse) -> Self {
        ChatMessage {
            tool_call: Some(call),
            ..Self::new(Role::Assistant, String::new())
        }
    }

    /// The answer to the tool call `id` when it was refused: why.
    pub fn tool_error(id: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            tool_call_id: Some(id.into()),
            ..Self::new(Role::Tool, content.into())
        }
    }

    /// The same turn for a conversation without tools: a tool call becomes
    /// the assistant's text, its answer a user message.
    fn without_tools(&self) -> Self {
        match (&self.role, &self.tool_call) {
            (Role::Assistant, Some(call)) => Self::assistant(call.arguments.clone()),
            (Role::Tool, _) => Self::user(self.content.clone()),
            _ => Self::new(self.role, self.content.clone()),
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
    /// A call of this one tool, whose arguments are the answer. Providers
    /// that refuse tools are asked for the same schema in JSON mode.
    Tool(ToolSpec),
}

impl ResponseFormat {
    pub fn is_json(&self) -> bool {
        !matches!(self, ResponseFormat::Text)
    }

    /// The forced tool, when the answer must be a tool call.
    pub fn tool(&self) -> Option<&ToolSpec> {
        match self {
            ResponseFormat::Tool(t) => Some(t),
            _ => None,
        }
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

    /// The request for a provider that does not take tools: JSON mode (a
    /// server without tools rarely takes a JSON schema either; the prompt
    /// carries the format), and tool turns as plain text.
    pub fn without_tools(&self) -> ChatRequest {
        let response_format = match &self.response_format {
            ResponseFormat::Tool(_) => ResponseFormat::JsonObject,
            other => other.clone(),
        };
        ChatRequest {
            messages: self
                .messages
                .iter()
                .map(ChatMessage::without_tools)
                .collect(),
            response_format,
            ..self.clone()
        }
    }
}

/// A provider's answer after accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The answer; for a tool call, the arguments' JSON text.
    pub text: String,
    /// The tool call the answer came as, when it did.
    pub tool_call: Option<ToolUse>,
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
    pub tool_call: Option<ToolUse>,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}
