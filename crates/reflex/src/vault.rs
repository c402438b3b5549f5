//! Reversible redaction (SPEC §9.3): `"redact": "tokenize"` replaces each
//! detected value with a numbered placeholder (`[EMAIL_1]`; one value, one
//! placeholder) and keeps the originals here under a `vault_id`, so that
//! `POST /api/v1/reflex/restore` can put them back into a text written
//! from the placeholders (a plan, a model's answer).
//!
//! Entries are sealed with ChaCha20-Poly1305 under `vault_key` (random per
//! process when unset, so set it when several replicas share Redis), bound
//! to their id as associated data, and expire after `vault_ttl_seconds`.
//! With Redis they live there (`SET … EX`), otherwise in this process,
//! which then holds at most [`LOCAL_CAPACITY`] entries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use octollm_types::reflex::PiiType;
use parking_lot::Mutex;
use rand::RngCore;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};

use crate::pii::RawPii;
use crate::redact::replace_spans;
use crate::redis_link::RedisLink;

/// Most entries the in-process vault keeps; the oldest go first.
pub const LOCAL_CAPACITY: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no vault entry {0} (unknown, or expired)")]
    Missing(String),
    #[error("the vault could not store the entry: {0}")]
    Store(String),
    #[error("the vault entry does not open with this layer's vault_key")]
    Sealed,
}

/// Placeholder → original value.
pub type Mapping = Vec<(String, String)>;

/// The text with each value replaced by its placeholder, and the mapping.
/// Placeholders the text already holds are not used, so that restoring
/// gives back exactly the text that was tokenized.
pub fn tokenize(text: &str, findings: &[RawPii]) -> (String, Mapping) {
    let mut mapping: Mapping = Vec::new();
    let mut counts: HashMap<PiiType, usize> = HashMap::new();
    let out = replace_spans(text, findings, |f, value, out| {
        let placeholder = match mapping.iter().find(|(_, v)| v == value) {
            Some((p, _)) => p.clone(),
            None => {
                let n = counts.entry(f.kind).or_insert(0);
                let p = loop {
                    *n += 1;
                    let p = placeholder(f.kind, *n);
                    if !text.contains(&p) {
                        break p;
                    }
                };
                mapping.push((p.clone(), value.to_string()));
                p
            }
        };
        out.push_str(&placeholder);
    });
    (out, mapping)
}

/// The `n`th placeholder of a kind: its label numbered, `[EMAIL_1]`.
/// Labels are `[` capitals and underscores `]`, so a placeholder is
/// `[`, capitals, digits and underscores, then `]`.
pub fn placeholder(kind: PiiType, n: usize) -> String {
    let label = kind.label();
    format!("{}_{n}]", &label[..label.len() - 1])
}

/// The longest a placeholder's inside gets: the longest label and a
/// number of up to 20 digits.
const PLACEHOLDER_MAX: usize = 40;

/// Where a placeholder that `text` may not have finished yet begins: the
/// byte index of a last `[` followed only by characters a placeholder
/// holds. Text streamed in pieces is restored only up to there, so a
/// placeholder cut between two pieces is restored whole.
pub fn unfinished_placeholder(text: &str) -> Option<usize> {
    let open = text.rfind('[')?;
    let inside = &text[open + 1..];
    let could_be = inside.len() <= PLACEHOLDER_MAX
        && inside
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    could_be.then_some(open)
}

/// The text with each value that `mapping` holds replaced by its
/// placeholder and every other value by its label (`[EMAIL]`).
pub fn tokenize_known(text: &str, findings: &[RawPii], mapping: &Mapping) -> String {
    replace_spans(text, findings, |f, value, out| {
        match mapping.iter().find(|(_, v)| v == value) {
            Some((p, _)) => out.push_str(p),
            None => out.push_str(f.kind.label()),
        }
    })
}

