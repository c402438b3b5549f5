//! Goals whose text is taken as written: a literal command line ("run ls -la
//! /tmp", `` `wc -l notes.txt` ``, a bare `ls -la /tmp`) and text to echo
//! ("echo 'Hello, World!'", "say hello").
//!
//! Both copy words from the goal rather than interpret them, so they share
//! the care about quoting and shell syntax that no other shape needs. They sit
//! at the two ends of the intent table: a literal command is tried first, an
//! echo only when nothing else matched.

use crate::builtin::clause::{looks_like_path, number, Clause};
use crate::builtin::lexer::Kind;

use super::compute::is_ordinal;
use super::{shell, Ctx, Outcome};

fn is_operator(w: &str) -> bool {
    crate::policy::SHELL_OPERATORS.contains(&w)
}

/// `run ls -la /tmp`, `` `wc -l notes.txt` ``, or a bare command line.
pub(super) fn literal(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let explicit = matches!(c.verb_word(), "run" | "execute" | "exec");
    let start = if explicit { c.verb + 1 } else { c.verb };
    if start >= c.len() {
        return Ok(None);
    }
    let words: Vec<String> = if c.quoted() == vec![start] && start + 1 == c.len() {
        split_words(c.text(start))
    } else {
        if !c.is_word(start) || !ctx.allowed.contains(c.text(start)) {
            if explicit && c.is_word(start) {
                return Err(format!(
                    "command '{}' is not in the executor's allowlist",
                    c.text(start)
                ));
            }
            return Ok(None);
        }
        let args_look_literal = (start + 1..c.len()).all(|i| {
            let t = c.text(i);
            !c.is_word(i)
                || t.starts_with('-')
                || t.starts_with('+')
                || looks_like_path(t)
                || number(t).is_some()
                || is_operator(t)
        });
        if !explicit && (!args_look_literal || start + 1 == c.len()) {
            return Ok(None);
        }
        (start..c.len()).map(|i| c.text(i).to_string()).collect()
    };
    for i in 0..c.len() {
        c.mark(i);
    }
    let mut specs = Vec::new();
    for (k, segment) in words.split(|w| w == "|").enumerate() {
        let Some((cmd, args)) = segment.split_first() else {
            return Err("an empty command in a pipeline".into());
        };
        if let Some(op) = segment.iter().find(|w| is_operator(w)) {
            return Err(format!(
                "'{op}' is shell syntax; commands run without a shell, so redirections and command lists cannot be planned"
            ));
        }
        if !ctx.allowed.contains(cmd.as_str()) {
            return Err(format!(
                "command '{cmd}' is not in the executor's allowlist"
            ));
        }
        let mut spec = shell(
            cmd,
            args.to_vec(),
            format!("Run {}", segment.join(" ")),
            &["The command exits successfully"],
        );
        spec.piped = k > 0;
        specs.push(spec);
    }
    Ok(Some(specs))
}

/// Whitespace split honouring simple single and double quotes.
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for ch in s.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(ch);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Words that may surround quoted text to echo without changing it.
const ECHO_FILLER: &[&str] = &[
    "to", "the", "screen", "console", "terminal", "stdout", "and", "out", "back", "for", "me",
    "us", "please", "just", "simply", "kindly", "exactly", "verbatim",
];

/// Words that make unquoted text an instruction about a file, a number or a
/// computation rather than a message: "print the fourth line of notes.txt"
/// must never print those words back and report success.
const INSTRUCTION_WORDS: &[&str] = &[
    // Repetition: "echo hello twice" asks for hello two times.
    "twice",
    "thrice",
    "times",
    "repeat",
    "repeated",
    "again",
    "line",
    "lines",
    "file",
    "files",
    "folder",
    "folders",
    "directory",
    "directories",
    "dir",
    "path",
    "paths",
    "number",
    "numbers",
    "digits",
    "integers",
    "word",
    "words",
    "character",
    "characters",
    "chars",
    "letter",
    "letters",
    "count",
    "sum",
    "total",
    "average",
    "mean",
    "median",
    "product",
    "maximum",
    "minimum",
    "max",
    "min",
    "last",
    "nth",
    "largest",
    "smallest",
    "biggest",
    "newest",
    "oldest",
    "longest",
    "shortest",
    "reverse",
    "reversed",
    "backwards",
    "order",
    "sorted",
    "sort",
    "size",
    "date",
    "time",
    "today",
    "tomorrow",
    "yesterday",
    "weekday",
    "contents",
    "content",
    "output",
    "result",
    "value",
    "current",
    "list",
    "matches",
    "occurrences",
    "prime",
    "primes",
    "square",
    "squares",
    "uppercase",
    "lowercase",
    "capitalized",
    "hash",
    "sha256",
    "md5",
    "base64",
    "hex",
    "json",
    "version",
    "sequence",
    "range",
    "even",
    "odd",
    "multiplied",
    "divided",
    "plus",
    "minus",
    "times",
    "percent",
    "percentage",
    "celsius",
    "fahrenheit",
    "kilometers",
    "miles",
    "bytes",
];

