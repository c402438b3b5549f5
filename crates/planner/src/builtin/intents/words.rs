//! Goals about the words and characters of a file or a quoted text that
//! `wc` does not answer exactly: "the 5 most common words in FILE", "how
//! many letters are in 'hello world'", "count the digits in FILE", "the
//! characters of FILE excluding whitespace".
//!
//! Fixed `python3` programs; what a word or a letter is is defined once,
//! here, and said in the step's action.

use crate::builtin::clause::{number, Clause};

use super::compute::{need_python, python};
use super::{asks_count, dir_like, Ctx, Outcome};

/// The `argv[1]` most common words of the file `argv[2]`: a word is a
/// maximal run of letters and digits, with apostrophes allowed inside it
/// ("don't"), case-folded. Most frequent first, ties in code point order;
/// one `count word` per line. Fails when there are fewer distinct words.
const COMMON_WORDS: &str = r#"import re, sys
from collections import Counter
n = int(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8", errors="replace").read().casefold()
counts = Counter(re.findall(r"[^\W_]+(?:'[^\W_]+)*", text))
if len(counts) < n:
    sys.exit(f"the file has only {len(counts)} distinct word(s)")
for word, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]:
    print(k, word)
"#;

/// How many characters of class `argv[1]` the text `argv[3]` holds (with
/// `argv[2]` = `file`, the file at that path).
const CHAR_CLASS: &str = r#"import sys
cls, kind, value = sys.argv[1:4]
text = open(value, encoding="utf-8", errors="replace").read() if kind == "file" else value
test = {
    "letters": str.isalpha,
    "digits": str.isdecimal,
    "uppercase": str.isupper,
    "lowercase": str.islower,
    "whitespace": str.isspace,
    "spaces": lambda ch: ch == " ",
    "non-whitespace": lambda ch: not ch.isspace(),
}[cls]
print(sum(1 for ch in text if test(ch)))
"#;

#[rustfmt::skip]
pub const WORDS_VOCAB: &[&str] = &[
    "most", "common", "frequent", "frequently", "used", "often", "popular", "top", "words",
    "word", "appear", "appears", "occur", "occurs", "how", "many", "count", "number", "total",
    "letters", "letter", "digits", "digit", "uppercase", "upper-case", "capital", "lowercase",
    "lower-case", "case", "characters", "character", "chars", "whitespace", "spaces", "space",
    "excluding", "without", "ignoring", "not", "counting", "except", "non-whitespace", "text",
    "string", "file", "are", "is", "there", "have", "has", "does", "contain", "contains",
    "what", "which", "print", "show", "list", "give", "get", "tell", "find", "the",
];

/// Tries each shape in turn.
pub(super) fn words(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.urls().is_empty() {
        return Ok(None);
    }
    for shape in [common_words, char_class] {
        if let Some(specs) = shape(c, ctx)? {
            return Ok(Some(specs));
        }
    }
    Ok(None)
}

/// The one file of a clause, unmarked, if it names exactly one.
fn one_file(c: &Clause<'_>) -> Option<usize> {
    match c.paths().as_slice() {
        [p] if !dir_like(c.text(*p)) => Some(*p),
        _ => None,
    }
}

