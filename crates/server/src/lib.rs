//! HTTP plumbing shared by every OctoLLM service.
//!
//! Each component builds its own `axum::Router` of thin handlers and hands it
//! to [`finish`], which adds what every service must do the same way: request
//! ids, the SPEC §2 error envelope (also for axum's own rejections), panic
//! containment, optional API keys, body limits and HTTP metrics; and
//! [`trace`] hands W3C trace context from one service to the next.

pub mod audit;
pub mod auth;
pub mod error;
pub mod health;
pub mod json;
pub mod metrics;
mod middleware;
pub mod openapi;
pub mod page;
pub mod resilience;
pub mod serve;
pub mod trace;

pub use audit::AuditLog;
pub use auth::{ApiKeys, KeyName};
pub use error::ApiError;
pub use health::Uptime;
pub use json::ApiJson;
pub use metrics::{HttpMetrics, MetricsRegistry};
pub use middleware::{ClientIdentity, RequestId};
pub use resilience::{parse_retry_after, BreakerState, CircuitBreaker, RetryPolicy};
pub use serve::{finish, serve, ServiceOptions};
