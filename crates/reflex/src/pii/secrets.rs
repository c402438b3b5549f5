//! Credentials and other literal-prefixed secrets, found from one
//! Aho-Corasick pass over trigger literals, then verified in place.

use crate::anchors::{AnchorSet, Case, ShortAnchor};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use octollm_types::reflex::PiiType;

use super::{is_word, widen, RawPii};

/// What a trigger literal asks us to verify.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    UrlCredentials,
    Aws,
    Pem,
    Jwt,
    Token(TokenShape),
    Password,
}

/// A provider token: exact prefix, body alphabet and body length bounds.
#[derive(Clone, Copy, Debug)]
struct TokenShape {
    prefix: &'static str,
    extra: &'static [u8],
    min: usize,
    max: usize,
    /// The body must mix letters and digits (keeps "sk-learn-…" prose out).
    mixed: bool,
}

const fn shape(
    prefix: &'static str,
    extra: &'static [u8],
    min: usize,
    max: usize,
    mixed: bool,
) -> TokenShape {
    TokenShape {
        prefix,
        extra,
        min,
        max,
        mixed,
    }
}

const TOKENS: &[TokenShape] = &[
    shape("ghp_", b"", 30, 255, false),
    shape("gho_", b"", 30, 255, false),
    shape("ghu_", b"", 30, 255, false),
    shape("ghs_", b"", 30, 255, false),
    shape("ghr_", b"", 30, 255, false),
    shape("github_pat_", b"_", 22, 255, false),
    shape("glpat-", b"_-", 20, 64, false),
    shape("xoxb-", b"-", 10, 255, false),
    shape("xoxp-", b"-", 10, 255, false),
    shape("xoxa-", b"-", 10, 255, false),
    shape("xoxr-", b"-", 10, 255, false),
    shape("xoxs-", b"-", 10, 255, false),
    shape("xoxe-", b"-", 10, 255, false),
    shape("xapp-", b"-", 10, 255, false),
    shape("sk-", b"_-", 20, 255, true),
    shape("sk_live_", b"", 16, 255, false),
    shape("sk_test_", b"", 16, 255, false),
    shape("rk_live_", b"", 16, 255, false),
    shape("rk_test_", b"", 16, 255, false),
    shape("npm_", b"", 36, 36, false),
    shape("AIza", b"_-", 35, 35, false),
    shape("hf_", b"", 30, 64, true),
    shape("pypi-", b"_-", 50, 255, false),
];

const AWS_PREFIXES: &[&str] = &[
    "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA", "ABIA", "ACCA",
];

/// Key names whose value is a secret. A key is any run of letters, digits,
/// `_` and `-` that contains one of these and ends with a secret-ish word.
const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
];
const SECRET_KEY_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
];
const PLACEHOLDER_VALUES: &[&str] = &[
    "null",
    "none",
    "true",
    "false",
    "undefined",
    "redacted",
    "[redacted]",
    "<redacted>",
    "changeme?",
    "xxx",
    "xxxx",
    "***",
    "****",
    "[password]",
    "<password>",
    "your_password",
    "yourpassword",
    "password",
    "secret",
    "required",
    "optional",
    "string",
];

/// The triggers, built once per process.
pub struct Secrets {
    anchors: AnchorSet,
    triggers: Vec<Trigger>,
}

impl Secrets {
    pub fn new() -> Result<Self, ShortAnchor> {
        let (pats, triggers) = trigger_patterns();
        Ok(Secrets {
            anchors: AnchorSet::new(&pats, Case::Insensitive)?,
            triggers,
        })
    }

    pub fn scan(&self, text: &str, out: &mut Vec<RawPii>) {
        let bytes = text.as_bytes();
        // Every occurrence, overlapping ones too: "sk_live_" and "sk-"
        // style prefixes and key words inside longer keys must all be seen.
        // They are taken in order of end, longer first, so that a finding
        // that skips what its value covers skips the same triggers as ever.
        let mut hits: Vec<(usize, usize, usize)> = Vec::new();
        self.anchors
            .for_each(bytes, |id, start, end| hits.push((end, start, id)));
        hits.sort_unstable();
        let mut skip_until = 0;
        for (end, start, id) in hits {
            if start < skip_until {
                continue;
            }
            let found = match self.triggers[id] {
                Trigger::UrlCredentials => url_credentials(bytes, start),
                Trigger::Aws => aws(bytes, start),
                Trigger::Pem => pem(text, start),
                Trigger::Jwt => jwt(bytes, start),
                Trigger::Token(shape) => token(bytes, start, &shape),
                Trigger::Password => password(bytes, start, end),
            };
            if let Some(f) = found {
                // A keyword's value may itself be a more specific secret
                // ("token=eyJ…" is a JWT): let its own trigger see it, and
                // the overlap resolution keep the more specific finding.
                if f.kind != PiiType::Password {
                    skip_until = f.end;
                }
                out.push(f);
            }
        }
    }
}

