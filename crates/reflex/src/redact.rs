//! Replacing detected values in the text.

use hmac::{Hmac, Mac};
use octollm_types::reflex::{PiiType, RedactionStrategy};
use sha2::Sha256;

use crate::pii::{mask, RawPii};

/// The key for the `hash` strategy. Keyed so that tokens of low-entropy
/// values (SSNs, phone numbers) cannot be reversed by hashing every candidate.
#[derive(Clone)]
pub struct HashKey(Vec<u8>);

impl HashKey {
    /// A configured key, so replicas agree; or a random one when empty.
    pub fn new(configured: &str) -> Self {
        if configured.is_empty() {
            let k: [u8; 32] = rand::random();
            HashKey(k.to_vec())
        } else {
            HashKey(configured.as_bytes().to_vec())
        }
    }

    /// A short id of the key, so cached answers made under another key are
    /// never served.
    pub fn fingerprint(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.token(PiiType::Email, "fingerprint").as_bytes()[..8]);
        out
    }

    fn token(&self, kind: PiiType, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail; fall back to
        // a fixed marker rather than panic if that ever changed.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return "000000000000".to_string();
        };
        mac.update(kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..6])
    }
}

/// `text` with each finding replaced. Findings are sorted and disjoint, with
/// spans on char boundaries, so slicing cannot split a character.
pub fn redact(
    text: &str,
    findings: &[RawPii],
    strategy: RedactionStrategy,
    key: &HashKey,
) -> String {
    replace_spans(text, findings, |f, value, out| match strategy {
        RedactionStrategy::Mask => out.push_str(&mask(f.kind, value)),
        RedactionStrategy::Label => out.push_str(f.kind.label()),
        RedactionStrategy::Hash => {
            let label = f.kind.label();
            out.push_str(&label[..label.len() - 1]);
            out.push(':');
            out.push_str(&key.token(f.kind, value));
            out.push(']');
        }
        RedactionStrategy::Remove => {}
    })
}

/// `text` with each finding's span replaced by what `with` writes for it
/// (given the finding and its value); overlapping or out-of-range findings
/// are skipped.
pub fn replace_spans(
    text: &str,
    findings: &[RawPii],
    mut with: impl FnMut(&RawPii, &str, &mut String),
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        if f.start < at || f.end > text.len() {
            continue;
        }
        out.push_str(&text[at..f.start]);
        with(f, &text[f.start..f.end], &mut out);
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: PiiType, start: usize, end: usize) -> RawPii {
        RawPii::new(kind, start, end, 0.9)
    }

    #[test]
    fn strategies() {
        let t = "SSN 123-45-6789 ok";
        let fs = [f(PiiType::Ssn, 4, 15)];
        let k = HashKey::new("k");
        assert_eq!(redact(t, &fs, RedactionStrategy::Label, &k), "SSN [SSN] ok");
        assert_eq!(
            redact(t, &fs, RedactionStrategy::Mask, &k),
            "SSN ***-**-6789 ok"
        );
        assert_eq!(redact(t, &fs, RedactionStrategy::Remove, &k), "SSN  ok");
        let h = redact(t, &fs, RedactionStrategy::Hash, &k);
        assert!(h.starts_with("SSN [SSN:") && !h.contains("6789"), "{h}");
    }

    #[test]
    fn hash_is_stable_and_keyed() {
        let t = "a 123-45-6789 b 123-45-6789";
        let fs = [f(PiiType::Ssn, 2, 13), f(PiiType::Ssn, 16, 27)];
        let out = redact(t, &fs, RedactionStrategy::Hash, &HashKey::new("k1"));
        let tokens: Vec<&str> = out.split(' ').filter(|w| w.starts_with("[SSN:")).collect();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0], tokens[1]);
        let other = redact(t, &fs, RedactionStrategy::Hash, &HashKey::new("k2"));
        assert_ne!(out, other);
    }
}
