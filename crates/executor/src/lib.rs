//! The executor arm (SPEC §5): allowlisted commands in a real Linux sandbox
//! and allowlisted HTTP fetches, with provenance, capability tokens and an
//! audit log. The sandbox itself lives in `octollm-sandbox`; this crate is
//! policy and HTTP.

pub mod audit;
pub mod config;
mod error;
pub mod http_action;
mod local;
mod metrics;
pub mod policy;
pub mod provenance;
mod service;

pub use config::ExecutorConfig;
pub use error::ExecutorError;
pub use local::{run_local, TIMEOUT_EXIT};
pub use service::app;
