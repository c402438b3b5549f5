//! Goals about a directory's entries by name, and about two files side by
//! side: "the files in DIR starting with GPL", "how many directories in DIR
//! end with 'd'", "which has more lines, A or B", "are A and B identical?".
//!
//! A name filter over one directory (not its subdirectories) is one fixed
//! `python3` program, so "files", "directories", prefix, suffix and
//! substring each have one definition. Recursive searches stay `find`'s.

use crate::builtin::clause::Clause;

use super::compute::{need_python, python};
use super::grep::ignores_case;
use super::{asks_count, dir_like, file_like, source, Ctx, Outcome, Source};

/// Entries of directory `argv[1]` of kind `argv[2]` (`files`: anything
/// that is not a directory, symbolic links followed; `directories`;
/// `entries`) whose name passes test `argv[3]` (`prefix`, `suffix`,
/// `substring`) with `argv[4]`, compared as `argv[5]` (`exact-case` or
/// `ignore-case`); hidden names included. `argv[6]` is `list` (the names,
/// sorted) or `count`.
const NAMED: &str = r#"import os, sys
d, kind, test, value, case, out = sys.argv[1:7]
fold = (lambda s: s.casefold()) if case == "ignore-case" else (lambda s: s)
v = fold(value)
ok = {"prefix": lambda n: n.startswith(v), "suffix": lambda n: n.endswith(v), "substring": lambda n: v in n}[test]
names = sorted(
    e.name for e in os.scandir(d)
    if ok(fold(e.name)) and (kind == "entries" or (kind == "directories") == e.is_dir())
)
if out == "count":
    print(len(names))
elif not names:
    sys.exit(f"no {kind} in {d} match")
else:
    print("\n".join(names))
"#;

/// Compares files `argv[2]` and `argv[3]` by `argv[1]`: `lines`, `bytes`
/// (the name of the one with more, or fewer with `argv[4]` = `fewer`; a tie
/// says so) or `same` (`yes` when their bytes are identical).
const COMPARE: &str = r#"import sys
how, a, b, want = sys.argv[1:5]
def measure(p):
    data = open(p, "rb").read()
    return data if how == "same" else data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0) if how == "lines" else len(data)
x, y = measure(a), measure(b)
if how == "same":
    print("yes" if (x == y) == (want == "same") else "no")
elif x == y:
    print(f"neither: both have {x} {'line(s)' if how == 'lines' else 'byte(s)'}")
else:
    print(a if (x > y) == (want == "more") else b)
"#;

#[rustfmt::skip]
pub const FILES_VOCAB: &[&str] = &[
    "files", "file", "directories", "directory", "folders", "folder", "subdirectories",
    "subfolders", "entries", "items", "names", "name", "whose", "their", "its", "starting",
    "start", "starts", "beginning", "begin", "begins", "prefix", "prefixed", "ending", "end",
    "ends", "suffix", "suffixed", "containing", "contain", "contains", "including", "include",
    "includes", "have", "has", "with", "how", "many", "count", "number", "list", "show",
    "which", "what", "are", "is", "there", "case-insensitive", "case-insensitively", "case",
    "insensitive", "ignoring", "ignore", "regardless", "more", "fewer", "less", "lines",
    "larger", "bigger", "smaller", "same", "most", "fewest", "least", "largest", "biggest",
    "smallest", "identical", "equal", "content", "contents",
    "differ", "different", "or", "compare", "these", "two", "both", "do", "does", "yes", "no", "bytes",
    "print", "display", "give", "get", "tell", "name", "find",
];

/// Tries each shape in turn.
pub(super) fn files(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    for shape in [named, compare] {
        if let Some(specs) = shape(c, ctx)? {
            return Ok(Some(specs));
        }
    }
    Ok(None)
}

/// "The files in DIR starting with GPL", "how many directories in DIR end
/// with 'd'", "list the entries of DIR whose name contains 'x'".
fn named(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let kind = if c.has(&["directories", "folders", "subdirectories", "subfolders"]) {
        if c.has(&["files", "entries", "items"]) {
            return Ok(None);
        }
        "directories"
    } else if c.has(&["files"]) {
        "files"
    } else if c.has(&["entries", "items"]) {
        "entries"
    } else {
        return Ok(None);
    };
    // Finding runs recursively; that is `find`'s shape.
    if matches!(c.verb_word(), "find" | "locate" | "search" | "look")
        || c.has(&[
            "recursively",
            "recursive",
            "subdirectories",
            "subfolders",
            "anywhere",
            "tree",
        ])
    {
        return Ok(None);
    }
    let Some((test, cue, value)) = name_test(c) else {
        return Ok(None);
    };
    need_python(ctx)?;
    let counting = asks_count(c);
    let text = c.text(value).to_string();
    for i in cue.into_iter().chain([value]) {
        c.mark(i);
    }
    let dir = match source(c, ctx) {
        Source::Files(f) if f.len() == 1 && !file_like(&f[0]) => f[0].clone(),
        _ => return Ok(None),
    };
    let ci = ignores_case(c);
    let (case, how) = if ci {
        ("ignore-case", "ignoring case")
    } else {
        ("exact-case", "case-sensitive")
    };
    let relation = match test {
        "prefix" => "start with",
        "suffix" => "end with",
        _ => "contain",
    };
    let described = match kind {
        "files" => "entries that are not directories (hidden ones included)",
        "directories" => "directories (hidden ones included)",
        _ => "entries (hidden ones included)",
    };
    let (out, action, criterion) = if counting {
        (
            "count",
            format!(
                "Count the {described} directly in {dir} whose names {relation} '{text}' ({how})"
            ),
            "Output is a number",
        )
    } else {
        (
            "list",
            format!("List, sorted, the {described} directly in {dir} whose names {relation} '{text}' ({how})"),
            "Output lists the matching names",
        )
    };
    let args = [dir.as_str(), kind, test, text.as_str(), case, out]
        .map(String::from)
        .to_vec();
    Ok(Some(vec![python(NAMED, args, action, &[criterion])]))
}

