//! Building blocks for `/health`.

use std::time::Instant;

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
        let mut body = Map::new();
        body.insert(
            "status".into(),
            Value::from(if degraded { "degraded" } else { "healthy" }),
        );
        body.insert("service".into(), Value::from(service));
        body.insert("version".into(), Value::from(octollm_types::VERSION));
        body.insert(
            "uptime_seconds".into(),
            Value::from(self.0.elapsed().as_secs_f64()),
        );
        body.extend(extra);
        Value::Object(body)
    }
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
        axum::Json(serde_json::json!({"status": "ready", "ready": true, "dependencies": deps}))
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
