//! Encoded payloads: base64, hex, escaped bytes and rot13.
//!
//! An instruction can be hidden from the rules by encoding it. Runs that
//! look encoded are decoded, and what they say is screened again by the
//! whole detector, a bounded number of levels deep and within a bounded
//! decoding budget. Kept apart because the decoders are self-contained and
//! their limits are what keeps a hostile input from making screening slow.

use base64::Engine as _;
use octollm_types::reflex::{InjectionCategory, Severity};

use super::{bump, truncate, InjectionDetector, RawInjection};

/// Encoded payloads are decoded at most this deep (base64 of base64…).
pub(super) const MAX_DEPTH: u8 = 2;
const MAX_ENCODED_CANDIDATES: usize = 32;
const MAX_DECODED_TOTAL: usize = 64 * 1024;
const MIN_ENCODED_LEN: usize = 16;

pub(super) fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
            'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
            _ => c,
        })
        .collect()
}

impl InjectionDetector {
    /// Decodes base64, hex and escaped-byte runs and screens what they say.
    pub(super) fn encoded_in(&self, text: &str, depth: u8, out: &mut Vec<RawInjection>) {
        let mut budget = MAX_DECODED_TOTAL;
        for (start, end, decoded, encoding) in encoded_candidates(text)
            .into_iter()
            .take(MAX_ENCODED_CANDIDATES)
        {
            if budget == 0 {
                break;
            }
            let Some(decoded) = decoded else { continue };
            budget = budget.saturating_sub(decoded.len());
            let inner = self.detect_depth(&decoded, depth + 1, &mut Default::default());
            let Some(worst) = inner
                .iter()
                .filter(|f| f.severity > Severity::Low)
                .max_by_key(|f| f.severity)
            else {
                continue;
            };
            out.push(RawInjection {
                category: InjectionCategory::EncodedPayload,
                severity: bump(worst.severity),
                confidence: (worst.confidence * 0.95).min(0.99),
                rule: format!("{encoding}:{}", worst.rule),
                matched: truncate(&worst.matched, 120),
                start,
                end,
                note: Some(format!("{encoding}-encoded {}", worst.category.as_str())),
            });
        }
    }
}

/// Runs that look encoded: `(start, end, decoded text if printable, encoding)`.
fn encoded_candidates(text: &str) -> Vec<(usize, usize, Option<String>, &'static str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    static B64: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
            i += 1;
        }
        t
    };
    let is_b64 = |c: u8| B64[c as usize];
    let mut i = 0;
    while i < bytes.len() && out.len() < MAX_ENCODED_CANDIDATES {
        // Escaped bytes: \x69\x67… or %69%67…
        if (bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x')) || bytes[i] == b'%' {
            let (end, decoded) = escaped_bytes(bytes, i);
            if end > i {
                out.push((i, end, printable(decoded), "escaped"));
                i = end;
                continue;
            }
        }
        if !is_b64(bytes[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < bytes.len() && is_b64(bytes[i]) {
            i += 1;
        }
        let mut e = i;
        while e < bytes.len() && bytes[e] == b'=' && e - i < 2 {
            e += 1;
        }
        let run = &bytes[s..i];
        if run.len() == 2 && run.iter().all(u8::is_ascii_hexdigit) && bytes.get(i) == Some(&b' ') {
            // Possibly hex bytes written with spaces: "69 67 6e 6f 72 65 …".
            if let Some((end, decoded)) = spaced_hex_at(bytes, s) {
                out.push((s, end, printable(decoded), "hex"));
                i = end;
                continue;
            }
        }
        if run.len() < MIN_ENCODED_LEN || (s > 0 && bytes[s - 1].is_ascii_alphanumeric()) {
            i = e.max(i);
            continue;
        }
        if run.len().is_multiple_of(2) && run.iter().all(u8::is_ascii_hexdigit) {
            out.push((s, i, hex::decode(run).ok().and_then(printable), "hex"));
        } else if run
            .iter()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, b'+' | b'/'))
        {
            out.push((
                s,
                e,
                decode_base64(&bytes[s..e]).and_then(printable),
                "base64",
            ));
        }
        i = e.max(i);
    }
    out
}

fn escaped_bytes(bytes: &[u8], mut i: usize) -> (usize, Vec<u8>) {
    let start = i;
    let mut out = Vec::new();
    loop {
        let width = if bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'x') {
            2
        } else if bytes.get(i) == Some(&b'%') {
            1
        } else {
            break;
        };
        let Some(pair) = bytes.get(i + width..i + width + 2) else {
            break;
        };
        let Ok(b) = u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("zz"), 16) else {
            break;
        };
        out.push(b);
        i += width + 2;
    }
    if out.len() >= 8 {
        (i, out)
    } else {
        (start, Vec::new())
    }
}

/// A run of at least eight space-separated hex byte pairs starting at `s`.
fn spaced_hex_at(bytes: &[u8], s: usize) -> Option<(usize, Vec<u8>)> {
    let pair_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .is_some_and(|p| p.iter().all(u8::is_ascii_hexdigit))
            && bytes.get(i + 2).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    let mut i = s;
    let mut decoded = Vec::new();
    while pair_at(i) {
        let hi = (bytes[i] as char).to_digit(16)?;
        let lo = (bytes[i + 1] as char).to_digit(16)?;
        decoded.push((hi * 16 + lo) as u8);
        i += 2;
        if bytes.get(i) == Some(&b' ') && pair_at(i + 1) {
            i += 1;
        } else {
            break;
        }
    }
    (decoded.len() >= 8).then_some((i, decoded))
}

fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut body: Vec<u8> = run.iter().copied().filter(|c| *c != b'=').collect();
    if body.len() % 4 == 1 {
        // One stray character cannot encode anything; it is not ours.
        body.pop();
    }
    STANDARD_NO_PAD
        .decode(&body)
        .or_else(|_| URL_SAFE_NO_PAD.decode(&body))
        .ok()
}

/// Decoded bytes worth screening: UTF-8 and mostly printable text.
fn printable(decoded: Vec<u8>) -> Option<String> {
    let s = String::from_utf8(decoded).ok()?;
    let total = s.chars().count();
    if total < 6 {
        return None;
    }
    let good = s
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    (good * 100 >= total * 95 && letters * 2 >= total).then_some(s)
}
