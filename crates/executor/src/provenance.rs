//! Provenance helpers.

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
