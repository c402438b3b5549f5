//! The executor arm (SPEC §5): allowlisted commands in a real Linux sandbox
//! and allowlisted HTTP fetches, with provenance, capability tokens and an
//! audit log. The sandbox itself lives in `octollm-sandbox` and the command
//! and host policy in `octollm-policy`; this crate enforces them.
//!
//! [`Executor`] is the one domain type, built once and shared: the HTTP
//! service ([`app`], [`router`]) is a thin layer over it, and in-process
//! callers use [`Executor::execute`] directly.

pub mod config;
mod error;
mod executor;
mod fetch;
pub mod http_action;
mod local;
mod metrics;
pub mod provenance;
mod service;
mod shell;
mod workspace;

pub use config::ExecutorConfig;
pub use error::ExecutorError;
pub use executor::{ExecuteReply, Executor, Health, SandboxState};
pub use local::TIMEOUT_EXIT;
pub use octollm_sandbox::Stream;
pub use service::{app, router, sweep_workspaces};
