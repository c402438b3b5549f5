//! Goals no single allowlisted command answers exactly, answered by fixed
//! `python3 -c` programs: "the fourth line of FILE", "the last 3 lines of
//! FILE in reverse order", "the numbers from 1 to 5", "the largest file in
//! DIR".
//!
//! The programs are constants; every value from the goal (a number, a path,
//! a mode word) goes in as an argument, never into the code. Each program
//! fails with a message when the answer does not exist (no fourth line, no
//! file in the directory), so a task never reports an empty success.

use crate::builtin::clause::{number, Clause};

use super::{dir_like, file_like, on_source, shell, source, Ctx, Outcome, Source, Spec};

/// Line `argv[1]` (from 1) of the file `argv[2]`, or of stdin.
const NTH_LINE: &str = r#"import sys
n = int(sys.argv[1])
src = open(sys.argv[2], encoding="utf-8", errors="replace") if len(sys.argv) > 2 else sys.stdin
# Lines end at "\n" only, as for wc and sed (splitlines() also splits at
# form feeds, which license texts hold).
lines = src.read().split("\n")
if lines[-1] == "":
    lines.pop()
if n > len(lines):
    sys.exit(f"there is no line {n}: the input has {len(lines)} line(s)")
print(lines[n - 1])
"#;

/// The lines selected by `argv[1]` (`first`, `last` or `all`) and count
/// `argv[2]`, in reverse order; from the file `argv[3]` or stdin.
const REVERSED_LINES: &str = r#"import sys
which, n = sys.argv[1], int(sys.argv[2])
src = open(sys.argv[3], encoding="utf-8", errors="replace") if len(sys.argv) > 3 else sys.stdin
# Lines end at "\n" only, as for wc and sed (splitlines() also splits at
# form feeds, which license texts hold).
lines = src.read().split("\n")
if lines[-1] == "":
    lines.pop()
picked = lines[:n] if which == "first" else lines[-n:] if which == "last" else lines
for line in reversed(picked):
    print(line)
"#;

/// The integers from `argv[1]` to `argv[2]`, both included, one per line.
const SEQUENCE: &str = r#"import sys
a, b = int(sys.argv[1]), int(sys.argv[2])
step = 1 if b >= a else -1
for i in range(a, b + step, step):
    print(i)
"#;

/// The name of the regular file in directory `argv[2]` that is `argv[1]`
/// (`largest`, `smallest`, `newest`, `oldest`); every one of them on a tie.
const EXTREME_FILE: &str = r#"import os, sys
mode, d = sys.argv[1], sys.argv[2]
files = [e for e in os.scandir(d) if e.is_file(follow_symlinks=False)]
if not files:
    sys.exit(f"{d} holds no regular files")
by_size = mode in ("largest", "smallest")
def key(e):
    st = e.stat(follow_symlinks=False)
    return st.st_size if by_size else st.st_mtime
values = [key(e) for e in files]
best = max(values) if mode in ("largest", "newest") else min(values)
print("\n".join(sorted(e.name for e, v in zip(files, values) if v == best)))
"#;

/// The longest sequence the built-in planner writes out.
const MAX_SEQUENCE: u32 = 100_000;

const ORDINALS: &[(&str, u32)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
];

/// The digits of "4th", "22nd": digits followed by an ordinal suffix.
pub(super) fn ordinal_digits(w: &str) -> Option<&str> {
    let b = w.as_bytes();
    (b.len() > 2
        && b[..b.len() - 2].iter().all(u8::is_ascii_digit)
        && matches!(&b[b.len() - 2..], b"st" | b"nd" | b"rd" | b"th"))
    .then(|| &w[..w.len() - 2])
}

/// Whether `w` is an ordinal ("fourth", "4th"), whatever its size.
pub(super) fn is_ordinal(w: &str) -> bool {
    ORDINALS.iter().any(|(o, _)| *o == w) || ordinal_digits(w).is_some()
}

