//! Building blocks for `/health`.

use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value};

/// When the service started.
#[derive(Debug, Clone, Copy)]
pub struct Uptime(pub Instant);

impl Uptime {
    pub fn now() -> Self {
        Uptime(Instant::now())
    }

    /// `{"status", "service", "version", "uptime_seconds"}` merged with the
    /// component's own fields (backend states and the like).
    pub fn health_body(&self, service: &str, degraded: bool, extra: Map<String, Value>) -> Value {
        let body = HealthBody {
            status: if degraded { "degraded" } else { "healthy" },
            service: service.to_string(),
            version: octollm_types::VERSION,
            uptime_seconds: self.0.elapsed().as_secs_f64(),
            extra,
        };
        serde_json::to_value(body).unwrap_or(Value::Null)
    }
}

/// The `/health` answer of every service.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthBody {
    /// `healthy`, or `degraded` when a dependency is down.
    #[schema(value_type = String, example = "healthy")]
    pub status: &'static str,
    pub service: String,
    #[schema(value_type = String)]
    pub version: &'static str,
    pub uptime_seconds: f64,
    /// The component's own fields: its backends' states and the like.
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extra: Map<String, Value>,
}

/// The `/ready` answer when every dependency answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReadyBody {
    #[schema(value_type = String, example = "ready")]
    pub status: &'static str,
    pub ready: bool,
    /// Each dependency and whether it answered.
    pub dependencies: Map<String, Value>,
}

/// The `/ready` answer every service gives: 200 `{"status": "ready",
/// "dependencies": {…}}` when each dependency answers, else a 503 envelope
/// naming the ones that do not.
pub fn ready(dependencies: &[(&str, bool)]) -> axum::response::Response {
    use axum::response::IntoResponse;
    let deps: Map<String, Value> = dependencies
        .iter()
        .map(|(name, ok)| (name.to_string(), Value::Bool(*ok)))
        .collect();
    let down: Vec<&str> = dependencies
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    if down.is_empty() {
        axum::Json(ReadyBody {
            status: "ready",
            ready: true,
            dependencies: deps,
        })
        .into_response()
    } else {
        crate::ApiError::unavailable(
            "DEPENDENCY_UNAVAILABLE",
            format!("Not ready: {} unavailable", down.join(", ")),
        )
        .with_details(serde_json::json!({"dependencies": deps}))
        .with_retry_after(5)
        .into_response()
    }
}
