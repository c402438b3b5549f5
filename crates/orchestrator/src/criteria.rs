//! Acceptance criteria: deterministic matchers for the shapes that can be
//! checked exactly; everything else goes to the LLM judge when one is configured.

use octollm_types::orchestrator::CriterionOutcome;
use regex::RegexBuilder;

/// How one criterion is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    Contains(String),
    Regex(String),
    Number,
    /// Free text: only a judge can tell.
    Judge,
}

/// Reads a criterion written as `contains:X`, `output contains "X"`,
/// `regex:P`, `matches /P/`, `is a number`, …
pub fn parse(criterion: &str) -> Matcher {
    let c = criterion.trim();
    let lower = c.to_lowercase();
    let stripped = ["the output ", "output ", "result ", "it "]
        .iter()
        .find_map(|p| lower.strip_prefix(p).map(|_| &c[p.len()..]))
        .unwrap_or(c);
    let sl = stripped.to_lowercase();
    if matches!(
        sl.trim_end_matches('.'),
        "is a number" | "number" | "is_number" | "is numeric" | "numeric" | "is an integer"
    ) {
        return Matcher::Number;
    }
    for prefix in [
        "contains:",
        "contains ",
        "includes ",
        "include ",
        "contain ",
    ] {
        if sl.starts_with(prefix) {
            return Matcher::Contains(unquote(&stripped[prefix.len()..]).to_string());
        }
    }
    for prefix in ["regex:", "matches regex ", "matches:", "matches "] {
        if sl.starts_with(prefix) {
            let p = stripped[prefix.len()..].trim();
            let p = p
                .strip_prefix('/')
                .and_then(|r| r.strip_suffix('/'))
                .unwrap_or(p);
            return Matcher::Regex(p.to_string());
        }
    }
    Matcher::Judge
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

/// Checks a deterministic matcher; `None` for [`Matcher::Judge`].
pub fn check(criterion: &str, output: &str) -> Option<CriterionOutcome> {
    let outcome = |method: &str, passed: bool, reason: String| CriterionOutcome {
        criterion: criterion.to_string(),
        method: method.to_string(),
        passed: Some(passed),
        reason,
    };
    match parse(criterion) {
        Matcher::Contains(needle) => {
            let ok = output.to_lowercase().contains(&needle.to_lowercase());
            Some(outcome(
                "contains",
                ok,
                if ok {
                    format!("output contains '{needle}'")
                } else {
                    format!("output does not contain '{needle}'")
                },
            ))
        }
        Matcher::Regex(pattern) => Some(
            match RegexBuilder::new(&pattern).size_limit(1 << 20).build() {
                Ok(re) => {
                    let ok = re.is_match(output);
                    outcome(
                        "regex",
                        ok,
                        format!(
                            "output {} /{pattern}/",
                            if ok { "matches" } else { "does not match" }
                        ),
                    )
                }
                Err(e) => outcome("regex", false, format!("invalid regular expression: {e}")),
            },
        ),
        Matcher::Number => {
            let t = output.trim();
            let ok = !t.is_empty() && t.replace(',', "").parse::<f64>().is_ok_and(f64::is_finite);
            Some(outcome(
                "number",
                ok,
                if ok {
                    format!("output is the number {t}")
                } else {
                    "output is not a number".to_string()
                },
            ))
        }
        Matcher::Judge => None,
    }
}

/// The outcome recorded when nothing could check a criterion.
pub fn unchecked(criterion: &str) -> CriterionOutcome {
    CriterionOutcome {
        criterion: criterion.to_string(),
        method: "unchecked".to_string(),
        passed: None,
        reason: "free-text criterion and no LLM judge configured".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_shapes() {
        assert_eq!(parse("contains:Hello"), Matcher::Contains("Hello".into()));
        assert_eq!(
            parse("Output contains \"Hello OctoLLM\""),
            Matcher::Contains("Hello OctoLLM".into())
        );
        assert_eq!(parse("regex:^\\d+$"), Matcher::Regex("^\\d+$".into()));
        assert_eq!(parse("output matches /a+b/"), Matcher::Regex("a+b".into()));
        assert_eq!(parse("Output is a number"), Matcher::Number);
        assert_eq!(parse("is a number."), Matcher::Number);
        assert_eq!(parse("Output shows file list"), Matcher::Judge);
    }

    #[test]
    fn checks_outputs() {
        assert_eq!(
            check("contains hello", "Hello World\n").unwrap().passed,
            Some(true)
        );
        assert_eq!(check("contains bye", "Hello").unwrap().passed, Some(false));
        assert_eq!(check("is a number", " 42\n").unwrap().passed, Some(true));
        assert_eq!(check("is a number", "4 2").unwrap().passed, Some(false));
        assert_eq!(check("is a number", "NaN").unwrap().passed, Some(false));
        assert_eq!(
            check("regex:^\\d{4}-", "2024-01-01").unwrap().passed,
            Some(true)
        );
        assert_eq!(check("regex:(", "x").unwrap().passed, Some(false));
        assert!(check("shows a list", "x").is_none());
    }
}
