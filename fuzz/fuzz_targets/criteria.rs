//! Acceptance criteria: reading any criterion and checking it against any
//! output.
//!
//! Besides "no panic": a criterion is checked without a judge exactly
//! when it was read as a deterministic matcher; the answer is a pass or a
//! fail, the same every time; a literal criterion passes on any output
//! that contains its text; and every matcher passes on an output of the
//! shape it asks for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use octollm_orchestrator::criteria::{check, parse, Bound, Matcher};

// The input is the criterion's line, then the output.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (criterion, output) = text.split_once('\n').unwrap_or((&text, ""));
    let matcher = parse(criterion);
    assert_eq!(matcher, parse(criterion), "reading is deterministic");
    let outcome = check(criterion, output);
    assert_eq!(outcome.is_none(), matcher == Matcher::Judge);
    if let Some(o) = &outcome {
        assert!(o.passed.is_some(), "a deterministic check decides");
        assert_eq!(o.criterion, criterion);
        assert_eq!(Some(o), check(criterion, output).as_ref());
    }
    if let Some(fits) = fitting_output(&matcher, output) {
        let o = check(criterion, &fits).expect("not a judge's criterion");
        assert_eq!(
            o.passed,
            Some(true),
            "{matcher:?} (from {criterion:?}) failed on {fits:?}: {}",
            o.reason
        );
    }
});

/// An output that meets `matcher`, where one can be written down.
fn fitting_output(matcher: &Matcher, around: &str) -> Option<String> {
    Some(match matcher {
        Matcher::Contains(needle) => format!("{around}{needle}{around}"),
        Matcher::Number => "42".into(),
        Matcher::DateTime => "Mon Jan  6 10:00:00 UTC 2025".into(),
        Matcher::NonEmpty => "x".into(),
        Matcher::Lines(bound, n) => {
            let n = match bound {
                Bound::Exactly | Bound::AtLeast => *n,
                Bound::AtMost => 0,
            };
            if n > 10_000 {
                return None;
            }
            "line\n".repeat(n)
        }
        Matcher::FileList => "a.txt\nnotes.md\n".into(),
        Matcher::Url => "see https://example.com/x".into(),
        Matcher::Email => "mail a@example.com".into(),
        Matcher::Json => "{\"ok\": true}".into(),
        Matcher::YesNo => "yes".into(),
        Matcher::Regex(_) | Matcher::Judge => return None,
    })
}