/// The word at `i` when it makes the text an instruction: one of
/// [`INSTRUCTION_WORDS`], an ordinal ("fourth", "4th") or a path.
fn instruction_word(c: &Clause<'_>, i: usize) -> Option<String> {
    if !c.is_word(i) {
        return None;
    }
    let w = c.word(i);
    (INSTRUCTION_WORDS.contains(&w) || is_ordinal(w) || looks_like_path(c.text(i)))
        .then(|| c.text(i).to_string())
}

/// "Echo 'Hello, World!'", "say hello", "print task 5".
pub(super) fn echo(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    if !matches!(
        c.verb_word(),
        "echo"
            | "say"
            | "print"
            | "output"
            | "display"
            | "show"
            | "write"
            | "repeat"
            | "type"
            | "shout"
            | "return"
            | "emit"
    ) {
        return Ok(None);
    }
    // "say the words …", "print out …"; a filler word that ends the goal is the text.
    let first = c.skip(
        c.verb + 1,
        &[
            "the",
            "text",
            "message",
            "words",
            "word",
            "phrase",
            "string",
            "line",
            "out",
            "back",
            "following",
        ],
        1,
    );
    if first >= c.len() {
        return Err("the goal does not say what to echo".into());
    }
    let quoted = c.quoted();
    let loose = matches!(c.verb_word(), "echo" | "say" | "print" | "repeat");
    if !loose && quoted.is_empty() {
        return Ok(None);
    }
    // Quoted text is the literal, whatever surrounds it; the words around
    // it must then be understood like any others ("just echo 'hi' for me").
    let text = if !quoted.is_empty() {
        quoted
            .iter()
            .map(|&q| c.text(q))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        let last = c.len() - 1;
        let mut end = c.toks[last].end;
        let bytes = c.goal.as_bytes();
        while end < bytes.len()
            && !bytes[end].is_ascii_whitespace()
            && !matches!(bytes[end], b',' | b';')
        {
            end += 1;
        }
        let mut start = c.toks[first].start;
        if c.toks[first].kind == Kind::Quoted {
            start = start.saturating_sub(1);
        }
        let raw = c.goal.get(start..end).unwrap_or("").trim();
        let raw = raw.strip_suffix('.').unwrap_or(raw);
        if ["|", "&&", ";", ">", "$(", "`"]
            .iter()
            .any(|op| raw.contains(op))
            && quoted.is_empty()
        {
            return Err(
                "the text holds shell syntax (pipes, redirections) that cannot run without a shell"
                    .into(),
            );
        }
        if let Some(w) = (first..c.len()).find_map(|i| instruction_word(c, i)) {
            return Err(format!(
                "'{raw}' reads as an instruction (it mentions '{w}'), not as a message to echo; \
                 put the text in quotes to echo it as written"
            ));
        }
        raw.to_string()
    };
    if c.verb_word() == "write" && c.has(&["to", "into"]) && !c.paths().is_empty() {
        return Err("writing files is not possible with the executor's allowed commands".into());
    }
    for i in 0..c.len() {
        let around_quote = !quoted.is_empty() && i >= first && !quoted.contains(&i);
        if !around_quote || ECHO_FILLER.contains(&c.word(i)) {
            c.mark(i);
        }
    }
    let shown: String = text.chars().take(60).collect();
    Ok(Some(vec![shell(
        "echo",
        vec![text.clone()],
        format!("Echo \"{shown}\""),
        &["Output holds the echoed text"],
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_command_lines() {
        assert_eq!(
            split_words("grep -c 'a b' f.txt"),
            vec!["grep", "-c", "a b", "f.txt"]
        );
        assert_eq!(split_words("echo \"\""), vec!["echo", ""]);
    }
}
