//! Optional API keys (`OCTOLLM_API_KEYS`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::middleware::presented_api_key;
use crate::ApiError;

/// The accepted keys; empty means authentication is off.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(Arc<Vec<String>>);

impl ApiKeys {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        ApiKeys(Arc::new(
            keys.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect(),
        ))
    }

    /// Parses a comma-separated list.
    pub fn from_csv(csv: &str) -> Self {
        Self::new(csv.split(',').map(str::to_string))
    }

    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Compares against every key without stopping early, so response time
    /// does not tell how much of a guess was right.
    pub fn accepts(&self, presented: &str) -> bool {
        let mut ok = false;
        for key in self.0.iter() {
            ok |= constant_time_eq(key.as_bytes(), presented.as_bytes());
        }
        ok
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths that stay open so probes and scrapers need no key.
fn is_public(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

pub(crate) async fn require_api_key(
    State(keys): State<ApiKeys>,
    req: Request,
    next: Next,
) -> Response {
    if !keys.enabled() || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    match presented_api_key(&req) {
        Some(k) if keys.accepts(&k) => next.run(req).await,
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "API key is not valid",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "An API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key'",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_match() {
        let keys = ApiKeys::from_csv(" a1 , ,b2");
        assert!(keys.enabled());
        assert!(keys.accepts("a1"));
        assert!(keys.accepts("b2"));
        assert!(!keys.accepts("a"));
        assert!(!keys.accepts(""));
        assert!(!ApiKeys::from_csv("").enabled());
    }
}
