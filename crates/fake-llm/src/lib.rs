//! A fake LLM server for tests.
//!
//! It speaks the OpenAI chat-completions and Anthropic Messages wire formats
//! on loopback (and each API's model list), replays scripted replies
//! (statuses, headers such as `Retry-After`, delays, malformed bodies),
//! streams answers as server-sent events in each API's own shape when a
//! request asks to, and records every request so tests can assert on what
//! a client really sent.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use octollm_fake_llm::{FakeLlm, FakeReply};
//! let fake = FakeLlm::start().await?;
//! fake.push_reply(FakeReply::error(429, "slow down").retry_after(1));
//! fake.push_reply(FakeReply::text("hello"));
//! // point a client at fake.openai_base_url() or fake.anthropic_base_url()
//! assert_eq!(fake.requests().len(), 0);
//! # Ok(()) }
//! ```

mod models;
mod record;
mod reply;
mod server;
mod stream;
mod tools;

pub use record::{content_text, Api, RecordedRequest};
pub use reply::{Answer, FakeReply};
pub use server::{FakeLlm, Responder};

/// A script for the standalone binary: queued replies and a fallback reply.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Script {
    pub replies: Vec<FakeReply>,
    pub default: Option<FakeReply>,
    /// What `GET /v1/models` lists; absent = the vendors' default models.
    pub models: Option<Vec<String>>,
}
