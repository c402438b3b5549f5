//! Sorting and de-duplication goals: "sort names.txt", "sort them
//! numerically", "remove duplicate lines from f".
//!
//! These order lines of text with `sort`; ordering files by size or date is a
//! listing and is refused here with a pointer to that shape.

use crate::builtin::clause::Clause;

use super::{on_source, source, Ctx, Outcome};

/// "Sort names.txt", "sort them numerically", "remove duplicate lines from f".
pub(super) fn sort(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let verb = c.verb_word();
    let sorting = matches!(verb, "sort" | "order" | "alphabetize" | "arrange" | "rank");
    let dedupe = matches!(verb, "deduplicate" | "dedupe" | "uniq" | "unique")
        || (matches!(verb, "remove" | "delete" | "drop") && c.has(&["duplicates", "duplicate"]));
    if !sorting && !dedupe {
        return Ok(None);
    }
    if c.has_phrase(&["by", "size"])
        || c.has_phrase(&["by", "date"])
        || c.has_phrase(&["by", "time"])
        || c.has(&["modification"])
    {
        return Err("sorting by size or date needs file metadata; ask to 'list files sorted by size' instead".into());
    }
    let mut args = Vec::new();
    if c.has(&["reverse", "descending"]) || c.has_phrase(&["z", "to", "a"]) {
        args.push("-r".to_string());
    }
    if c.has(&["numerically", "numeric", "numerical", "numbers"]) {
        args.push("-n".to_string());
    }
    if dedupe
        || c.has(&[
            "unique",
            "duplicates",
            "duplicate",
            "deduplicate",
            "distinct",
        ])
    {
        args.push("-u".to_string());
    }
    let what = if args.iter().any(|a| a == "-u") {
        "Sort and de-duplicate"
    } else {
        "Sort"
    };
    let src = source(c, ctx);
    on_source(src, "sort", args, what, &["Output holds the sorted lines"])
}