/// The name test a clause asks for: (test, cue words to mark, the value).
fn name_test(c: &Clause<'_>) -> Option<(&'static str, Vec<usize>, usize)> {
    let value = |k: usize| -> Option<usize> {
        let k = c.skip(
            k,
            &[
                "the", "prefix", "suffix", "string", "text", "letters", "letter",
            ],
            0,
        );
        (k < c.len() && !c.is_used(k) && !(c.is_word(k) && dir_like(c.text(k)))).then_some(k)
    };
    for (cues, test) in [
        (
            &[
                "starting",
                "start",
                "starts",
                "beginning",
                "begin",
                "begins",
                "prefixed",
            ][..],
            "prefix",
        ),
        (&["ending", "end", "ends", "suffixed"][..], "suffix"),
    ] {
        if let Some(i) = c.find(cues, 0) {
            if matches!(c.word(i + 1), "with" | "in") {
                let k = value(i + 2)?;
                return Some((test, vec![i, i + 1], k));
            }
        }
    }
    // "with the prefix 'x'", "with suffix .conf"
    for (cue, test) in [("prefix", "prefix"), ("suffix", "suffix")] {
        if let Some(i) = c.find(&[cue], 0) {
            let k = value(i + 1)?;
            return Some((test, vec![i], k));
        }
    }
    // "whose name contains x", "names containing x": a name test, never a
    // content search, because "name" says so.
    let n = c.find(&["name", "names"], 0)?;
    let cue = c.find(
        &[
            "containing",
            "contain",
            "contains",
            "including",
            "include",
            "includes",
        ],
        n,
    )?;
    let k = value(cue + 1)?;
    Some(("substring", vec![n, cue], k))
}

/// "Which has more lines, A or B", "which is larger: A or B", "are A and B
/// identical?", "do A and B have the same content?".
fn compare(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let paths = c.paths();
    let [a, b] = paths.as_slice() else {
        return Ok(None);
    };
    let (a, b) = (*a, *b);
    if [a, b].iter().any(|&p| dir_like(c.text(p))) {
        return Ok(None);
    }
    // "The same size" or "the same number of lines" is no content test.
    let measured = c.has(&[
        "size", "bytes", "number", "length", "count", "lines", "words",
    ]);
    let same = c.has(&["identical", "same", "equal"]) && !measured;
    let differ = c.has(&["differ", "different"]) && !measured;
    let lines = c.has(&["lines"]);
    let more = c.has(&["more", "most", "larger", "largest", "bigger", "biggest"]);
    let fewer = c.has(&["fewer", "fewest", "less", "least", "smaller", "smallest"]);
    // "The same file" could mean one file under two names, not equal bytes.
    if c.has_phrase(&["same", "file"]) {
        return Ok(None);
    }
    let which = c.has(&["which", "what"]) || c.verb_word() == "compare";
    let (how, want, action) = match (same, differ, more, fewer) {
        (true, false, false, false) | (false, true, false, false) if !lines => {
            let want = if same { "same" } else { "differ" };
            let q = if same {
                "have identical contents"
            } else {
                "differ in content"
            };
            (
                "same",
                want,
                format!("Answer yes or no: do {} and {} {q}?", c.text(a), c.text(b)),
            )
        }
        (false, false, true, false) | (false, false, false, true) if which => {
            let want = if more { "more" } else { "fewer" };
            let (how, what) = if lines {
                ("lines", format!("{want} lines"))
            } else if c.has(&[
                "larger", "largest", "bigger", "biggest", "smaller", "smallest", "bytes",
            ]) {
                (
                    "bytes",
                    if more {
                        "more bytes".into()
                    } else {
                        "fewer bytes".into()
                    },
                )
            } else {
                return Ok(None);
            };
            (
                how,
                want,
                format!("Name which of {} and {} has {what}", c.text(a), c.text(b)),
            )
        }
        _ => return Ok(None),
    };
    need_python(ctx)?;
    let args = vec![
        how.to_string(),
        c.text(a).to_string(),
        c.text(b).to_string(),
        want.to_string(),
    ];
    for i in [a, b] {
        c.mark(i);
    }
    let criterion = if how == "same" {
        "Output is yes or no"
    } else {
        "Output names a file"
    };
    Ok(Some(vec![python(COMPARE, args, action, &[criterion])]))
}
