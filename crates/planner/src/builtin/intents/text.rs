//! Goals about a given text or a file's content that no allowlisted command
//! answers exactly: "'hello' in uppercase", "the sha256 of 'abc'", "encode
//! 'hi' in base64", "does /etc/passwd mention root?".
//!
//! Like `compute.rs`, every program is a constant and the goal's values go
//! in as arguments. Each family is its own intent so that its words (say
//! "convert", "encode") are understood only when this shape matched.

use crate::builtin::clause::Clause;

use super::compute::{need_python, python};
use super::{asks_count, dir_like, file_like, Ctx, Outcome};

/// Transform `argv[3]` (the text, or with `argv[2]` = `file` the file at
/// that path) by mode `argv[1]`.
const TRANSFORM: &str = r#"import sys, base64, hashlib
mode, kind, value = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(value, "rb").read() if kind == "file" else value.encode()
text = data.decode("utf-8", errors="replace")
if mode == "upper": print(text.upper())
elif mode == "lower": print(text.lower())
elif mode == "title": print(text.title())
elif mode == "reverse": print(text[::-1])
elif mode == "length": print(len(text))
elif mode == "base64": print(base64.b64encode(data).decode())
elif mode == "unbase64": print(base64.b64decode(data, validate=True).decode("utf-8"))
elif mode == "hex": print(data.hex())
elif mode == "unhex": print(bytes.fromhex(text.strip()).decode("utf-8"))
elif mode == "sha256": print(hashlib.sha256(data).hexdigest())
elif mode == "md5": print(hashlib.md5(data).hexdigest())
else: sys.exit(f"unknown mode {mode}")
"#;

/// `yes` when the file `argv[1]` holds the text `argv[2]` (case-sensitive),
/// otherwise `no`.
const MENTIONS: &str = r#"import sys
data = open(sys.argv[1], encoding="utf-8", errors="replace").read()
print("yes" if sys.argv[2] in data else "no")
"#;

pub const TEXT_VOCAB: &[&str] = &[
    "uppercase",
    "upper",
    "case",
    "lowercase",
    "lower",
    "title",
    "titlecase",
    "capitals",
    "capital",
    "letters",
    "reverse",
    "reversed",
    "backwards",
    "length",
    "long",
    "base64",
    "encode",
    "encoded",
    "encoding",
    "decode",
    "decoded",
    "hex",
    "hexadecimal",
    "sha256",
    "sha-256",
    "md5",
    "hash",
    "checksum",
    "digest",
    "convert",
    "make",
    "turn",
    "into",
    "as",
    "text",
    "string",
    "word",
    "phrase",
    "compute",
    "calculate",
    "what",
    "what's",
    "whats",
    "is",
    "print",
    "show",
    "give",
    "get",
    "display",
    "file",
    "contents",
    "content",
];

/// Words a length asked as a count uses ("how many characters are there
/// in 'x'"): understood only then, never beside another transform
/// ("count the uppercase letters" is no length, and no uppercasing).
const COUNT_WORDS: &[&str] = &[
    "characters",
    "character",
    "chars",
    "count",
    "how",
    "many",
    "number",
    "are",
    "there",
    "does",
    "do",
    "have",
    "has",
];

pub const MENTIONS_VOCAB: &[&str] = &[
    "does", "do", "mention", "mentions", "contain", "contains", "include", "includes", "word",
    "text", "string",
];

/// "How many characters are in 'hello'", "count the characters in the
/// word hello": a length, asked as a count of one text's characters.
fn counts_characters(c: &Clause<'_>) -> bool {
    c.has(&["characters", "character", "chars"]) && asks_count(c)
}

/// "The word hello" at the end of a clause: the one unquoted word after
/// "word" is the text.
fn named_word(c: &Clause<'_>) -> Option<usize> {
    let last = c.len().checked_sub(1)?;
    (last > 0 && c.word(last - 1) == "word" && c.is_word(last)).then_some(last)
}

