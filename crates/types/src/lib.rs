//! Contract types shared by every OctoLLM component.
//!
//! Everything that crosses a process boundary (HTTP bodies between the
//! orchestrator, reflex layer, planner and executor) is defined here once, so
//! a client and the server it talks to can never disagree about a field.

pub mod error;
pub mod exec;
pub mod orchestrator;
pub mod plan;
pub mod reflex;
pub mod task;
pub mod token;

pub use error::{ErrorBody, ErrorEnvelope};

/// The version every component reports in `/health` and in provenance.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
