//! Digit-shaped personal data: SSNs, payment cards, phone numbers, IPv4 and
//! IBANs. One left-to-right pass finds each run of digit groups and their
//! separators, then classifies the run by its shape and checksums.

use octollm_types::reflex::PiiType;

use super::validate;
use super::{is_word, widen, RawPii};

const MAX_GROUPS: usize = 12;
const MAX_TOKEN_BYTES: usize = 48;

/// A run of digit groups: `groups[i]` is a byte range of digits, `seps[i]`
/// the separator text between group `i` and `i + 1`.
struct Token {
    /// Byte where the token starts (`+` or `(` included).
    start: usize,
    plus: bool,
    paren: bool,
    groups: [(usize, usize); MAX_GROUPS],
    seps: [Sep; MAX_GROUPS],
    len: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sep {
    Dash,
    Dot,
    Space,
    Slash,
    /// `)` or `) ` or `)-` after an area code in parentheses.
    Paren,
}

/// Scans `bytes` for digit-shaped PII and appends findings to `out`.
pub fn scan(text: &str, out: &mut Vec<RawPii>) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        if !bytes[i].is_ascii_digit() {
            // Most text has few digits: eight bytes at a time.
            i = crate::bytes::find_in(bytes, i + 1, b'0', b'9');
            continue;
        }
        let prev = if i > 0 { bytes[i - 1] } else { b' ' };
        if is_word(prev) {
            // Digits glued to letters: only an IBAN ("DE89…") starts like this.
            if i >= 2 {
                if let Some(end) = iban_at(bytes, i - 2) {
                    out.push(RawPii::new(PiiType::Iban, i - 2, end, 0.95));
                    i = end;
                    continue;
                }
            }
            i = skip_word(bytes, i);
            continue;
        }
        let mut start = i;
        let (mut plus, mut paren) = (false, false);
        if prev == b'+' || prev == b'(' {
            let before = if i >= 2 { bytes[i - 2] } else { b' ' };
            if !is_word(before) {
                start = i - 1;
                plus = prev == b'+';
                paren = prev == b'(';
                // "+1 (555) 234-5678": the parenthesis follows the country code.
            }
        }
        let (token, end) = read_token(bytes, start, i, plus, paren);
        let next = bytes.get(end).copied().unwrap_or(b' ');
        if !is_word(next) {
            classify(text, &token, out);
        }
        i = skip_word(bytes, end.max(i + 1));
    }
}

fn skip_word(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && is_word(bytes[i]) {
        i += 1;
    }
    i
}

fn read_token(bytes: &[u8], start: usize, first: usize, plus: bool, paren: bool) -> (Token, usize) {
    let mut t = Token {
        start,
        plus,
        paren,
        groups: [(0, 0); MAX_GROUPS],
        seps: [Sep::Space; MAX_GROUPS],
        len: 0,
    };
    let n = bytes.len();
    let mut i = first;
    loop {
        let g0 = i;
        while i < n && bytes[i].is_ascii_digit() {
            i += 1;
        }
        t.groups[t.len] = (g0, i);
        t.len += 1;
        if t.len == MAX_GROUPS || i - start > MAX_TOKEN_BYTES {
            return (t, i);
        }
        // A separator, then another digit group, continues the token.
        let (sep, width) = match bytes.get(i) {
            Some(b')') if paren && t.len == 1 => match bytes.get(i + 1) {
                Some(b' ') | Some(b'-') => (Sep::Paren, 2),
                _ => (Sep::Paren, 1),
            },
            Some(b'-') => (Sep::Dash, 1),
            Some(b'.') => (Sep::Dot, 1),
            Some(b' ') => (Sep::Space, 1),
            Some(b'/') => (Sep::Slash, 1),
            _ => return (t, i),
        };
        // "+1 (555) 234-5678": a parenthesised area code after the country code.
        let mut j = i + width;
        let mut opened = false;
        if plus && t.len == 1 && sep == Sep::Space && bytes.get(j) == Some(&b'(') {
            j += 1;
            opened = true;
        }
        if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
            return (t, i);
        }
        t.seps[t.len - 1] = sep;
        i = j;
        if opened {
            // Read the area code, then require the closing parenthesis.
            let g0 = i;
            while i < n && bytes[i].is_ascii_digit() {
                i += 1;
            }
            t.groups[t.len] = (g0, i);
            t.len += 1;
            match (bytes.get(i), bytes.get(i + 1)) {
                (Some(b')'), Some(b' ')) | (Some(b')'), Some(b'-'))
                    if bytes.get(i + 2).is_some_and(u8::is_ascii_digit) =>
                {
                    t.seps[t.len - 1] = Sep::Paren;
                    i += 2;
                }
                _ => {
                    t.len -= 1;
                    let end = t.groups[t.len - 1].1;
                    return (t, end);
                }
            }
        }
    }
}

