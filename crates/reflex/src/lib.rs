//! The OctoLLM reflex layer.
//!
//! Screens every input in microseconds: PII and secrets ([`pii`]),
//! redaction ([`redact`]), prompt injection ([`injection`]), combined by the
//! [`engine`]; [`vault`] keeps tokenized values for restoring; the [`service`] puts a verdict cache and per-client rate
//! limits in front of it over HTTP.

pub mod anchors;
mod bytes;
pub mod cache;
pub mod config;
pub mod custom;
pub mod engine;
pub mod injection;
pub mod metrics;
pub mod offsets;
pub mod pii;
pub mod ratelimit;
pub mod redact;
pub mod redis_link;
pub mod service;
pub mod vault;

pub use config::ReflexConfig;
pub use engine::{Engine, Options, Verdict};
pub use service::{app, router, Reflex, ReflexError};
