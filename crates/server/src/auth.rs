//! Optional API keys (`OCTOLLM_API_KEYS`).
//!
//! An entry is `NAME:KEY` or a bare key. The name is what audit records and
//! approval decisions show, so the secret itself never appears in them; a
//! bare key is named `key-` and the first 8 hex digits of its SHA-256.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::middleware::presented_api_key;
use crate::ApiError;

/// The accepted keys; empty means authentication is off.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(Arc<Vec<NamedKey>>);

#[derive(Debug)]
struct NamedKey {
    name: String,
    key: String,
}

/// The name of the API key a request was authenticated with; handlers
/// read it from the request's extensions (absent when keys are off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(pub String);

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn named(entry: &str) -> NamedKey {
    match entry.split_once(':') {
        Some((name, key)) if is_name(name.trim()) && !key.trim().is_empty() => NamedKey {
            name: name.trim().to_string(),
            key: key.trim().to_string(),
        },
        _ => NamedKey {
            name: format!(
                "key-{}",
                &hex::encode(Sha256::digest(entry.as_bytes()))[..8]
            ),
            key: entry.to_string(),
        },
    }
}

impl ApiKeys {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        ApiKeys(Arc::new(
            keys.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .map(|k| named(&k))
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

    pub fn accepts(&self, presented: &str) -> bool {
        self.name_of(presented).is_some()
    }

    /// The name of the key `presented` is, if it is one. Compares against
    /// every key without stopping early, so response time does not tell
    /// how much of a guess was right.
    pub fn name_of(&self, presented: &str) -> Option<String> {
        let mut found = None;
        for k in self.0.iter() {
            if constant_time_eq(k.key.as_bytes(), presented.as_bytes()) {
                found = Some(k.name.clone());
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths that stay open: probes and scrapers need no key, and the web
/// console's files and the API documents hold no data (every API call the
/// console makes carries the user's key).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/health" | "/ready" | "/metrics" | "/openapi.json" | "/docs" | "/ui"
    ) || path.starts_with("/ui/")
        || path.starts_with("/docs/")
}

pub(crate) async fn require_api_key(
    State(keys): State<ApiKeys>,
    mut req: Request,
    next: Next,
) -> Response {
    if !keys.enabled() || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    match presented_api_key(&req).map(|k| keys.name_of(&k)) {
        Some(Some(name)) => {
            req.extensions_mut().insert(KeyName(name));
            next.run(req).await
        }
        Some(None) => ApiError::new(
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

    #[test]
    fn keys_have_names_and_secrets_stay_out_of_them() {
        let keys = ApiKeys::from_csv("alice:s3cret, bare-key, :x, bad name:y");
        assert_eq!(keys.name_of("s3cret").as_deref(), Some("alice"));
        assert!(!keys.accepts("alice:s3cret"));
        let bare = keys.name_of("bare-key").unwrap();
        assert!(bare.starts_with("key-") && bare.len() == 12, "{bare}");
        // Entries that do not read as NAME:KEY are keys as written.
        assert!(keys.accepts(":x"));
        assert!(keys.accepts("bad name:y"));
    }
}