fn classify(text: &str, t: &Token, out: &mut Vec<RawPii>) {
    // Try the whole token first, then windows split at spaces, longest first,
    // so "SSN 123-45-6789 5 times" still finds the SSN.
    let mut g = 0;
    while g < t.len {
        let mut found = None;
        let mut end = t.len;
        while end > g {
            let window_ok = (g == 0 || t.seps[g - 1] == Sep::Space)
                && (end == t.len || t.seps[end - 1] == Sep::Space);
            if window_ok {
                if let Some(f) = classify_window(text, t, g, end) {
                    found = Some((f, end));
                    break;
                }
            }
            end -= 1;
        }
        match found {
            Some((f, end)) => {
                out.push(f);
                g = end;
            }
            None => g += 1,
        }
    }
}

fn digits_of(bytes: &[u8], t: &Token, g: usize, end: usize, buf: &mut [u8; 40]) -> usize {
    let mut n = 0;
    for &(a, b) in &t.groups[g..end] {
        for &d in &bytes[a..b] {
            if n < buf.len() {
                buf[n] = d;
            }
            n += 1;
        }
    }
    n
}

fn classify_window(text: &str, t: &Token, g: usize, end: usize) -> Option<RawPii> {
    let bytes = text.as_bytes();
    let groups = &t.groups[g..end];
    let seps = &t.seps[g..end - 1];
    let count = groups.len();
    let mut lens_buf = [0usize; MAX_GROUPS];
    for (l, (a, b)) in lens_buf.iter_mut().zip(groups) {
        *l = b - a;
    }
    let lens = &lens_buf[..count];
    let start = if g == 0 { t.start } else { groups[0].0 };
    let stop = groups[count - 1].1;
    let has_prefix = g == 0 && (t.plus || t.paren);
    let mut buf = [0u8; 40];
    let ndigits = digits_of(bytes, t, g, end, &mut buf);
    let digits = &buf[..ndigits.min(40)];
    let all_seps = |s: Sep| seps.iter().all(|x| *x == s);

    // SSN: 3-2-4 with dashes or spaces, or 9 bare digits next to an SSN keyword.
    if !has_prefix && lens == [3, 2, 4] && (all_seps(Sep::Dash) || all_seps(Sep::Space)) {
        let (a, gr, s) = (groups[0], groups[1], groups[2]);
        if validate::ssn_parts(&bytes[a.0..a.1], &bytes[gr.0..gr.1], &bytes[s.0..s.1]) {
            let conf = if all_seps(Sep::Dash) { 0.95 } else { 0.85 };
            return Some(RawPii::new(PiiType::Ssn, start, stop, conf));
        }
    }
    if !has_prefix
        && lens == [9]
        && keyword_before(bytes, start, &["ssn", "social security", "ss#", "ss #"])
        && validate::ssn_parts(&digits[..3], &digits[3..5], &digits[5..9])
    {
        return Some(RawPii::new(PiiType::Ssn, start, stop, 0.8));
    }

    // IPv4: four dotted octets, no leading zeros, not a version number.
    if !has_prefix && count == 4 && all_seps(Sep::Dot) && is_ipv4(bytes, groups) {
        if keyword_before(
            bytes,
            start,
            &[
                "version", "ver", "release", "build", "firmware", "revision", "rev", "update",
                "upgrade", "package", "library", "lib", "tag",
            ],
        ) {
            return None;
        }
        return Some(RawPii::new(PiiType::IpAddress, start, stop, 0.9));
    }
    // IPv4 with a CIDR suffix: report the address.
    if !has_prefix
        && count == 5
        && seps[..3].iter().all(|s| *s == Sep::Dot)
        && seps[3] == Sep::Slash
        && lens[4] <= 2
        && is_ipv4(bytes, &groups[..4])
    {
        return Some(RawPii::new(PiiType::IpAddress, start, groups[3].1, 0.9));
    }

    // Payment cards: 12–19 digits in one block or 4-digit groups.
    let card_layout = count == 1
        || ((all_seps(Sep::Space) || all_seps(Sep::Dash))
            && (lens[..count - 1].iter().all(|l| *l == 4)
                || lens == [4, 6, 5]
                || lens == [4, 6, 4]));
    if !has_prefix && card_layout && (12..=19).contains(&ndigits) && validate::credit_card(digits) {
        let conf = if count == 1 { 0.9 } else { 0.95 };
        return Some(RawPii::new(PiiType::CreditCard, start, stop, conf));
    }

    // Phone numbers.
    if let Some(conf) = phone(bytes, t, g, groups, seps, lens, digits) {
        return Some(RawPii::new(PiiType::Phone, start, stop, conf));
    }
    None
}

fn is_ipv4(bytes: &[u8], groups: &[(usize, usize)]) -> bool {
    groups.iter().all(|&(a, b)| {
        let d = &bytes[a..b];
        !d.is_empty()
            && d.len() <= 3
            && !(d.len() > 1 && d[0] == b'0')
            && d.iter().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')) <= 255
    })
}

