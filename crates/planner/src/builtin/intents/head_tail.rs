//! "First N" and "last N" goals: "show the first 5 lines of /etc/passwd",
//! "tail of app.log", "the last 3".
//!
//! Besides its own shape, this module reads a "first N"/"last N" request out
//! of a clause and builds the `head`/`tail` step that trims another shape's
//! output, which file searches and listings reuse.

use crate::builtin::clause::{number, Clause};

use super::{dir_like, on_source, piped, shell, source, Ctx, Outcome, Source, Spec};

/// "first N"/"last N" lines, if the clause asks for them.
pub(super) fn head_tail_request(c: &mut Clause<'_>) -> Option<(bool, u32)> {
    for (words, head) in [
        (&["first", "top", "beginning", "head", "start"][..], true),
        (&["last", "bottom", "end", "tail", "final"][..], false),
    ] {
        let mut from = 0;
        while let Some(i) = c.find(words, from) {
            from = i + 1;
            let next = c.word(i + 1).to_string();
            let unit_after = |k: usize| {
                matches!(
                    c.word(k),
                    "days" | "day" | "hours" | "hour" | "minutes" | "minute" | "weeks" | "week"
                )
            };
            if let Some(n) = number(&next) {
                if unit_after(i + 2) {
                    continue;
                }
                c.mark(i);
                c.mark(i + 1);
                return Some((head, n.max(1)));
            }
            let noun = matches!(
                next.as_str(),
                "lines" | "line" | "entries" | "rows" | "items" | "few" | "of" | "part"
            );
            if noun || matches!(c.word(i), "head" | "tail") || c.word(i.saturating_sub(1)) == "the"
            {
                c.mark(i);
                // "the first line": one, not the default ten.
                if matches!(next.as_str(), "line" | "entry" | "row" | "item") {
                    return Some((head, 1));
                }
                if next == "few" {
                    c.mark(i + 1);
                    return Some((head, 5));
                }
                return Some((head, 10));
            }
        }
    }
    None
}

/// "Show the first 5 lines of /etc/passwd", "tail of app.log", "the last 3".
pub(super) fn head_tail(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    // "The first line of each file": one `head` over one input is not that.
    if c.has(&["each", "every", "per"]) {
        return Ok(None);
    }
    if c.has(&["files", "directories", "folders"]) && !c.has(&["lines", "line"]) {
        return Ok(None);
    }
    let Some((head, n)) = head_tail_request(c) else {
        return Ok(None);
    };
    let src = source(c, ctx);
    let (cmd, what) = if head {
        ("head", "first")
    } else {
        ("tail", "last")
    };
    if let Source::Files(f) = &src {
        if f.iter().any(|p| dir_like(p)) {
            return Err(format!(
                "'{}' looks like a directory, not a file",
                f.join(", ")
            ));
        }
    }
    on_source(
        src,
        cmd,
        vec!["-n".into(), n.to_string()],
        &format!("Show the {what} {n} lines of"),
        &["Output holds the requested lines"],
    )
}

pub(super) fn limit(head: bool, n: u32) -> Spec {
    let (cmd, what) = if head {
        ("head", "first")
    } else {
        ("tail", "last")
    };
    piped(shell(
        cmd,
        vec!["-n".into(), n.to_string()],
        format!("Keep the {what} {n}"),
        &["Output holds the requested lines"],
    ))
}
