//! Date and time goals: "show the date", "what time is it in UTC", "what
//! day of the week is it".
//!
//! These read no input; their only work is choosing `date`'s format from the
//! words of the goal.

use crate::builtin::clause::Clause;

use super::{shell, Ctx, Outcome};

/// "Show the date", "what time is it in UTC", "echo the current date".
pub(super) fn date(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    let verb_ok = matches!(
        c.verb_word(),
        "show"
            | "display"
            | "print"
            | "echo"
            | "say"
            | "get"
            | "tell"
            | "what"
            | "what's"
            | "whats"
            | "give"
            | "output"
            | "report"
            | "check"
            | "return"
            | "current"
            | "date"
            | "time"
            | "today's"
            | "todays"
            | "the"
    );
    let words = [
        "date",
        "time",
        "day",
        "today",
        "today's",
        "todays",
        "year",
        "month",
        "weekday",
        "timestamp",
        "epoch",
        "clock",
    ];
    if !verb_ok
        || !c.has(&words)
        || !c.paths().is_empty()
        || !c.urls().is_empty()
        || !c.quoted().is_empty()
    {
        return Ok(None);
    }
    // Another day than today ("a week from now", "yesterday"), or a format
    // or a week number this shape does not write, is never today's date.
    let epoch = c.has(&["unix", "epoch", "timestamp"]);
    let elsewhen = c.has(&[
        "ago",
        "later",
        "hence",
        "tomorrow",
        "tomorrow's",
        "yesterday",
        "yesterday's",
        "until",
        "before",
        "after",
        "next",
        "last",
        "previous",
    ]) || (c.has(&["since"]) && !epoch)
        || c.has_phrase(&["from", "now"])
        || c.has_phrase(&["from", "today"]);
    let week = c.has(&["week"]) && !c.has_phrase(&["day", "of", "the", "week"]);
    let format =
        c.has(&["format", "formatted"]) && !c.has(&["iso", "iso-8601", "iso8601"]) && !epoch;
    if elsewhen || week || format {
        return Ok(None);
    }
    let iso = c.has(&["iso", "iso-8601", "iso8601"]);
    // "ISO 8601" is two words; the number names the standard.
    c.mark_phrase(&["iso", "8601"]);
    let mut args = Vec::new();
    if c.has(&["utc", "gmt"]) {
        args.push("-u".to_string());
    }
    let has = |w: &[&str]| c.has(w);
    let dateish = has(&["date", "today", "today's", "todays"]);
    let timeish = has(&["time", "clock", "o'clock"]);
    // "The day of the year", "the week number": other counts than the
    // weekday, year or month this shape prints.
    if c.has_phrase(&["day", "of", "the", "year"])
        || c.has_phrase(&["day", "of", "year"])
        || c.has(&["week", "weeks"]) && !c.has_phrase(&["day", "of", "the", "week"])
    {
        return Ok(None);
    }
    let format = if has(&["unix", "epoch", "timestamp"]) {
        Some("+%s")
    } else if iso {
        Some(if timeish { "-Iseconds" } else { "-I" })
    } else if has(&["weekday"])
        || c.has_phrase(&["day", "of", "the", "week"])
        || (c.has(&["day"]) && !dateish && !timeish)
    {
        Some("+%A")
    } else if has(&["year"]) && !dateish && !timeish {
        Some("+%Y")
    } else if has(&["month"]) && !dateish && !timeish {
        Some("+%B")
    } else if timeish && !dateish {
        Some("+%H:%M:%S")
    } else {
        None
    };
    if let Some(f) = format {
        args.push(f.to_string());
    }
    let what = if timeish && !dateish { "time" } else { "date" };
    let action = format!(
        "Show the current {what}{}",
        if args.contains(&"-u".to_string()) {
            " in UTC"
        } else {
            ""
        }
    );
    Ok(Some(vec![shell(
        "date",
        args,
        action,
        &["Output holds the current date and time"],
    )]))
}