/// The literal that sets off each trigger, and the trigger.
fn trigger_patterns() -> (Vec<String>, Vec<Trigger>) {
    let mut pats: Vec<String> = Vec::new();
    let mut triggers = Vec::new();
    pats.push("://".into());
    triggers.push(Trigger::UrlCredentials);
    for p in AWS_PREFIXES {
        pats.push((*p).into());
        triggers.push(Trigger::Aws);
    }
    pats.push("-----BEGIN ".into());
    triggers.push(Trigger::Pem);
    pats.push("eyJ".into());
    triggers.push(Trigger::Jwt);
    for t in TOKENS {
        pats.push(t.prefix.into());
        triggers.push(Trigger::Token(*t));
    }
    for w in PASSWORD_WORDS {
        pats.push((*w).into());
        triggers.push(Trigger::Password);
    }
    (pats, triggers)
}

fn url_credentials(bytes: &[u8], colon: usize) -> Option<RawPii> {
    let mut s = colon;
    while s > 0
        && (bytes[s - 1].is_ascii_alphanumeric() || matches!(bytes[s - 1], b'+' | b'.' | b'-'))
    {
        s -= 1;
    }
    if colon - s < 2 || !bytes[s].is_ascii_alphabetic() {
        return None;
    }
    let auth_start = colon + 3;
    let mut e = auth_start;
    while e < bytes.len()
        && !matches!(
            bytes[e],
            b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`' | b')' | b']'
        )
        && !bytes[e].is_ascii_whitespace()
    {
        e += 1;
    }
    let authority = &bytes[auth_start..e];
    let at = authority.iter().rposition(|c| *c == b'@')?;
    let userinfo = &authority[..at];
    let colon_in = userinfo.iter().position(|c| *c == b':')?;
    let host = &authority[at + 1..];
    let password = &userinfo[colon_in + 1..];
    // `user:****@host` is a URL whose password was already masked (by us
    // or by whoever wrote it): there is no secret left to report.
    if password.is_empty() || host.is_empty() || password.iter().all(|&c| c == b'*') {
        return None;
    }
    Some(RawPii::new(PiiType::UrlCredentials, s, e, 0.95))
}

fn aws(bytes: &[u8], p: usize) -> Option<RawPii> {
    let prefix = bytes.get(p..p + 4)?;
    if !AWS_PREFIXES.iter().any(|a| a.as_bytes() == prefix) || (p > 0 && is_word(bytes[p - 1])) {
        return None;
    }
    let body = bytes.get(p + 4..p + 20)?;
    if !body
        .iter()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return None;
    }
    if bytes.get(p + 20).is_some_and(|c| is_word(*c)) {
        return None;
    }
    Some(RawPii::new(PiiType::AwsAccessKey, p, p + 20, 0.95))
}

fn pem(text: &str, p: usize) -> Option<RawPii> {
    let rest = &text[p..];
    let header_end = rest.get(11..)?.find("-----")? + 11;
    let label = &rest[11..header_end];
    if !label.contains("PRIVATE KEY") || label.len() > 40 {
        return None;
    }
    let after_header = header_end + 5;
    let end = match rest[after_header..].find("-----END ") {
        Some(e) => {
            let tail = after_header + e + 9;
            match rest[tail..].find("-----") {
                Some(t) if t <= 40 => tail + t + 5,
                _ => tail,
            }
        }
        // A truncated key is still a key: take the base64 body that follows.
        None => {
            let body = &rest.as_bytes()[after_header..];
            let len = body
                .iter()
                .position(|c| {
                    !(c.is_ascii_alphanumeric()
                        || matches!(
                            c,
                            b'+' | b'/' | b'=' | b'\n' | b'\r' | b' ' | b':' | b'-' | b','
                        ))
                })
                .unwrap_or(body.len());
            after_header + len
        }
    };
    Some(RawPii::new(PiiType::PrivateKey, p, p + end, 0.99))
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn jwt(bytes: &[u8], p: usize) -> Option<RawPii> {
    if bytes.get(p..p + 3)? != b"eyJ" || (p > 0 && (is_word(bytes[p - 1]) || bytes[p - 1] == b'-'))
    {
        return None;
    }
    let mut i = p;
    let mut seg_starts = [p, 0, 0];
    for seg in 0..3 {
        let s = i;
        while i < bytes.len() && is_b64url(bytes[i]) {
            i += 1;
        }
        if seg < 2 {
            if i - s < 4 || bytes.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
            seg_starts[seg + 1] = i;
        }
    }
    let header = &bytes[p..seg_starts[1] - 1];
    let decoded = URL_SAFE_NO_PAD
        .decode(header.strip_suffix(b"=").unwrap_or(header))
        .ok()?;
    let looks_like_header = decoded.first() == Some(&b'{')
        && (memchr::memmem::find(&decoded, b"\"alg\"").is_some()
            || memchr::memmem::find(&decoded, b"\"typ\"").is_some());
    looks_like_header.then(|| RawPii::new(PiiType::Jwt, p, i, 0.95))
}

fn token(bytes: &[u8], p: usize, shape: &TokenShape) -> Option<RawPii> {
    let prefix = shape.prefix.as_bytes();
    if bytes.get(p..p + prefix.len())? != prefix
        || (p > 0 && (is_word(bytes[p - 1]) || bytes[p - 1] == b'-'))
    {
        return None;
    }
    let body_start = p + prefix.len();
    let mut e = body_start;
    while e < bytes.len() && (bytes[e].is_ascii_alphanumeric() || shape.extra.contains(&bytes[e])) {
        e += 1;
    }
    let body = &bytes[body_start..e];
    if body.len() < shape.min || body.len() > shape.max {
        return None;
    }
    if shape.mixed {
        let digits = body.iter().any(u8::is_ascii_digit);
        let letters = body.iter().any(u8::is_ascii_alphabetic);
        let longest_alnum = body
            .split(|c| !c.is_ascii_alphanumeric())
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0);
        if !(digits && letters && longest_alnum >= 16) {
            return None;
        }
    }
    Some(RawPii::new(PiiType::ApiToken, p, e, 0.95))
}

/// `password=hunter2`, `"api_key": "…"`, `DB_PASSWORD: s3cret`,
/// `my password is hunter2!`: the value is the finding.
fn password(bytes: &[u8], word_start: usize, word_end: usize) -> Option<RawPii> {
    let is_key = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let (ks, ke) = widen(bytes, word_start, word_end, is_key);
    let key = &bytes[ks..ke];
    if key.len() > 48 {
        return None;
    }
    let key_lower: Vec<u8> = key.iter().map(u8::to_ascii_lowercase).collect();
    if !SECRET_KEY_ENDINGS
        .iter()
        .any(|e| key_lower.ends_with(e.as_bytes()))
    {
        return None;
    }
    let mut i = ke;
    if matches!(bytes.get(i), Some(b'"') | Some(b'\'')) {
        i += 1;
    }
    while bytes.get(i) == Some(&b' ') || bytes.get(i) == Some(&b'\t') {
        i += 1;
    }
    let mut conf = 0.9;
    match bytes.get(i) {
        Some(b'=') | Some(b':') => {
            i += 1;
            if bytes.get(i) == Some(&b'=') {
                // "==" is a comparison, not an assignment.
                return None;
            }
        }
        // Prose: "my password is hunter2".
        Some(b'i') | Some(b'I')
            if bytes
                .get(i..i + 3)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"is ")) =>
        {
            i += 3;
            conf = 0.7;
        }
        _ => return None,
    }
    while bytes.get(i) == Some(&b' ') || bytes.get(i) == Some(&b'\t') {
        i += 1;
    }
    let (vs, ve) = match bytes.get(i) {
        Some(q @ (b'"' | b'\'' | b'`')) => {
            let vs = i + 1;
            let len = bytes[vs..]
                .iter()
                .take(256)
                .position(|c| c == q || *c == b'\n')?;
            (vs, vs + len)
        }
        _ => {
            let vs = i;
            let mut ve = vs;
            while ve < bytes.len()
                && !bytes[ve].is_ascii_whitespace()
                && !matches!(
                    bytes[ve],
                    b',' | b';' | b'"' | b'\'' | b'<' | b'>' | b')' | b']' | b'}'
                )
                && (bytes[ve] != b'&' || !starts_query_param(&bytes[ve + 1..]))
                && ve - vs < 256
            {
                ve += 1;
            }
            // The length cap can fall inside a character: the value then
            // ends before that character.
            while ve > vs && bytes.get(ve).is_some_and(|b| b & 0xC0 == 0x80) {
                ve -= 1;
            }
            // A sentence's full stop is not part of the value.
            while ve > vs && matches!(bytes[ve - 1], b'.' | b':') {
                ve -= 1;
            }
            (vs, ve)
        }
    };
    let value = &bytes[vs..ve];
    plausible_secret(value, conf < 0.9).then(|| RawPii::new(PiiType::Password, vs, ve, conf))
}

