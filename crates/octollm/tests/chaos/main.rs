//! Chaos tests: the real `octollm` processes while what they depend on
//! fails under them. Each scenario is bounded in time and cleans up after
//! itself (processes, temp dirs, private database clusters, mounts), also
//! when it fails.
//!
//! | scenario | what fails | what must hold |
//! |---|---|---|
//! | [`postgres`] | PostgreSQL restarted mid-task | the task completes, each step ran once, no event lost |
//! | [`redis`] | Redis killed, started again | the reflex layer degrades and recovers, the plan cache misses, tasks run |
//! | [`executor`] | the executor killed mid-step | the task fails soon with `ARM_UNAVAILABLE`, the sandboxed command dies too |
//! | [`disk`] | the store's disk full, then freed | 503 `STORE_FULL`, nothing damaged, work taken again |
//! | [`overload`] | ten times the sustainable submission rate | shed fast with 503 `QUEUE_FULL`, bounded queue and memory, accepted tasks complete |
//!
//! They need root (the sandbox, `mount`), like the end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod disk;
mod executor;
mod overload;
mod postgres;
mod redis;