/// The transform a clause asks for, if it names exactly one.
fn mode(c: &Clause<'_>) -> Option<&'static str> {
    let decode = c.has(&["decode", "decoded"]);
    let modes = [
        (c.has(&["uppercase", "capitals", "upper"]), "upper"),
        (c.has(&["lowercase", "lower"]), "lower"),
        (c.has(&["title", "titlecase"]), "title"),
        (c.has(&["reverse", "reversed", "backwards"]), "reverse"),
        (
            c.has(&["length"]) || c.has_phrase(&["how", "long"]) || counts_characters(c),
            "length",
        ),
        (
            c.has(&["base64"]),
            if decode { "unbase64" } else { "base64" },
        ),
        (
            c.has(&["hex", "hexadecimal"]),
            if decode { "unhex" } else { "hex" },
        ),
        (c.has(&["sha256", "sha-256"]), "sha256"),
        (c.has(&["md5"]), "md5"),
    ];
    let mut named = modes.iter().filter(|(on, _)| *on).map(|(_, m)| *m);
    let first = named.next()?;
    // Two transforms in one clause ("uppercase and reversed") is a
    // pipeline this shape does not build.
    named.next().is_none().then_some(first)
}

/// "'hello' in uppercase", "the sha256 of 'abc'", "md5 of /etc/passwd".
pub(super) fn transform(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let Some(mode) = mode(c) else {
        return Ok(None);
    };
    let quoted = c.quoted();
    let paths = c.paths();
    let word = named_word(c).filter(|_| quoted.is_empty() && paths.is_empty());
    let (kind, value, index) = match (quoted.as_slice(), paths.as_slice()) {
        ([q], []) => ("text", c.text(*q).to_string(), *q),
        ([], []) if word.is_some() => {
            let w = word.unwrap_or(0);
            // As typed, not lower-cased: case is part of the text.
            ("text", c.text(w).to_string(), w)
        }
        // Only hashes and encodings make sense of a file's bytes; a count
        // of a file's characters is the counting family's.
        ([], [p])
            if file_like(c.text(*p))
                && !dir_like(c.text(*p))
                && !counts_characters(c)
                && matches!(mode, "sha256" | "md5" | "base64" | "hex" | "length") =>
        {
            ("file", c.text(*p).to_string(), *p)
        }
        _ => return Ok(None),
    };
    need_python(ctx)?;
    c.mark(index);
    if mode == "length" && counts_characters(c) {
        while let Some(i) = c.find(COUNT_WORDS, 0) {
            c.mark(i);
        }
    }
    let what = if kind == "file" {
        format!("the content of {value}")
    } else {
        let shown: String = value.chars().take(40).collect();
        format!("'{shown}'")
    };
    let label = match mode {
        "upper" => "in uppercase",
        "lower" => "in lowercase",
        "title" => "in title case",
        "reverse" => "reversed",
        "length" => "length in characters",
        "base64" => "base64-encoded",
        "unbase64" => "base64-decoded",
        "hex" => "hex-encoded",
        "unhex" => "hex-decoded",
        "sha256" => "SHA-256",
        _ => "MD5",
    };
    Ok(Some(vec![python(
        TRANSFORM,
        vec![mode.to_string(), kind.to_string(), value],
        format!("Show {what}, {label}"),
        &["Output is the transformed text"],
    )]))
}

/// "Does /etc/passwd mention root?", "does FILE contain 'x'?": yes or no.
pub(super) fn mentions(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !matches!(c.verb_word(), "does" | "do") {
        return Ok(None);
    }
    let Some(cue) = c.find(
        &[
            "mention", "mentions", "contain", "contains", "include", "includes",
        ],
        0,
    ) else {
        return Ok(None);
    };
    let paths = c.paths();
    let [p] = paths.as_slice() else {
        return Ok(None);
    };
    if !file_like(c.text(*p)) || dir_like(c.text(*p)) {
        return Ok(None);
    }
    // The text: the one quoted value, or the one word after the cue
    // ("the word" / "the text" allowed in between).
    let quoted = c.quoted();
    let target = match quoted.as_slice() {
        [q] => *q,
        [] => {
            let k = c.skip(cue + 1, &["the", "word", "text", "string"], 0);
            if k + 1 != c.len() || !c.is_word(k) {
                return Ok(None);
            }
            k
        }
        _ => return Ok(None),
    };
    need_python(ctx)?;
    let file = c.text(*p).to_string();
    let text = c.text(target).to_string();
    for i in [*p, target, cue, c.verb] {
        c.mark(i);
    }
    Ok(Some(vec![python(
        MENTIONS,
        vec![file.clone(), text.clone()],
        format!("Answer yes or no: does {file} contain '{text}' (case-sensitive)?"),
        &["Output is yes or no"],
    )]))
}
