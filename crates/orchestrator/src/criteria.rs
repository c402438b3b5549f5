//! Acceptance criteria: what a criterion means, and whether an output meets it.
//!
//! A criterion is matched literally only when it asks for that: a quoted
//! part (`Output contains "date"`) or an explicit `contains:` / `regex:`
//! prefix. Otherwise it is read for what criteria usually mean — a date or
//! time, a number, a count, non-empty output, N lines, a file list, a URL,
//! an email, JSON, a yes/no answer — and checked by shape. Anything else
//! goes to the LLM judge when one is configured; without one it is recorded
//! as `unverified` (passed: null) with the reason, never guessed.

use octollm_types::orchestrator::CriterionOutcome;
use regex::{Regex, RegexBuilder};
use std::sync::LazyLock;

/// How one criterion is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// The output contains this text (case-insensitive).
    Contains(String),
    Regex(String),
    /// The whole output is one number.
    Number,
    /// The output holds a date or a time of day.
    DateTime,
    NonEmpty,
    /// Exactly, at least or at most this many non-empty lines.
    Lines(Bound, usize),
    /// One plausible file name per line (an empty listing is a listing).
    FileList,
    Url,
    Email,
    Json,
    YesNo,
    /// Free text: only a judge can tell.
    Judge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Exactly,
    AtLeast,
    AtMost,
}

/// A pattern of this module, case-insensitive. They are constants, so a
/// typo shows in the tests; should one not compile it matches nothing.
fn re(p: &str) -> Option<Regex> {
    RegexBuilder::new(p).case_insensitive(true).build().ok()
}

type Pattern = LazyLock<Option<Regex>>;

fn matches(p: &Pattern, text: &str) -> bool {
    p.as_ref().is_some_and(|r| r.is_match(text))
}

static QUOTED: Pattern = LazyLock::new(|| re(r#""([^"]+)"|“([^”]+)”|'([^']+)'|`([^`]+)`"#));
static SLASHED: Pattern = LazyLock::new(|| re(r"\bmatch(?:es)?\s+/(.+)/\s*$"));
static LINES: Pattern = LazyLock::new(|| {
    re(
        r"\b(exactly|at least|at most|no more than|)\s*(\d+)\s+(lines?|items?|entries|entry|results?|rows?|files?|names?)\b",
    )
});
static DATE_IN_OUTPUT: Pattern = LazyLock::new(|| {
    re(
        r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}(:\d{2})?\b|\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b.*\b(19|20)\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    )
});
static URL_IN_OUTPUT: Pattern = LazyLock::new(|| re(r"\bhttps?://[^\s/$.?#][^\s]*"));
static EMAIL_IN_OUTPUT: Pattern =
    LazyLock::new(|| re(r"\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b"));

/// `text` starts with the ASCII `prefix`, in any case; the rest.
fn after_prefix<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map(|_| &text[prefix.len()..])
}

fn has_word(text: &str, words: &[&str]) -> bool {
    text.split(|c: char| !c.is_alphanumeric() && c != '-')
        .any(|w| words.contains(&w))
}

/// Reads a criterion.
pub fn parse(criterion: &str) -> Matcher {
    let c = criterion.trim();
    let lower = c.to_lowercase();
    for prefix in ["contains:", "contain:", "includes:"] {
        if let Some(rest) = after_prefix(c, prefix) {
            return Matcher::Contains(unquote(rest).to_string());
        }
    }
    for prefix in ["regex:", "matches:"] {
        if let Some(rest) = after_prefix(c, prefix) {
            return Matcher::Regex(slashes(rest.trim()).to_string());
        }
    }
    if let Some(m) = SLASHED.as_ref().and_then(|r| r.captures(c)) {
        return Matcher::Regex(m[1].to_string());
    }
    if let Some(m) = QUOTED.as_ref().and_then(|r| r.captures(c)) {
        let literal = (1..=4).find_map(|i| m.get(i)).map_or("", |g| g.as_str());
        let asks_regex = has_word(&lower, &["regex", "regexp", "pattern"]);
        return if asks_regex {
            Matcher::Regex(literal.to_string())
        } else {
            Matcher::Contains(literal.to_string())
        };
    }
    recognise(&lower)
}

/// The usual meanings of a criterion that names no literal text.
fn recognise(lower: &str) -> Matcher {
    if has_word(lower, &["json"]) {
        return Matcher::Json;
    }
    if lower.contains("yes or no") || lower.contains("yes/no") {
        return Matcher::YesNo;
    }
    if let Some(m) = LINES.as_ref().and_then(|r| r.captures(lower)) {
        let n = m[2].parse().unwrap_or(0);
        let bound = match &m[1] {
            "at least" => Bound::AtLeast,
            "at most" | "no more than" => Bound::AtMost,
            _ => Bound::Exactly,
        };
        return Matcher::Lines(bound, n);
    }
    if has_word(lower, &["url", "urls", "link", "links"]) {
        return Matcher::Url;
    }
    if has_word(lower, &["email", "e-mail", "emails"]) {
        return Matcher::Email;
    }
    if has_word(
        lower,
        &["date", "time", "timestamp", "datetime", "today", "clock"],
    ) {
        return Matcher::DateTime;
    }
    if (lower.contains("file") || lower.contains("director"))
        && has_word(lower, &["list", "listing", "lists", "names"])
    {
        return Matcher::FileList;
    }
    if has_word(
        lower,
        &[
            "number", "numeric", "integer", "count", "total", "sum", "digit", "digits",
        ],
    ) {
        return Matcher::Number;
    }
    if lower.contains("not empty")
        || lower.contains("non-empty")
        || lower.contains("nonempty")
        || lower.contains("produces output")
        || lower.contains("some output")
        || lower.contains("has output")
    {
        return Matcher::NonEmpty;
    }
    Matcher::Judge
}