/// `text` with every placeholder of `mapping` replaced by its value; how
/// many were replaced. One pass from the left: a value put back is never
/// read again, so a value that holds another placeholder's text stays as
/// it was.
pub fn restore(text: &str, mapping: &Mapping) -> (String, usize) {
    let values: HashMap<&str, &str> = mapping
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    let longest = mapping.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    let mut n = 0;
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        // A placeholder ends at its first `]`, which is ASCII: slicing
        // there cannot split a character.
        let value = tail.as_bytes()[..tail.len().min(longest)]
            .iter()
            .position(|&b| b == b']')
            .and_then(|close| {
                let p = &tail[..=close];
                values.get(p).map(|v| (p.len(), *v))
            });
        match value {
            Some((len, v)) => {
                out.push_str(v);
                n += 1;
                rest = &tail[len..];
            }
            None => {
                out.push('[');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    (out, n)
}

pub struct Vault {
    cipher: ChaCha20Poly1305,
    ttl: Duration,
    redis: Option<(RedisLink, String)>,
    local: Mutex<HashMap<String, (Instant, Vec<u8>)>>,
}

impl Vault {
    /// `key` is any string (hashed to the cipher key); empty: a random key.
    pub fn new(key: &str, ttl: Duration, redis: Option<(RedisLink, String)>) -> Vault {
        let bytes: [u8; 32] = if key.is_empty() {
            let mut k = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut k);
            k
        } else {
            Sha256::digest(key.as_bytes()).into()
        };
        Vault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
            ttl,
            redis,
            local: Mutex::new(HashMap::new()),
        }
    }

    fn seal(&self, id: &str, mapping: &Mapping) -> Result<Vec<u8>, VaultError> {
        let plain = serde_json::to_vec(mapping).map_err(|e| VaultError::Store(e.to_string()))?;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Store("encryption failed".into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn open(&self, id: &str, sealed: &[u8]) -> Result<Mapping, VaultError> {
        let (nonce, body) = sealed.split_at_checked(12).ok_or(VaultError::Sealed)?;
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Sealed)?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Sealed)
    }

    /// Stores `mapping` and returns its id.
    pub async fn put(&self, mapping: &Mapping) -> Result<String, VaultError> {
        let id = uuid::Uuid::new_v4().to_string();
        let sealed = self.seal(&id, mapping)?;
        match &self.redis {
            Some((link, prefix)) => {
                let mut conn = link.conn().map_err(|e| VaultError::Store(e.to_string()))?;
                let key = format!("{prefix}vault:{id}");
                let ttl = self.ttl.as_secs().max(1);
                link.run(conn.set_ex::<_, _, ()>(key, sealed, ttl))
                    .await
                    .map_err(|e| VaultError::Store(e.to_string()))?;
            }
            None => {
                let mut local = self.local.lock();
                let now = Instant::now();
                local.retain(|_, (until, _)| *until > now);
                if local.len() >= LOCAL_CAPACITY {
                    if let Some(oldest) = local
                        .iter()
                        .min_by_key(|(_, (until, _))| *until)
                        .map(|(k, _)| k.clone())
                    {
                        local.remove(&oldest);
                    }
                }
                local.insert(id.clone(), (now + self.ttl, sealed));
            }
        }
        Ok(id)
    }

    /// The mapping stored under `id`, while it lives.
    pub async fn get(&self, id: &str) -> Result<Mapping, VaultError> {
        let sealed = match &self.redis {
            Some((link, prefix)) => {
                let mut conn = link.conn().map_err(|e| VaultError::Store(e.to_string()))?;
                let key = format!("{prefix}vault:{id}");
                link.run(conn.get::<_, Option<Vec<u8>>>(key))
                    .await
                    .map_err(|e| VaultError::Store(e.to_string()))?
            }
            None => {
                let local = self.local.lock();
                local
                    .get(id)
                    .filter(|(until, _)| *until > Instant::now())
                    .map(|(_, s)| s.clone())
            }
        };
        let sealed = sealed.ok_or_else(|| VaultError::Missing(id.to_string()))?;
        self.open(id, &sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_placeholder_is_found_at_the_end_only() {
        assert_eq!(unfinished_placeholder("your SSN is [SS"), Some(12));
        assert_eq!(unfinished_placeholder("your SSN is ["), Some(12));
        assert_eq!(unfinished_placeholder("is [SSN_1"), Some(3));
        assert_eq!(unfinished_placeholder("is [SSN_1]"), None);
        assert_eq!(unfinished_placeholder("is [SSN_1] and [a"), None);
        assert_eq!(unfinished_placeholder("no bracket"), None);
        let long = format!("[{}", "A".repeat(PLACEHOLDER_MAX + 1));
        assert_eq!(unfinished_placeholder(&long), None);
        let p = placeholder(PiiType::CreditCard, 12);
        assert_eq!(p, "[CREDIT_CARD_12]");
        for cut in 1..p.len() {
            assert_eq!(unfinished_placeholder(&p[..cut]), Some(0), "{}", &p[..cut]);
        }
    }

    #[test]
    fn placeholders_are_numbered_per_type_and_shared_by_equal_values() {
        let text = "a@x.io and b@y.io, again a@x.io; ssn 123-45-6789";
        let f = |kind, s: &str| {
            let start = text.find(s).unwrap();
            RawPii::new(kind, start, start + s.len(), 0.9)
        };
        let mut found = vec![
            f(PiiType::Email, "a@x.io"),
            f(PiiType::Email, "b@y.io"),
            f(PiiType::Ssn, "123-45-6789"),
        ];
        let again = text.rfind("a@x.io").unwrap();
        found.insert(2, RawPii::new(PiiType::Email, again, again + 6, 0.9));
        let (out, map) = tokenize(text, &found);
        assert_eq!(out, "[EMAIL_1] and [EMAIL_2], again [EMAIL_1]; ssn [SSN_1]");
        assert_eq!(map.len(), 3);
        let (back, n) = restore("Write to [EMAIL_2] and [EMAIL_1]", &map);
        assert_eq!((back.as_str(), n), ("Write to b@y.io and a@x.io", 2));
    }

    #[test]
    fn restore_gives_back_a_text_that_already_held_placeholders() {
        // Found by the reflex_detect fuzz target: the text's own
        // `[EMAIL_1]` was given the first email's number, and restoring
        // turned it into that address.
        let text = "[EMAIL_1] wrote to a@x.io; [SSN_1] is not 123-45-6789";
        let f = |kind, s: &str| {
            let start = text.find(s).unwrap();
            RawPii::new(kind, start, start + s.len(), 0.9)
        };
        let found = [f(PiiType::Email, "a@x.io"), f(PiiType::Ssn, "123-45-6789")];
        let (out, map) = tokenize(text, &found);
        assert_eq!(out, "[EMAIL_1] wrote to [EMAIL_2]; [SSN_1] is not [SSN_2]");
        assert_eq!(restore(&out, &map), (text.to_string(), 2));
    }

    #[test]
    fn a_restored_value_is_not_read_again() {
        let map = vec![
            ("[PASSWORD_1]".to_string(), "x[EMAIL_1]".to_string()),
            ("[EMAIL_1]".to_string(), "a@x.io".to_string()),
        ];
        let (back, n) = restore("[[PASSWORD_1]] and [EMAIL_1] [EMAIL_", &map);
        assert_eq!(back, "[x[EMAIL_1]] and a@x.io [EMAIL_");
        assert_eq!(n, 2);
    }

    #[tokio::test]
    async fn entries_are_sealed_bound_to_their_id_and_expire() {
        let v = Vault::new("k", Duration::from_millis(200), None);
        let map = vec![("[EMAIL_1]".to_string(), "a@x.io".to_string())];
        let id = v.put(&map).await.unwrap();
        assert_eq!(v.get(&id).await.unwrap(), map);
        // The bytes held are not the value.
        let held = v.local.lock().get(&id).unwrap().1.clone();
        assert!(!held.windows(6).any(|w| w == b"a@x.io"));
        // Sealed under one id, it does not open under another.
        assert!(matches!(v.open("other", &held), Err(VaultError::Sealed)));
        // Nor under another key.
        let other = Vault::new("other key", Duration::from_secs(1), None);
        assert!(matches!(other.open(&id, &held), Err(VaultError::Sealed)));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(matches!(v.get(&id).await, Err(VaultError::Missing(_))));
    }
}