/// `name=` after a `&`: the value ended at a URL query separator.
fn starts_query_param(rest: &[u8]) -> bool {
    let name = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    name > 0 && rest.get(name) == Some(&b'=')
}

fn plausible_secret(value: &[u8], prose: bool) -> bool {
    if value.len() < 4
        || value.starts_with(b"${")
        || value.starts_with(b"{{")
        || value.starts_with(b"%(")
        || value.starts_with(b"[")
    {
        return false;
    }
    if value.iter().all(u8::is_ascii_digit) && value.len() < 6 {
        return false;
    }
    if value
        .iter()
        .all(|c| *c == b'*' || *c == b'x' || *c == b'X' || *c == b'.')
    {
        return false;
    }
    let lower: Vec<u8> = value.iter().map(u8::to_ascii_lowercase).collect();
    if PLACEHOLDER_VALUES
        .iter()
        .any(|p| p.as_bytes() == lower.as_slice())
    {
        return false;
    }
    if prose {
        // In a sentence, only a word that does not look like a word.
        let has_digit = value.iter().any(u8::is_ascii_digit);
        let has_symbol = value.iter().any(|c| c.is_ascii_punctuation());
        let has_upper_inside = value.iter().skip(1).any(u8::is_ascii_uppercase);
        return value.len() >= 6 && (has_digit || has_symbol || has_upper_inside);
    }
    true
}