fn slashes(p: &str) -> &str {
    p.strip_prefix('/')
        .and_then(|r| r.strip_suffix('/'))
        .unwrap_or(p)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for (a, b) in [('"', '"'), ('\'', '\''), ('`', '`'), ('“', '”')] {
        if let Some(inner) = s.strip_prefix(a).and_then(|r| r.strip_suffix(b)) {
            return inner;
        }
    }
    s
}

/// `text` lowercased one character at a time, with the final sigma `ς`
/// folded to `σ`. `str::to_lowercase` writes a capital sigma as `ς` at the
/// end of a word and `σ` elsewhere, so a needle `Σ` was not found in an
/// output ending `…ΣΣ`; this mapping does not depend on the neighbours,
/// so a text that contains the needle still contains it once both are
/// folded.
fn fold_case(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}

fn is_number(t: &str) -> bool {
    !t.is_empty() && t.replace(',', "").parse::<f64>().is_ok_and(f64::is_finite)
}

/// Checks a deterministic matcher; `None` for [`Matcher::Judge`].
pub fn check(criterion: &str, output: &str) -> Option<CriterionOutcome> {
    let (method, passed, reason) = verdict(&parse(criterion), output)?;
    Some(CriterionOutcome {
        criterion: criterion.to_string(),
        method: method.to_string(),
        passed: Some(passed),
        reason,
    })
}

fn verdict(m: &Matcher, output: &str) -> Option<(&'static str, bool, String)> {
    let t = output.trim();
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let said = |ok: bool, yes: String, no: String| if ok { yes } else { no };
    Some(match m {
        Matcher::Contains(needle) => {
            let ok = fold_case(output).contains(&fold_case(needle));
            (
                "contains",
                ok,
                said(
                    ok,
                    format!("output contains '{needle}'"),
                    format!("output does not contain '{needle}'"),
                ),
            )
        }
        Matcher::Regex(pattern) => match RegexBuilder::new(pattern).size_limit(1 << 20).build() {
            Ok(r) => {
                let ok = r.is_match(output);
                (
                    "regex",
                    ok,
                    format!(
                        "output {} /{pattern}/",
                        if ok { "matches" } else { "does not match" }
                    ),
                )
            }
            Err(e) => ("regex", false, format!("invalid regular expression: {e}")),
        },
        Matcher::Number => {
            let ok = is_number(t);
            (
                "number",
                ok,
                said(
                    ok,
                    format!("output is the number {t}"),
                    "output is not a single number".into(),
                ),
            )
        }
        Matcher::DateTime => {
            let ok = matches(&DATE_IN_OUTPUT, output);
            (
                "date_time",
                ok,
                said(
                    ok,
                    "output holds a date or time".into(),
                    "output holds no date or time".into(),
                ),
            )
        }
        Matcher::NonEmpty => {
            let ok = !t.is_empty();
            (
                "non_empty",
                ok,
                said(ok, "output is not empty".into(), "output is empty".into()),
            )
        }
        Matcher::Lines(bound, n) => {
            let have = lines.len();
            let ok = match bound {
                Bound::Exactly => have == *n,
                Bound::AtLeast => have >= *n,
                Bound::AtMost => have <= *n,
            };
            let want = match bound {
                Bound::Exactly => format!("exactly {n}"),
                Bound::AtLeast => format!("at least {n}"),
                Bound::AtMost => format!("at most {n}"),
            };
            (
                "lines",
                ok,
                format!("output has {have} non-empty line(s); {want} wanted"),
            )
        }
        Matcher::FileList => {
            let bad = lines
                .iter()
                .find(|l| l.chars().any(char::is_control) || l.len() > 4096);
            let ok = bad.is_none();
            let reason = match (ok, lines.len()) {
                (true, 0) => "an empty listing".to_string(),
                (true, n) => format!("a listing of {n} name(s)"),
                (false, _) => "output is not one file name per line".to_string(),
            };
            ("file_list", ok, reason)
        }
        Matcher::Url => {
            let ok = matches(&URL_IN_OUTPUT, output);
            (
                "url",
                ok,
                said(
                    ok,
                    "output holds a URL".into(),
                    "output holds no URL".into(),
                ),
            )
        }
        Matcher::Email => {
            let ok = matches(&EMAIL_IN_OUTPUT, output);
            (
                "email",
                ok,
                said(
                    ok,
                    "output holds an email address".into(),
                    "output holds no email address".into(),
                ),
            )
        }
        Matcher::Json => {
            let ok = serde_json::from_str::<serde_json::Value>(t).is_ok();
            (
                "json",
                ok,
                said(
                    ok,
                    "output is valid JSON".into(),
                    "output is not valid JSON".into(),
                ),
            )
        }
        Matcher::YesNo => {
            let ok = matches!(t.to_lowercase().trim_end_matches('.'), "yes" | "no");
            (
                "yes_no",
                ok,
                said(
                    ok,
                    format!("output answers '{t}'"),
                    "output is not yes or no".into(),
                ),
            )
        }
        Matcher::Judge => return None,
    })
}

/// The outcome recorded when nothing could check a criterion.
pub fn unverified(criterion: &str) -> CriterionOutcome {
    CriterionOutcome {
        criterion: criterion.to_string(),
        method: "unverified".to_string(),
        passed: None,
        reason: "a free-text criterion, and no LLM judge is configured to check it; quote the text to match it literally (Output contains \"…\") or configure an LLM".to_string(),
    }
}

#[cfg(test)]
mod tests;
