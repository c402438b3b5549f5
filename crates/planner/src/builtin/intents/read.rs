//! Reading goals: "read /etc/hostname", "show the contents of notes.txt",
//! "show them".
//!
//! These become `cat`. The shape is tried late because many other shapes
//! also start with "show" or "print" and are more specific.

use crate::builtin::clause::{looks_like_path, Clause};

use super::{dir_like, on_source, source, Ctx, Outcome, Source};

/// "Read /etc/hostname", "show the contents of notes.txt", "show them".
pub(super) fn read(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !matches!(
        c.verb_word(),
        "read"
            | "cat"
            | "open"
            | "view"
            | "show"
            | "display"
            | "print"
            | "output"
            | "dump"
            | "get"
            | "see"
            | "type"
            | "give"
            | "concatenate"
            | "return"
    ) {
        return Ok(None);
    }
    let mut src = source(c, ctx);
    if src == Source::Nothing {
        let q = c.quoted();
        if let [only] = q.as_slice() {
            if looks_like_path(c.text(*only)) || c.has(&["file"]) {
                c.mark(*only);
                src = Source::Files(vec![c.text(*only).to_string()]);
            }
        }
    }
    match src {
        // The previous output is what the user sees anyway.
        Source::Prev => Ok(Some(Vec::new())),
        Source::Files(f) if f.iter().any(|p| dir_like(p)) => Ok(None),
        Source::Nothing => Ok(None),
        other => on_source(
            other,
            "cat",
            Vec::new(),
            "Read",
            &["Output holds the file contents"],
        ),
    }
}
