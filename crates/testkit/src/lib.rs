//! Helpers shared by OctoLLM's test suites (a dev-dependency only; never
//! published).
//!
//! Several suites start real services, real sandboxes and talk to the real
//! Redis, and each used to carry its own copy of the same small helpers. They
//! live here once, so a fix (such as understanding cgroup v2) reaches every
//! suite:
//! - [`cgroup`] and [`procs`]: the "nothing left behind" checks after a
//!   sandbox ran (leaked cgroups, stray processes of the sandbox uid range).
//! - [`programs`]: abuse programs run inside the sandbox by several suites.
//! - [`redis`] (feature `redis`): unique key prefixes per test and deleting
//!   everything under one afterwards, so tests share one Redis safely.
//! - [`tls`] (feature `tls`): a loopback HTTPS server with a test CA.
//! - [`ports`]: loopback ports for services started as child processes,
//!   distinct and outside the range outgoing connections draw from.
//! - [`http`] (feature `http`): readiness polling and the "send, then
//!   status and body" shorthand every API test uses.
//! - [`plan`] (feature `plan`): plans and steps built by hand.
//! - [`postgres`] (feature `postgres`): the test database and a scratch
//!   schema per test.
//!
//! Everything here panics on failure: a helper that cannot do its job must
//! fail the test, never let it pass without checking.
// Panicking with a message is how a test helper reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cgroup;
#[cfg(feature = "corpus")]
pub mod corpus;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "plan")]
pub mod plan;
pub mod ports;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod procs;
pub mod programs;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "tls")]
pub mod tls;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs `cmd` to its end and fails the test, naming `what` and showing both
/// streams, unless it exits successfully.
pub fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A name no other test (in this process or a concurrent one) uses:
/// `<tag>_<pid>_<counter>_<clock>`. It adds only digits and underscores, so
/// it is a valid SQL identifier, directory or cgroup name whenever `tag` is.
pub fn unique_name(tag: &str) -> String {
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000);
    format!(
        "{tag}_{}_{}_{clock}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_keep_the_tag() {
        let (a, b) = (unique_name("t"), unique_name("t"));
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t_{}_", std::process::id())), "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{a}"
        );
    }
}
