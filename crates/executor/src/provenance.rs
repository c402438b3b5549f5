//! Provenance helpers.

use std::time::Duration;

use octollm_types::exec::{Provenance, ResourceUsage, SandboxInfo};
use sha2::{Digest, Sha256};

/// SHA-256 hex of the command and its arguments, NUL-separated so that
/// `["ab"]` and `["a", "b"]` never hash alike.
pub fn command_hash(command: &str, args: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(command.as_bytes());
    for a in args {
        h.update([0u8]);
        h.update(a.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Now, as provenance and the audit log write it.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What one action did and under which guarantees.
pub(crate) struct Record<'a> {
    pub hash: String,
    pub started_at: &'a str,
    pub duration: Duration,
    pub exit_code: Option<i32>,
    pub capabilities: &'a [&'static str],
    pub sandbox: SandboxInfo,
    pub usage: ResourceUsage,
}

impl Record<'_> {
    pub(crate) fn provenance(self) -> Provenance {
        Provenance {
            command_hash: self.hash,
            timestamp: self.started_at.to_string(),
            executor_version: octollm_types::VERSION.to_string(),
            execution_duration_ms: self.duration.as_millis() as u64,
            exit_code: self.exit_code,
            capabilities_used: self.capabilities.iter().map(|c| c.to_string()).collect(),
            sandbox: self.sandbox,
            resource_usage: self.usage,
            approval: None,
            injection_in_output: None,
        }
    }
}