/// Email addresses, found around each `@`.
pub fn scan_emails(text: &str, out: &mut Vec<RawPii>) {
    let bytes = text.as_bytes();
    let local_ok =
        |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain_ok = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'.';
    let mut next_free = 0;
    for at in memchr::memchr_iter(b'@', bytes) {
        if at < next_free || at == 0 {
            continue;
        }
        let mut s = at;
        while s > 0 && at - s < 64 && local_ok(bytes[s - 1]) {
            s -= 1;
        }
        while s < at && bytes[s] == b'.' {
            s += 1;
        }
        if s == at || bytes[at - 1] == b'.' {
            continue;
        }
        let mut e = at + 1;
        while e < bytes.len() && e - at < 254 && domain_ok(bytes[e]) {
            e += 1;
        }
        while e > at + 1 && matches!(bytes[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let domain = &text[at + 1..e];
        // Two labels or more, each valid, the last alphabetic; checked in
        // place, with no list of labels built per candidate.
        let valid_domain = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
            })
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()));
        if valid_domain {
            out.push(RawPii::new(PiiType::Email, s, e, 0.95));
            next_free = e;
        }
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, MatchKind};

    /// The triggers `scan` takes, in its order.
    fn ours(set: &AnchorSet, text: &str) -> Vec<(usize, usize, usize)> {
        let mut hits = Vec::new();
        set.for_each(text.as_bytes(), |id, s, e| hits.push((e, s, id)));
        hits.sort_unstable();
        hits
    }

    #[test]
    fn triggers_come_in_the_order_an_overlapping_automaton_reports_them() {
        // `scan` skips triggers inside a finding, so the order matters as
        // much as the set.
        let (pats, _) = trigger_patterns();
        let set = AnchorSet::new(&pats, Case::Insensitive).unwrap();
        let ac = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::DFA))
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&pats)
            .unwrap();
        let fragments = [
            "api",
            "key",
            "KEY",
            "apikey",
            "token",
            "=",
            ":",
            " ",
            "eyJ",
            "sk-",
            "sk_live_",
            "ghp_",
            "AKIA",
            "://",
            "user:pw@",
            "-----BEGIN ",
            "password",
            "pwd",
            "secret",
            "x",
            "_",
            "github_pat_",
        ];
        for text in crate::anchors::tests::random_texts(&fragments, 4000, 8) {
            let theirs: Vec<_> = ac
                .find_overlapping_iter(&text)
                .map(|m| (m.end(), m.start(), m.pattern().as_usize()))
                .collect();
            assert_eq!(ours(&set, &text), theirs, "{text:?}");
        }
    }
}
