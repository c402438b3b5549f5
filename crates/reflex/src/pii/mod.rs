//! PII and secret detection.
//!
//! Three cheap passes over the bytes, each feeding small verifiers:
//! an Aho-Corasick automaton over secret prefixes and key words, a digit
//! walk for number-shaped data, and `memchr` for `@` and `:`. No per-type
//! regex passes: on clean text almost nothing reaches a verifier.

mod numeric;
mod secrets;
pub mod validate;

use octollm_types::reflex::PiiType;

/// A finding with byte offsets, before offsets are converted for the API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawPii {
    pub kind: PiiType,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
    /// For a `custom` finding, the index of its recognizer in the rules.
    pub custom: Option<u16>,
}

impl RawPii {
    pub fn new(kind: PiiType, start: usize, end: usize, confidence: f32) -> Self {
        RawPii {
            kind,
            start,
            end,
            confidence,
            custom: None,
        }
    }
}

#[inline]
pub(crate) fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `start..end` grown both ways over the bytes that satisfy `keep`.
pub(crate) fn widen(
    bytes: &[u8],
    start: usize,
    end: usize,
    keep: impl Fn(u8) -> bool,
) -> (usize, usize) {
    let mut a = start;
    while a > 0 && keep(bytes[a - 1]) {
        a -= 1;
    }
    let mut b = end;
    while b < bytes.len() && keep(bytes[b]) {
        b += 1;
    }
    (a, b)
}

/// How specific a type is: on overlap the more specific finding wins.
fn specificity(kind: PiiType) -> u8 {
    match kind {
        PiiType::PrivateKey => 12,
        PiiType::Jwt => 11,
        PiiType::AwsAccessKey => 10,
        PiiType::ApiToken => 9,
        PiiType::UrlCredentials => 8,
        PiiType::Password => 7,
        PiiType::Iban => 6,
        PiiType::CreditCard => 5,
        PiiType::Ssn => 4,
        PiiType::Email => 3,
        PiiType::Phone => 2,
        PiiType::IpAddress => 1,
        // The operator's own types lose to every built-in one they overlap.
        PiiType::Custom => 0,
    }
}

/// The PII detector; build once and share.
pub struct PiiDetector {
    secrets: secrets::Secrets,
}

#[derive(Debug, thiserror::Error)]
#[error("could not build the PII triggers: {0}")]
pub struct BuildError(#[from] crate::anchors::ShortAnchor);

impl PiiDetector {
    pub fn new() -> Result<Self, BuildError> {
        Ok(PiiDetector {
            secrets: secrets::Secrets::new()?,
        })
    }

    /// Every finding in `text`, sorted by start and without overlaps.
    pub fn detect(&self, text: &str) -> Vec<RawPii> {
        let mut out = Vec::new();
        self.secrets.scan(text, &mut out);
        secrets::scan_emails(text, &mut out);
        numeric::scan(text, &mut out);
        numeric::scan_ipv6(text, &mut out);
        resolve_overlaps(out)
    }
}

/// Keeps one finding per overlapping cluster: the most specific, then the longest.
pub(crate) fn resolve_overlaps(mut found: Vec<RawPii>) -> Vec<RawPii> {
    if found.len() < 2 {
        return found;
    }
    found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    // In place: `dedup_by` hands each finding with the last one kept, and
    // drops it when they overlap, after swapping it in if it is better.
    found.dedup_by(|f, last| {
        if f.start >= last.end {
            return false;
        }
        if (specificity(f.kind), f.end - f.start) > (specificity(last.kind), last.end - last.start)
        {
            std::mem::swap(f, last);
        }
        true
    });
    found
}

/// The masked form shown in `pii_detected[].value` and by the mask strategy.
/// Personal data keeps a short tail; secrets never reveal their secret part.
pub fn mask(kind: PiiType, value: &str) -> String {
    // Each mask is allocated once at its final size (`concat`): every
    // finding of a screen is masked, and growing the strings through
    // `format!` cost more than finding the value did.
    match kind {
        PiiType::Ssn | PiiType::CreditCard | PiiType::Phone | PiiType::Iban => {
            mask_keep_last_digits(value, 4, kind == PiiType::Iban)
        }
        PiiType::Email => match value.split_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().map_or("*", |c| &local[..c.len_utf8()]);
                [first, "***@", domain].concat()
            }
            None => "***".to_string(),
        },
        PiiType::IpAddress => {
            if value.contains(':') {
                [value.split(':').next().unwrap_or(""), ":****"].concat()
            } else {
                [value.split('.').next().unwrap_or(""), ".***.***.***"].concat()
            }
        }
        PiiType::UrlCredentials => mask_url_password(value),
        PiiType::AwsAccessKey => [value.get(..4).unwrap_or(""), "****************"].concat(),
        PiiType::ApiToken => {
            let keep = value.find(['_', '-']).map(|i| i + 1).unwrap_or(4).min(11);
            [value.get(..keep).unwrap_or(""), "****"].concat()
        }
        PiiType::Jwt => "eyJ****.****.****".to_string(),
        PiiType::PrivateKey => {
            "-----BEGIN PRIVATE KEY----- **** -----END PRIVATE KEY-----".to_string()
        }
        PiiType::Password | PiiType::Custom => "********".to_string(),
    }
}

fn mask_keep_last_digits(value: &str, keep: usize, keep_country: bool) -> String {
    let alnum_total = value.bytes().filter(u8::is_ascii_alphanumeric).count();
    let mut seen = 0;
    // Only ASCII characters are replaced, by one ASCII byte each, so the
    // masked value is as long as the value.
    let mut out = String::with_capacity(value.len());
    out.extend(value.chars().map(|c| {
        if !c.is_ascii_alphanumeric() {
            return c;
        }
        seen += 1;
        if seen > alnum_total.saturating_sub(keep) || (keep_country && seen <= 2) {
            c
        } else {
            '*'
        }
    }));
    out
}

fn mask_url_password(value: &str) -> String {
    let Some(scheme_end) = value.find("://") else {
        return "****".to_string();
    };
    let rest = &value[scheme_end + 3..];
    match (rest.rfind('@'), rest.find(':')) {
        (Some(at), Some(colon)) if colon < at => [
            &value[..scheme_end],
            "://",
            &rest[..colon],
            ":****@",
            &rest[at + 1..],
        ]
        .concat(),
        _ => "****".to_string(),
    }
}

#[cfg(test)]
mod tests;
