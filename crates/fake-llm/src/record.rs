//! What the fake server received, for assertions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which wire format a request used (decided by its path; for the model
/// list, which both serve, by its headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `POST /v1/chat/completions`
    OpenAi,
    /// `POST /v1/messages`
    Anthropic,
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub api: Api,
    pub path: String,
    /// Header names are lowercase.
    pub headers: BTreeMap<String, String>,
    /// The parsed body, or `null` when it was not JSON.
    pub body: Value,
    pub raw_body: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// The `messages` array (without Anthropic's top-level `system`).
    pub fn messages(&self) -> Vec<Value> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The system prompt, wherever the wire format puts it.
    pub fn system(&self) -> Option<String> {
        match self.api {
            Api::Anthropic => match self.body.get("system")? {
                Value::String(s) => Some(s.clone()),
                Value::Array(blocks) => Some(
                    blocks
                        .iter()
                        .filter_map(|b| b.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                _ => None,
            },
            Api::OpenAi => self
                .messages()
                .iter()
                .find(|m| m.get("role").and_then(Value::as_str) == Some("system"))
                .map(content_text),
        }
    }

    /// The text of the last user message.
    pub fn last_user_text(&self) -> Option<String> {
        self.messages()
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .map(content_text)
    }

    /// The tool the request forces the model to call, in either format
    /// (`{"type": "function", "function": {"name": …}}` or
    /// `{"type": "tool", "name": …}`).
    pub fn forced_tool(&self) -> Option<&str> {
        let choice = self.body.get("tool_choice")?;
        match self.api {
            Api::OpenAi => choice.pointer("/function/name"),
            Api::Anthropic => choice
                .get("type")
                .filter(|t| *t == "tool")
                .and(choice.get("name")),
        }
        .and_then(Value::as_str)
    }

    /// The names of the tools the request offers.
    pub fn tool_names(&self) -> Vec<String> {
        let pointer = match self.api {
            Api::OpenAi => "/function/name",
            Api::Anthropic => "/name",
        };
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.pointer(pointer).and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn response_format(&self) -> Option<&Value> {
        self.body.get("response_format")
    }

    /// Total characters of every message, used to estimate prompt tokens.
    pub(crate) fn prompt_chars(&self) -> usize {
        let system = match self.api {
            Api::Anthropic => self.system().map(|s| s.chars().count()).unwrap_or(0),
            Api::OpenAi => 0,
        };
        system
            + self
                .messages()
                .iter()
                .map(|m| content_text(m).chars().count())
                .sum::<usize>()
    }
}

/// A message's text, whether `content` is a string or a list of blocks
/// (a `tool_result` block's text counts, as the model reads it).
pub fn content_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| match b.get("content") {
                Some(Value::String(s)) => Some(s.as_str()),
                _ => b.get("text").and_then(Value::as_str),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}
