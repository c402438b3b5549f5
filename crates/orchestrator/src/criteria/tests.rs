use super::*;

fn passed(criterion: &str, output: &str) -> Option<bool> {
    check(criterion, output).and_then(|o| o.passed)
}

fn expect_parsed(cases: &[(&str, Matcher)]) {
    for (criterion, want) in cases {
        assert_eq!(parse(criterion), *want, "{criterion}");
    }
}

/// Each row: criterion, output, and whether the output meets it.
fn expect_passed(cases: &[(&str, &str, bool)]) {
    for &(criterion, output, want) in cases {
        assert_eq!(
            passed(criterion, output),
            Some(want),
            "{criterion} on {output:?}"
        );
    }
}

#[test]
fn literal_only_when_asked_for() {
    expect_parsed(&[
        ("contains:Hello", Matcher::Contains("Hello".into())),
        ("CONTAINS: \"a b\"", Matcher::Contains("a b".into())),
        ("Output contains \"date\"", Matcher::Contains("date".into())),
        (
            "It prints 'Hello OctoLLM' somewhere",
            Matcher::Contains("Hello OctoLLM".into()),
        ),
        ("regex:^\\d+$", Matcher::Regex("^\\d+$".into())),
        ("output matches /a+b/", Matcher::Regex("a+b".into())),
        ("matches the regex \"^x\"", Matcher::Regex("^x".into())),
    ]);
    // Unquoted words are not literals.
    assert_ne!(
        parse("Output contains date"),
        Matcher::Contains("date".into())
    );
}

#[test]
fn the_usual_meanings_are_recognised() {
    expect_parsed(&[
        ("Output contains date", Matcher::DateTime),
        ("Shows the current time", Matcher::DateTime),
        ("Output is a number", Matcher::Number),
        ("is a number.", Matcher::Number),
        ("Returns the count", Matcher::Number),
        ("Output is not empty", Matcher::NonEmpty),
        ("Exactly 3 lines", Matcher::Lines(Bound::Exactly, 3)),
        ("at least 2 items", Matcher::Lines(Bound::AtLeast, 2)),
        ("no more than 10 results", Matcher::Lines(Bound::AtMost, 10)),
        ("Output shows file list", Matcher::FileList),
        ("contains a URL", Matcher::Url),
        ("includes an e-mail address", Matcher::Email),
        ("Output is valid JSON", Matcher::Json),
        ("Answer is yes or no", Matcher::YesNo),
        ("The output greets someone", Matcher::Judge),
        ("Is polite and helpful", Matcher::Judge),
    ]);
}

#[test]
fn fc008_date_output_meets_its_criterion() {
    expect_passed(&[
        (
            "Output contains date",
            "Tue Dec  1 20:50:23 UTC 2026\n",
            true,
        ),
        ("Output contains date", "2026-12-01T20:50:23+00:00", true),
        ("Output contains date", "hello world", false),
        // Asked literally, the literal is what counts.
        (
            "Output contains \"date\"",
            "Tue Dec  1 20:50:23 UTC 2026",
            false,
        ),
    ]);
}

#[test]
fn checks_outputs() {
    expect_passed(&[
        ("contains:hello", "Hello World\n", true),
        ("contains:bye", "Hello", false),
        ("is a number", " 42\n", true),
        ("is a number", "1,234.5", true),
        ("is a number", "4 2", false),
        ("is a number", "NaN", false),
        ("regex:^\\d{4}-", "2024-01-01", true),
        ("regex:(", "x", false),
        ("Output is not empty", "x", true),
        ("Output is not empty", " \n", false),
        ("exactly 2 lines", "a\nb\n", true),
        ("exactly 2 lines", "a\n\nb\nc\n", false),
        ("Output shows file list", "", true),
        ("Output shows file list", "a.txt\nb dir\n", true),
        ("Output shows file list", "a\u{1b}[2J\n", false),
        ("contains a URL", "see https://example.com/x", true),
        ("contains a URL", "see example dot com", false),
        ("has an email", "mail bob@example.org now", true),
        ("is valid JSON", "{\"a\": [1]}", true),
        ("is valid JSON", "{a: 1}", false),
        ("answer yes or no", "Yes\n", true),
        ("answer yes or no", "maybe", false),
    ]);
    assert!(check("shows a list of greetings", "x").is_none());
}

#[test]
fn non_ascii_criteria_do_not_panic() {
    for c in [
        "İstanbul contains:x",
        "CONTAİNS: x",
        "ß matches /ü+/",
        "“quoted” text",
        "contains:",
    ] {
        let _ = parse(c);
        let _ = check(c, "ü");
    }
}

#[test]
fn a_literal_is_found_whatever_the_case_of_its_neighbours() {
    // Found by the criteria fuzz target: lowercasing the whole output
    // made a final capital sigma `ς`, and the needle's `σ` was not found.
    expect_passed(&[
        ("contains: Σ", "ΟΔΥΣΣΕΥΣ", true),
        ("contains:ΑΣ", "ΑΣ", true),
        ("Output contains \"ΣΑ\"", "ΟΔΥΣΣΑ", true),
        ("contains: σ", "ΟΔΥΣ", true),
        ("contains: ς", "ΟΔΥΣ", true),
        ("contains: ς", "ΟΔΥΑ", false),
    ]);
}
