//! "What version of python3 is installed", "grep --version", "which
//! version of sort do we have": the version an allowlisted tool reports.
//!
//! Only a tool on the executor's allowlist is asked, by its exact name: a
//! nearby name ("python" for `python3`) may be another program.

use crate::builtin::clause::Clause;

use super::{shell, Ctx, Outcome};

#[rustfmt::skip]
pub const VERSION_VOCAB: &[&str] = &[
    "version", "versions", "installed", "install", "have", "has", "we", "running", "used",
    "using", "is", "what", "what's", "whats", "which", "check", "find", "show", "print",
    "display", "get", "tell", "give", "the", "of", "--version", "number",
];

pub(super) fn version(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.has(&["version", "--version"]) || !c.paths().is_empty() || !c.quoted().is_empty() {
        return Ok(None);
    }
    // The tool: the one word of the clause that is an allowlisted command.
    let mut tools: Vec<usize> = (0..c.len())
        .filter(|&i| c.is_word(i) && ctx.allowed.contains(c.text(i)))
        .filter(|&i| !matches!(c.word(i), "version" | "--version"))
        .collect();
    // "find the version of grep": the verb is not the tool asked about.
    if tools.len() > 1 {
        tools.retain(|&i| i != c.verb);
    }
    let [t] = tools.as_slice() else {
        return Ok(None);
    };
    let tool = c.text(*t).to_string();
    c.mark(*t);
    Ok(Some(vec![shell(
        &tool,
        vec!["--version".into()],
        format!("Show the version {tool} reports (`{tool} --version`)"),
        &["Output names a version"],
    )]))
}
