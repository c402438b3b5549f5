//! Virtual keys and their budgets: requests per minute, tokens and dollars
//! per UTC day. Checked before the upstream call; a request that cannot be
//! attributed to a key is refused (fail closed).

use crate::budget::{Counters, Limits};
use crate::{GatewayConfig, GatewayError};

/// Name used for metrics and audit when no virtual keys are configured.
pub const OPEN: &str = "-";

#[derive(Debug)]
struct VirtualKey {
    name: String,
    secret: String,
    limits: Limits,
}

pub struct Keys {
    keys: Vec<VirtualKey>,
    counters: Counters,
}

fn field<T: std::str::FromStr>(v: Option<&str>, default: T, what: &str) -> Result<T, GatewayError> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| GatewayError::Config(format!("key limit {what} '{s}' is not a number"))),
    }
}

impl Keys {
    pub fn from_config(c: &GatewayConfig) -> Result<Self, GatewayError> {
        let mut keys = Vec::new();
        for entry in c.keys.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let mut parts = entry.split(':');
            let name = parts.next().unwrap_or_default().trim();
            let secret = parts.next().unwrap_or_default().trim();
            if name.is_empty() || secret.is_empty() {
                return Err(GatewayError::Config(
                    "each gateway key is NAME:KEY[:REQUESTS_PER_MINUTE[:TOKENS_PER_DAY[:USD_PER_DAY]]]"
                        .into(),
                ));
            }
            let limits = Limits {
                per_minute: field(parts.next(), c.requests_per_minute, "requests per minute")?,
                tokens_per_day: field(parts.next(), c.tokens_per_day, "tokens per day")?,
                usd_per_day: field(parts.next(), c.usd_per_day, "USD per day")?,
            };
            if !(limits.usd_per_day.is_finite() && limits.usd_per_day >= 0.0) {
                return Err(GatewayError::Config(format!(
                    "key '{name}': USD per day must be a non-negative number"
                )));
            }
            if keys
                .iter()
                .any(|k: &VirtualKey| k.name == name || k.secret == secret)
            {
                return Err(GatewayError::Config(format!(
                    "gateway key '{name}' is listed twice"
                )));
            }
            keys.push(VirtualKey {
                name: name.to_string(),
                secret: secret.to_string(),
                limits,
            });
        }
        let counters = match c.redis_url.trim() {
            "" => Counters::local(),
            url => Counters::shared(url, &c.redis_key_prefix)?,
        };
        Ok(Keys { keys, counters })
    }

    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether `presented` is one of the keys.
    pub fn knows(&self, presented: &str) -> Result<(), GatewayError> {
        self.keys
            .iter()
            .any(|k| constant_time_eq(k.secret.as_bytes(), presented.as_bytes()))
            .then_some(())
            .ok_or(GatewayError::Unauthorized)
    }

    /// Waits up to `wait` for shared counters to connect.
    pub async fn connect(&self, wait: std::time::Duration) -> bool {
        self.counters.connect(wait).await
    }

    /// Whether requests with a key can be admitted now.
    pub fn budgets_reachable(&self) -> bool {
        self.keys.is_empty() || self.counters.reachable()
    }

    /// The key's name if `presented` may make a request now; counts it
    /// against the per-minute limit.
    pub async fn admit(&self, presented: Option<&str>) -> Result<String, GatewayError> {
        if self.keys.is_empty() {
            return Ok(OPEN.to_string());
        }
        let presented = presented.ok_or(GatewayError::Unauthorized)?;
        let key = self
            .keys
            .iter()
            .find(|k| constant_time_eq(k.secret.as_bytes(), presented.as_bytes()))
            .ok_or(GatewayError::Unauthorized)?;
        match self.counters.admit(&key.name, &key.limits).await? {
            Ok(()) => Ok(key.name.clone()),
            Err(refused) => Err(GatewayError::RateLimited {
                key: key.name.clone(),
                limit: refused.limit,
                retry_after: refused.retry_after,
            }),
        }
    }

    /// Charges a finished request to its key's daily budgets.
    pub fn charge(&self, name: &str, tokens: u64, usd: f64) {
        if !self.keys.is_empty() {
            self.counters.charge(name, tokens, usd);
        }
    }
}

/// Compares secrets without leaking their common prefix through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(entries: &[&str]) -> Keys {
        Keys::from_config(&GatewayConfig {
            keys: entries.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn unknown_or_missing_keys_are_refused() {
        let k = keys(&["team:sk-1"]);
        assert!(matches!(
            k.admit(None).await,
            Err(GatewayError::Unauthorized)
        ));
        assert!(matches!(
            k.admit(Some("sk-2")).await,
            Err(GatewayError::Unauthorized)
        ));
        assert_eq!(k.admit(Some("sk-1")).await.unwrap(), "team");
    }

    #[tokio::test]
    async fn per_minute_limit_says_when_to_retry() {
        let k = keys(&["team:sk-1:2"]);
        k.admit(Some("sk-1")).await.unwrap();
        k.admit(Some("sk-1")).await.unwrap();
        match k.admit(Some("sk-1")).await {
            Err(e @ GatewayError::RateLimited { .. }) => {
                let s = e.retry_after().unwrap();
                assert!((1..=60).contains(&s), "{s}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn daily_budgets_refuse_once_spent() {
        let k = keys(&["a:sk-a::100", "b:sk-b:::0.5"]);
        k.admit(Some("sk-a")).await.unwrap();
        k.charge("a", 100, 0.0);
        assert!(matches!(
            k.admit(Some("sk-a")).await,
            Err(GatewayError::RateLimited {
                limit: "tokens per day",
                ..
            })
        ));
        k.charge("b", 10, 0.49);
        k.admit(Some("sk-b")).await.unwrap();
        k.charge("b", 10, 0.02);
        assert!(matches!(
            k.admit(Some("sk-b")).await,
            Err(GatewayError::RateLimited {
                limit: "USD per day",
                ..
            })
        ));
    }

    #[test]
    fn malformed_entries_are_configuration_errors() {
        for bad in ["nokey", "a:sk:x", "a:sk:1:2:-1", ":sk"] {
            let r = Keys::from_config(&GatewayConfig {
                keys: vec![bad.into()],
                ..Default::default()
            });
            assert!(matches!(r, Err(GatewayError::Config(_))), "{bad}");
        }
    }
}