/// "The 5 most common words in FILE", "the top 10 words of FILE", "which
/// word appears most often in FILE".
fn common_words(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let Some(w) = c.find(&["words", "word"], 0) else {
        return Ok(None);
    };
    let plural = c.word(w) == "words";
    let most = c
        .phrase(&["most", "common"])
        .or_else(|| c.phrase(&["most", "frequent"]))
        .or_else(|| c.phrase(&["most", "frequently"]))
        .or_else(|| c.phrase(&["most", "often"]))
        .or_else(|| c.phrase(&["most", "popular"]));
    let top = c.find(&["top"], 0);
    if most.is_none() && top.is_none() {
        return Ok(None);
    }
    if !c.quoted().is_empty() {
        return Ok(None);
    }
    // The count: "the 5 most common", "top 10", "5 most"; a plural without
    // one is refused (how many is not said), a singular is one.
    let n_at = [most, top]
        .into_iter()
        .flatten()
        .flat_map(|i| [i.checked_sub(1), Some(i + 1)])
        .flatten()
        .find(|&k| number(c.word(k)).is_some() && !c.is_used(k));
    let n = match (n_at.and_then(|k| number(c.word(k))), plural) {
        (Some(n), _) if n >= 1 => n,
        (None, false) => 1,
        _ => return Ok(None),
    };
    if n > 1 && !plural {
        return Ok(None);
    }
    let Some(f) = one_file(c) else {
        return Ok(None);
    };
    need_python(ctx)?;
    for i in [Some(w), most, most.map(|i| i + 1), top, n_at, Some(f)]
        .into_iter()
        .flatten()
    {
        c.mark(i);
    }
    let file = c.text(f).to_string();
    Ok(Some(vec![python(
        COMMON_WORDS,
        vec![n.to_string(), file.clone()],
        format!(
            "The {} of {file}, as 'count word' (words: case-folded runs of letters and digits, \
             apostrophes allowed inside; ties in alphabetical order)",
            if n == 1 {
                "most common word".to_string()
            } else {
                format!("{n} most common words")
            }
        ),
        &["Output lists words with their counts"],
    )]))
}

/// "How many letters are in 'hello world'", "count the digits in FILE",
/// "the number of characters in FILE excluding whitespace".
fn char_class(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !asks_count(c) {
        return Ok(None);
    }
    // "The letter e", "a digit": a particular one, which this shape does
    // not count; "letters and digits": two classes, not one.
    if c.has(&["letter", "digit", "character", "times", "occurrences"]) {
        return Ok(None);
    }
    let cased = c.has(&[
        "uppercase",
        "upper-case",
        "capital",
        "lowercase",
        "lower-case",
    ]);
    let classes = [
        &["uppercase", "upper-case", "capital"][..],
        &["lowercase", "lower-case"],
        &["digits"],
        &["whitespace", "spaces", "space", "non-whitespace"],
    ];
    let named =
        classes.iter().filter(|ws| c.has(ws)).count() + usize::from(c.has(&["letters"]) && !cased);
    if named > 1 {
        return Ok(None);
    }
    let excluding = c.has(&["excluding", "without", "except", "ignoring", "not"]);
    let class = if c.has(&["non-whitespace"]) {
        ("non-whitespace", "characters other than whitespace")
    } else if c.has(&["characters", "chars"]) && excluding {
        if !c.has(&["whitespace", "spaces", "space"]) {
            return Ok(None);
        }
        // "Excluding spaces" could mean only " " or every blank; newlines
        // and tabs are never what someone counting characters wants.
        ("non-whitespace", "characters other than whitespace")
    } else if excluding {
        return Ok(None);
    } else if c.has(&["uppercase", "upper-case", "capital"]) {
        ("uppercase", "uppercase letters")
    } else if c.has(&["lowercase", "lower-case"]) {
        ("lowercase", "lowercase letters")
    } else if c.has(&["letters"]) {
        ("letters", "letters (Unicode alphabetic characters)")
    } else if c.has(&["digits"]) {
        ("digits", "decimal digits")
    } else if c.has(&["whitespace"]) {
        (
            "whitespace",
            "whitespace characters (spaces, tabs, newlines)",
        )
    } else if c.has(&["spaces"]) {
        ("spaces", "space characters (' ' only)")
    } else {
        return Ok(None);
    };
    let quoted = c.quoted();
    let (kind, at) = match (quoted.as_slice(), one_file(c)) {
        ([q], None) => ("text", *q),
        ([], Some(f)) => ("file", f),
        _ => return Ok(None),
    };
    need_python(ctx)?;
    c.mark(at);
    let value = c.text(at).to_string();
    let what = if kind == "file" {
        value.clone()
    } else {
        format!("'{}'", value.chars().take(40).collect::<String>())
    };
    Ok(Some(vec![python(
        CHAR_CLASS,
        vec![class.0.to_string(), kind.to_string(), value],
        format!("Count the {} in {what}", class.1),
        &["Output is a number"],
    )]))
}
