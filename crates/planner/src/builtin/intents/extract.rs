//! Extraction goals: "fetch … and extract the UUID", "extract the email
//! addresses from notes.txt".
//!
//! Unlike a search, the user names a kind of value rather than the text, so
//! this module carries the table of well-known kinds and their patterns.

use crate::builtin::clause::Clause;

use super::{on_source, source, Ctx, Outcome};

/// Well-known kinds of value a goal may ask to pull out of text, with the
/// extended regular expression `grep -oE` uses for each.
const EXTRACTABLE: &[(&[&str], &str, &str)] = &[
    (
        &["uuid", "uuids", "guid", "guids"],
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "UUIDs",
    ),
    (
        &["email", "emails", "e-mail", "e-mails"],
        "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
        "email addresses",
    ),
    (
        &["url", "urls", "link", "links"],
        "https?://[^[:space:]\"'<>]+",
        "URLs",
    ),
    (
        &["ip", "ips", "ipv4"],
        "([0-9]{1,3}\\.){3}[0-9]{1,3}",
        "IPv4 addresses",
    ),
    (
        &["numbers", "integers", "digits"],
        "-?[0-9]+([.][0-9]+)?",
        "numbers",
    ),
];

/// "Fetch … and extract the UUID", "extract the email addresses from
/// notes.txt": `grep -oE` with the pattern of a well-known kind of value.
pub(super) fn extract(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !matches!(c.verb_word(), "extract" | "pull" | "parse") {
        return Ok(None);
    }
    let Some((words, pattern, what)) = EXTRACTABLE.iter().find(|(w, _, _)| c.has(w)) else {
        return Ok(None);
    };
    if let Some(i) = c.find(words, 0) {
        c.mark(i);
    }
    let src = source(c, ctx);
    let args = vec!["-oE".to_string(), (*pattern).to_string()];
    on_source(
        src,
        "grep",
        args,
        &format!("Extract the {what} from"),
        &["Output holds the extracted values"],
    )
}
