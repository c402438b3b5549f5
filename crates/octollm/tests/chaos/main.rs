//! Chaos tests: the real `octollm` processes while what they depend on
//! fails under them. Each scenario is bounded in time and cleans up after
//! itself (processes, temp dirs, private database clusters, mounts).
//!
//! | scenario | what fails | what must hold |
//! |---|---|---|
//! | [`postgres`] | PostgreSQL restarted mid-task | the task completes, each step ran once, no event lost |
//!
//! They need root (the sandbox, `mount`), like the end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod disk;
mod executor;
mod harness;
mod overload;
mod postgres;
mod redis;
