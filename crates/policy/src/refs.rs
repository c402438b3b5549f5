//! The step-reference grammar: how one step's tool call names an earlier
//! step's output.
//!
//! ```text
//! reference := "{{" space* "step" "_"? digits ".output" space* "}}"
//! ```
//!
//! `{{step_3.output}}` and `{{step3.output}}` are the same reference.
//! Anything else between braces that starts with `step` (`{{step_3}}`,
//! `{{step_3.stdout}}`) is *malformed*: the validator refuses it, because
//! running it would hand the literal placeholder to the program. Other brace
//! text (`{{name}}`) is ordinary data.
//!
//! The planner validates with [`references`], the orchestrator resolves with
//! [`resolve`]; both read the text through [`scan`], so a reference one
//! accepts is a reference the other resolves.

use std::collections::HashMap;
use std::fmt;

use octollm_types::plan::ToolCall;

/// A reference to step `n`'s output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRef(pub u32);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// Brace text that looks like a reference but is not one.
    Malformed(String),
    /// A well-formed reference to a step whose output is not available.
    Unavailable(u32),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Malformed(t) => write!(
                f,
                "'{t}' is not a step reference; write {{{{step_N.output}}}}"
            ),
            RefError::Unavailable(n) => write!(
                f,
                "the plan refers to step {n}'s output, which is not available"
            ),
        }
    }
}

impl std::error::Error for RefError {}

/// One piece of a scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Ref(StepRef),
    Malformed(&'a str),
}

fn parse_inner(inner: &str) -> Option<Result<StepRef, ()>> {
    let t = inner.trim();
    let rest = t
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("step"))
        .map(|_| &t[4..])?;
    // `{{stepping}}` is a word, not an attempt at a reference.
    if !rest.starts_with(|c: char| c == '_' || c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.strip_prefix('_').unwrap_or(rest);
    let Some(digits) = rest.strip_suffix(".output") else {
        return Some(Err(()));
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Err(()));
    }
    Some(digits.parse().map(StepRef).map_err(|_| ()))
}

/// Splits `text` into literal text, references and malformed references.
///
/// Each `}}` closes the innermost `{{` before it, so a reference inside
/// other braces (`{{ {{step_1.output}}`, `{{{step_1.output}}}`) is still
/// read as one; the braces around it are literal text.
pub fn scan(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut literal_from = 0usize;
    let mut offset = 0usize;
    while let Some(close) = text[offset..].find("}}").map(|i| offset + i) {
        let end = close + 2;
        let open = text[offset..close].rfind("{{").map(|i| offset + i);
        let parsed = open.and_then(|o| parse_inner(&text[o + 2..close]).map(|p| (o, p)));
        if let Some((start, parsed)) = parsed {
            if literal_from < start {
                out.push(Piece::Text(&text[literal_from..start]));
            }
            out.push(match parsed {
                Ok(r) => Piece::Ref(r),
                Err(()) => Piece::Malformed(&text[start..end]),
            });
            literal_from = end;
        }
        offset = end;
    }
    if literal_from < text.len() {
        out.push(Piece::Text(&text[literal_from..]));
    }
    out
}

/// The steps `text` refers to, or the first malformed reference.
pub fn references(text: &str) -> Result<Vec<u32>, RefError> {
    let mut out = Vec::new();
    for p in scan(text) {
        match p {
            Piece::Ref(StepRef(n)) => out.push(n),
            Piece::Malformed(m) => return Err(RefError::Malformed(m.to_string())),
            Piece::Text(_) => {}
        }
    }
    Ok(out)
}

/// Replaces every reference in `text` with the output it names.
pub fn substitute(text: &str, outputs: &HashMap<u32, String>) -> Result<String, RefError> {
    let mut out = String::with_capacity(text.len());
    for p in scan(text) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Ref(StepRef(n)) => match outputs.get(&n) {
                Some(o) => out.push_str(o),
                None => return Err(RefError::Unavailable(n)),
            },
            Piece::Malformed(m) => return Err(RefError::Malformed(m.to_string())),
        }
    }
    Ok(out)
}

/// The texts of a tool call that may hold references.
pub fn call_texts(call: &ToolCall) -> Vec<&str> {
    match call {
        ToolCall::Shell { args, stdin, .. } => args
            .iter()
            .map(String::as_str)
            .chain(stdin.as_deref())
            .collect(),
        ToolCall::Http { url, .. } => vec![url.as_str()],
    }
}

/// Resolves every reference in a tool call.
pub fn resolve(call: &ToolCall, outputs: &HashMap<u32, String>) -> Result<ToolCall, RefError> {
    Ok(match call {
        ToolCall::Shell {
            command,
            args,
            stdin,
        } => ToolCall::Shell {
            command: command.clone(),
            args: args
                .iter()
                .map(|a| substitute(a, outputs))
                .collect::<Result<_, _>>()?,
            stdin: stdin
                .as_deref()
                .map(|s| substitute(s, outputs))
                .transpose()?,
        },
        ToolCall::Http { method, url } => ToolCall::Http {
            method: method.clone(),
            url: substitute(url, outputs)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_are_one_reference() {
        assert_eq!(references("{{step_3.output}}").unwrap(), vec![3]);
        assert_eq!(references("{{step3.output}}").unwrap(), vec![3]);
        assert_eq!(references("{{ Step_12.output }}").unwrap(), vec![12]);
        assert_eq!(
            references("a {{step_1.output}} b {{step2.output}}").unwrap(),
            vec![1, 2]
        );
    }

    #[test]
    fn look_alikes_are_malformed_and_other_braces_are_text() {
        for bad in [
            "{{step_3}}",
            "{{step_3.stdout}}",
            "{{step_.output}}",
            "{{step_x.output}}",
            "{{step_99999999999.output}}",
        ] {
            assert!(
                matches!(references(bad), Err(RefError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(references("{{name}} {{").unwrap(), Vec::<u32>::new());
        assert_eq!(references("{{stepping}}").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn a_reference_inside_other_braces_is_still_a_reference() {
        // Found by the step_refs fuzz target: the first `{{` used to open
        // the span, so these were literal text handed to the program.
        for (text, want) in [
            ("{{{step_1.output}}}", vec![1]),
            ("{{ {{step_2.output}}", vec![2]),
            ("{{{step7.output}}{step_1.output}}", vec![7]),
            ("{{name {{step_3.output}} }}", vec![3]),
            ("}} {{step_4.output}}", vec![4]),
        ] {
            assert_eq!(references(text).unwrap(), want, "{text}");
        }
        assert!(matches!(
            references("{{ {{step_1}}"),
            Err(RefError::Malformed(m)) if m == "{{step_1}}"
        ));
        let outputs = HashMap::from([(1, "x".to_string())]);
        assert_eq!(substitute("{{{step_1.output}}}", &outputs).unwrap(), "{x}");
    }

    #[test]
    fn substitution_resolves_what_validation_accepts() {
        let outputs = HashMap::from([(1, "a\nb\n".to_string()), (3, "z".to_string())]);
        assert_eq!(substitute("{{step_1.output}}", &outputs).unwrap(), "a\nb\n");
        assert_eq!(
            substitute("x {{ step3.output }} y", &outputs).unwrap(),
            "x z y"
        );
        assert_eq!(
            substitute("{{other}} {{", &outputs).unwrap(),
            "{{other}} {{"
        );
        assert_eq!(
            substitute("{{step_2.output}}", &outputs),
            Err(RefError::Unavailable(2))
        );
        assert!(substitute("{{step_1}}", &outputs).is_err());
    }
}