fn phone(
    bytes: &[u8],
    t: &Token,
    g: usize,
    groups: &[(usize, usize)],
    seps: &[Sep],
    lens: &[usize],
    digits: &[u8],
) -> Option<f32> {
    let plus = g == 0 && t.plus;
    let paren = g == 0 && t.paren;
    let nanp_sep = |s: Sep| matches!(s, Sep::Dash | Sep::Dot | Sep::Space);
    let area_ok = |d: &[u8]| d.first().is_some_and(|c| (b'2'..=b'9').contains(c));
    // (555) 234-5678, 555-234-5678, 555.234.5678, 555 234 5678
    if lens == [3, 3, 4] && !plus {
        let first_ok = if paren {
            seps[0] == Sep::Paren
        } else {
            nanp_sep(seps[0]) && seps[0] == seps[1]
        };
        if first_ok && nanp_sep(seps[1]) && area_ok(&bytes[groups[0].0..groups[0].1]) {
            let exchange = bytes[groups[1].0];
            let conf = if exchange >= b'2' { 0.85 } else { 0.75 };
            return Some(if paren { conf + 0.05 } else { conf });
        }
    }
    // 1-555-234-5678, +1 555 234 5678, +1 (555) 234-5678
    if lens == [1, 3, 3, 4]
        && bytes[groups[0].0] == b'1'
        && area_ok(&bytes[groups[1].0..groups[1].1])
    {
        let seps_ok = (nanp_sep(seps[0]) || seps[0] == Sep::Space)
            && (nanp_sep(seps[1]) || seps[1] == Sep::Paren)
            && nanp_sep(seps[2]);
        if seps_ok {
            return Some(if plus { 0.9 } else { 0.85 });
        }
    }
    // E.164: +CC followed by 7–14 more digits, grouped by spaces or dashes.
    if plus
        && (8..=15).contains(&digits.len())
        && digits[0] != b'0'
        && seps
            .iter()
            .all(|s| matches!(s, Sep::Space | Sep::Dash | Sep::Paren))
    {
        return Some(0.85);
    }
    None
}

/// Whether one of `keywords` (lowercase) ends within a few words before `pos`.
pub(crate) fn keyword_before(bytes: &[u8], pos: usize, keywords: &[&str]) -> bool {
    let from = pos.saturating_sub(24);
    let mut window = [0u8; 24];
    let w = &bytes[from..pos];
    for (dst, src) in window.iter_mut().zip(w) {
        *dst = src.to_ascii_lowercase();
    }
    let w = &window[..w.len()];
    keywords.iter().any(|k| {
        let k = k.as_bytes();
        w.windows(k.len()).enumerate().any(|(at, win)| {
            win == k
                && (at == 0 || !w[at - 1].is_ascii_alphabetic())
                && !w.get(at + k.len()).is_some_and(u8::is_ascii_alphabetic)
        })
    })
}

/// An IBAN starting at `p` (two uppercase letters then two check digits), in
/// compact or space-grouped form. Returns its end.
fn iban_at(bytes: &[u8], p: usize) -> Option<usize> {
    if p > 0 && is_word(bytes[p - 1]) {
        return None;
    }
    let cc = bytes.get(p..p + 2)?;
    if !cc.iter().all(u8::is_ascii_uppercase)
        || !bytes.get(p + 2..p + 4)?.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let want = validate::iban_expected_len(cc)?;
    let mut compact = [0u8; 34];
    let mut n = 0;
    let mut i = p;
    while n < want {
        match bytes.get(i) {
            Some(c) if c.is_ascii_digit() || c.is_ascii_uppercase() => {
                compact[n] = *c;
                n += 1;
                i += 1;
            }
            // Printed IBANs group by four with single spaces.
            Some(b' ')
                if n % 4 == 0 && bytes.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()) =>
            {
                i += 1
            }
            _ => return None,
        }
    }
    if bytes.get(i).is_some_and(|c| is_word(*c)) {
        return None;
    }
    validate::iban_mod97(&compact[..n]).then_some(i)
}

/// IPv6 addresses, found around each `:`.
pub fn scan_ipv6(text: &str, out: &mut Vec<RawPii>) {
    let bytes = text.as_bytes();
    let is_v6 = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
    let mut next_free = 0;
    for colon in memchr::memchr_iter(b':', bytes) {
        if colon < next_free {
            continue;
        }
        let (a, mut b) = widen(bytes, colon, colon, is_v6);
        next_free = b;
        if (a > 0 && is_word(bytes[a - 1])) || (b < bytes.len() && is_word(bytes[b])) {
            continue;
        }
        // Trailing punctuation belongs to the sentence.
        while b > a && matches!(bytes[b - 1], b'.' | b':') && !bytes[a..b].ends_with(b"::") {
            b -= 1;
        }
        let cand = &text[a..b];
        let colons = cand.bytes().filter(|c| *c == b':').count();
        let has_digit = cand.bytes().any(|c| c.is_ascii_digit());
        if colons < 2 || !has_digit || cand.len() < 3 {
            continue;
        }
        if !(cand.contains("::") || colons == 7) {
            continue;
        }
        if cand.parse::<std::net::Ipv6Addr>().is_ok() {
            out.push(RawPii::new(PiiType::IpAddress, a, b, 0.85));
        }
    }
}