/// The value of an ordinal word or of "4th", "22nd".
fn ordinal(w: &str) -> Option<u32> {
    if let Some(&(_, n)) = ORDINALS.iter().find(|(o, _)| *o == w) {
        return Some(n);
    }
    ordinal_digits(w).and_then(|d| d.parse().ok())
}

/// A step running one of the fixed programs with `args` as its argv.
pub(super) fn python(program: &str, args: Vec<String>, action: String, criteria: &[&str]) -> Spec {
    let mut argv = vec!["-c".to_string(), program.to_string()];
    argv.extend(args);
    shell("python3", argv, action, criteria)
}

/// Where the lines come from: one file, or the previous step's output.
pub(super) fn line_source(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Result<Option<String>, String> {
    match source(c, ctx) {
        Source::Files(f) if f.len() == 1 && !dir_like(&f[0]) => Ok(f.into_iter().next()),
        Source::Files(f) => Err(format!("'{}' is not one file", f.join(", "))),
        Source::Prev => Ok(None),
        Source::Url(_) => Err("reading single lines of a web page is not supported".into()),
        Source::Nothing => Err("the goal does not say which file to read".into()),
    }
}

/// Refuses a shape that needs python3 when the allowlist lacks it.
pub(super) fn need_python(ctx: &Ctx<'_>) -> Result<(), String> {
    if ctx.allowed.contains("python3") {
        Ok(())
    } else {
        Err("this needs python3, which is not in the executor's allowlist".into())
    }
}

/// "The fourth line of FILE", "line 7 of FILE", "print the 2nd line".
fn nth_line(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let Some(at) = c.find(&["line"], 0) else {
        return Ok(None);
    };
    // "Lines after line 5", "from line 3", "the first line of each file":
    // one line is not what these ask for.
    if c.has(&[
        "after",
        "before",
        "following",
        "preceding",
        "until",
        "since",
        "each",
        "every",
    ]) || at.checked_sub(1).is_some_and(|p| c.word(p) == "from")
    {
        return Ok(None);
    }
    let (n, used): (u32, Vec<usize>) =
        if let Some(n) = at.checked_sub(1).and_then(|p| ordinal(c.word(p))) {
            (n, vec![at - 1, at])
        } else if let Some(n) = number(c.word(at + 1)) {
            (n, vec![at, at + 1])
        } else if let ("number", Some(n)) = (c.word(at + 1), number(c.word(at + 2))) {
            (n, vec![at, at + 1, at + 2])
        } else {
            return Ok(None);
        };
    if n == 0 {
        return Err("lines are numbered from 1".into());
    }
    need_python(ctx)?;
    for i in used {
        c.mark(i);
    }
    let src = line_source(c, ctx)?;
    on_lines(NTH_LINE, vec![n.to_string()], src, |what| {
        (
            format!("Show line {n} of {what}"),
            "Output is the requested line",
        )
    })
}

/// A line program's step: on the file `src` (its last argument), or on the
/// previous step's output when there is none. `describe` gets what is read.
pub(super) fn on_lines(
    program: &str,
    mut args: Vec<String>,
    src: Option<String>,
    describe: impl FnOnce(&str) -> (String, &'static str),
) -> Outcome {
    let what = src
        .clone()
        .unwrap_or_else(|| "the previous step's output".into());
    let (action, criterion) = describe(&what);
    let piped = src.is_none();
    args.extend(src);
    let mut spec = python(program, args, action, &[criterion]);
    spec.piped = piped;
    Ok(Some(vec![spec]))
}

/// "The last 3 lines of FILE in reverse order", "reverse the lines of FILE".
fn reversed_lines(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    // "Count the lines in reverse" asks for no listing.
    if c.has(&["count", "many", "number"]) {
        return Ok(None);
    }
    let reverse = c.has(&["reverse", "reversed", "backwards", "backward"]);
    if !reverse || !c.has(&["lines", "line"]) || c.has(&["sort", "sorted", "alphabetical"]) {
        return Ok(None);
    }
    need_python(ctx)?;
    let mut which = ("all", 0u32);
    for (words, name) in [
        (&["first", "top"][..], "first"),
        (&["last", "bottom", "final"][..], "last"),
    ] {
        if let Some(i) = c.find(words, 0) {
            let n = number(c.word(i + 1)).unwrap_or(10);
            c.mark(i);
            if number(c.word(i + 1)).is_some() {
                c.mark(i + 1);
            }
            which = (name, n.max(1));
        }
    }
    let src = line_source(c, ctx)?;
    let picked = match which {
        ("all", _) => "The lines".to_string(),
        (name, n) => format!("The {name} {n} lines"),
    };
    let args = vec![which.0.to_string(), which.1.to_string()];
    on_lines(REVERSED_LINES, args, src, |what| {
        (
            format!("{picked} of {what}, in reverse order"),
            "Output holds the requested lines",
        )
    })
}

/// "The numbers from 1 to 5", "count from 10 down to 1", "integers between 3 and 9".
fn sequence(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let Some(from) = c.find(&["from", "between"], 0) else {
        return Ok(None);
    };
    let Some(a) = number(c.word(from + 1)) else {
        return Ok(None);
    };
    let mut to = from + 2;
    if c.word(to) == "down" {
        to += 1;
    }
    if !matches!(c.word(to), "to" | "and" | "through" | "until" | "till") {
        return Ok(None);
    }
    let Some(b) = number(c.word(to + 1)) else {
        return Ok(None);
    };
    if !c.has(&["numbers", "integers", "count", "sequence", "digits"]) {
        return Ok(None);
    }
    if a.abs_diff(b) >= MAX_SEQUENCE {
        return Err(format!(
            "a sequence of more than {MAX_SEQUENCE} numbers is too long to print"
        ));
    }
    need_python(ctx)?;
    for i in from..=to + 1 {
        c.mark(i);
    }
    c.mark_phrase(&["one", "per", "line"]);
    c.mark_phrase(&["each", "on", "its", "own", "line"]);
    Ok(Some(vec![python(
        SEQUENCE,
        vec![a.to_string(), b.to_string()],
        format!("The numbers from {a} to {b}, one per line"),
        &["Output holds the numbers"],
    )]))
}

/// "The largest file in /etc", "which file in DIR is the newest".
fn extreme_file(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    // One file: "files" or a count asks for a listing instead.
    if !c.has(&["file"]) || c.has(&["files", "lines", "line", "words"]) {
        return Ok(None);
    }
    let mode = if c.has(&["largest", "biggest"]) {
        "largest"
    } else if c.has(&["smallest", "tiniest"]) {
        "smallest"
    } else if c.has(&["newest", "latest"]) || c.has_phrase(&["most", "recent"]) {
        "newest"
    } else if c.has(&["oldest"]) {
        "oldest"
    } else {
        return Ok(None);
    };
    need_python(ctx)?;
    let dir = match source(c, ctx) {
        Source::Files(f) if f.len() == 1 && !file_like(&f[0]) => f[0].clone(),
        Source::Files(f) => return Err(format!("'{}' is not one directory", f.join(", "))),
        _ => return Err("the goal does not say which directory to look in".into()),
    };
    c.mark_phrase(&["most", "recent"]);
    on_source(
        Source::Files(vec![dir]),
        "python3",
        vec!["-c".into(), EXTREME_FILE.into(), mode.into()],
        &format!("Find the {mode} regular file in"),
        &["Output names the file"],
    )
}

/// Tries each program-backed shape in turn.
pub(super) fn compute(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    for shape in [reversed_lines, nth_line, sequence, extreme_file] {
        if let Some(specs) = shape(c, ctx)? {
            return Ok(Some(specs));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals_in_words_and_digits() {
        assert_eq!(ordinal("fourth"), Some(4));
        assert_eq!(ordinal("22nd"), Some(22));
        assert_eq!(ordinal("1st"), Some(1));
        assert_eq!(ordinal("th"), None);
        assert_eq!(ordinal("lines"), None);
        assert_eq!(ordinal("ünth"), None);
    }
}
