use super::*;

fn passed(criterion: &str, output: &str) -> Option<bool> {
    check(criterion, output).and_then(|o| o.passed)
}

#[test]
fn literal_only_when_asked_for() {
    assert_eq!(parse("contains:Hello"), Matcher::Contains("Hello".into()));
    assert_eq!(parse("CONTAINS: \"a b\""), Matcher::Contains("a b".into()));
    assert_eq!(
        parse("Output contains \"date\""),
        Matcher::Contains("date".into())
    );
    assert_eq!(
        parse("It prints 'Hello OctoLLM' somewhere"),
        Matcher::Contains("Hello OctoLLM".into())
    );
    assert_eq!(parse("regex:^\\d+$"), Matcher::Regex("^\\d+$".into()));
    assert_eq!(parse("output matches /a+b/"), Matcher::Regex("a+b".into()));
    assert_eq!(
        parse("matches the regex \"^x\""),
        Matcher::Regex("^x".into())
    );
    // Unquoted words are not literals.
    assert_ne!(
        parse("Output contains date"),
        Matcher::Contains("date".into())
    );
}

#[test]
fn the_usual_meanings_are_recognised() {
    assert_eq!(parse("Output contains date"), Matcher::DateTime);
    assert_eq!(parse("Shows the current time"), Matcher::DateTime);
    assert_eq!(parse("Output is a number"), Matcher::Number);
    assert_eq!(parse("is a number."), Matcher::Number);
    assert_eq!(parse("Returns the count"), Matcher::Number);
    assert_eq!(parse("Output is not empty"), Matcher::NonEmpty);
    assert_eq!(parse("Exactly 3 lines"), Matcher::Lines(Bound::Exactly, 3));
    assert_eq!(parse("at least 2 items"), Matcher::Lines(Bound::AtLeast, 2));
    assert_eq!(
        parse("no more than 10 results"),
        Matcher::Lines(Bound::AtMost, 10)
    );
    assert_eq!(parse("Output shows file list"), Matcher::FileList);
    assert_eq!(parse("contains a URL"), Matcher::Url);
    assert_eq!(parse("includes an e-mail address"), Matcher::Email);
    assert_eq!(parse("Output is valid JSON"), Matcher::Json);
    assert_eq!(parse("Answer is yes or no"), Matcher::YesNo);
    assert_eq!(parse("The output greets someone"), Matcher::Judge);
    assert_eq!(parse("Is polite and helpful"), Matcher::Judge);
}

#[test]
fn fc008_date_output_meets_its_criterion() {
    assert_eq!(
        passed("Output contains date", "Tue Dec  1 20:50:23 UTC 2026\n"),
        Some(true)
    );
    assert_eq!(
        passed("Output contains date", "2026-12-01T20:50:23+00:00"),
        Some(true)
    );
    assert_eq!(passed("Output contains date", "hello world"), Some(false));
    // Asked literally, the literal is what counts.
    assert_eq!(
        passed("Output contains \"date\"", "Tue Dec  1 20:50:23 UTC 2026"),
        Some(false)
    );
}

#[test]
fn checks_outputs() {
    assert_eq!(passed("contains:hello", "Hello World\n"), Some(true));
    assert_eq!(passed("contains:bye", "Hello"), Some(false));
    assert_eq!(passed("is a number", " 42\n"), Some(true));
    assert_eq!(passed("is a number", "1,234.5"), Some(true));
    assert_eq!(passed("is a number", "4 2"), Some(false));
    assert_eq!(passed("is a number", "NaN"), Some(false));
    assert_eq!(passed("regex:^\\d{4}-", "2024-01-01"), Some(true));
    assert_eq!(passed("regex:(", "x"), Some(false));
    assert_eq!(passed("Output is not empty", "x"), Some(true));
    assert_eq!(passed("Output is not empty", " \n"), Some(false));
    assert_eq!(passed("exactly 2 lines", "a\nb\n"), Some(true));
    assert_eq!(passed("exactly 2 lines", "a\n\nb\nc\n"), Some(false));
    assert_eq!(passed("Output shows file list", ""), Some(true));
    assert_eq!(
        passed("Output shows file list", "a.txt\nb dir\n"),
        Some(true)
    );
    assert_eq!(
        passed("Output shows file list", "a\u{1b}[2J\n"),
        Some(false)
    );
    assert_eq!(
        passed("contains a URL", "see https://example.com/x"),
        Some(true)
    );
    assert_eq!(passed("contains a URL", "see example dot com"), Some(false));
    assert_eq!(
        passed("has an email", "mail bob@example.org now"),
        Some(true)
    );
    assert_eq!(passed("is valid JSON", "{\"a\": [1]}"), Some(true));
    assert_eq!(passed("is valid JSON", "{a: 1}"), Some(false));
    assert_eq!(passed("answer yes or no", "Yes\n"), Some(true));
    assert_eq!(passed("answer yes or no", "maybe"), Some(false));
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
