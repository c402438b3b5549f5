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
