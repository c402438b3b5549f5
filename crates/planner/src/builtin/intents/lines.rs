//! Goals about the lines of one file that `head`, `tail` and `grep` do not
//! answer exactly: "lines 3 to 7 of FILE", "the longest line of FILE", "how
//! many empty lines are in FILE", "the distinct lines of FILE", "the line
//! numbers of FILE that mention root".
//!
//! One fixed `python3` program; the mode and its values go in as arguments.
//! Where the answer does not exist (no line 7, no empty line, no match) the
//! program fails with a message rather than print an empty success.

use crate::builtin::clause::{number, Clause, COMMON};

use super::compute::{line_source, need_python, on_lines};
use super::grep::ignores_case;
use super::{asks_count, Ctx, Outcome};

/// Mode `argv[1]` with its two values `argv[2]`, `argv[3]` ("" when
/// unused), over the file `argv[4]` or stdin.
const LINES: &str = r#"import sys
mode, a, b = sys.argv[1:4]
src = open(sys.argv[4], encoding="utf-8", errors="replace") if len(sys.argv) > 4 else sys.stdin
# Lines end at "\n" only, as for wc, head and sed: splitlines() would also
# split at form feeds and other separators some texts hold.
lines = src.read().split("\n")
if lines[-1] == "":
    lines.pop()
def out(xs, none):
    xs = list(xs)
    if not xs:
        sys.exit(none)
    for x in xs:
        print(x)
if mode == "range":
    lo, hi = int(a), int(b)
    if hi > len(lines):
        sys.exit(f"there is no line {hi}: the input has {len(lines)} line(s)")
    out(lines[lo - 1:hi], "no lines")
elif mode in ("longest", "shortest", "longest-length", "shortest-length"):
    if not lines:
        sys.exit("the input has no lines")
    pick = max if mode.startswith("longest") else min
    n = pick(len(l) for l in lines)
    out([n] if mode.endswith("length") else [l for l in lines if len(l) == n], "no lines")
elif mode == "blank-count":
    print(sum(1 for l in lines if not l.strip()))
elif mode == "nonblank-count":
    print(sum(1 for l in lines if l.strip()))
elif mode == "blank-numbers":
    out((i for i, l in enumerate(lines, 1) if not l.strip()), "no line is empty")
elif mode == "distinct":
    seen = set()
    out((l for l in lines if not (l in seen or seen.add(l))), "the input has no lines")
elif mode == "once":
    counts = {}
    for l in lines:
        counts[l] = counts.get(l, 0) + 1
    out((l for l in lines if counts[l] == 1), "every line is repeated")
elif mode == "match-numbers":
    fold = (lambda s: s.casefold()) if a == "ignore-case" else (lambda s: s)
    out((i for i, l in enumerate(lines, 1) if fold(b) in fold(l)), f"no line contains '{b}'")
else:
    sys.exit(f"unknown mode {mode}")
"#;

#[rustfmt::skip]
pub const LINES_VOCAB: &[&str] = &[
    "line", "lines", "to", "through", "thru", "until", "till", "between", "and", "from",
    "longest", "shortest", "length", "long", "how", "many", "characters", "chars", "count",
    "number", "numbers", "empty", "blank", "non-empty", "nonempty", "non-blank", "nonblank",
    "unique", "distinct", "deduplicated", "once", "only", "exactly", "appear", "appears",
    "occur", "occurs", "mention", "mentions", "mentioning", "contain", "contains", "containing",
    "include", "includes", "including", "match", "matches", "matching", "word", "text",
    "string", "case-insensitive", "case-insensitively", "case", "insensitive", "ignoring",
    "ignore", "regardless", "which", "what", "where", "are", "is", "have", "has", "there",
    "print", "show", "display", "give", "get", "list", "tell", "find", "return", "output",
    "read", "of", "in", "file", "on",
];

/// Words that ask for lines to be ordered or searched some other way; such
/// a clause is another family's.
const OTHER_FAMILIES: &[&str] = &[
    "sort", "sorted", "reverse", "reversed", "first", "last", "top", "bottom", "head", "tail",
];

/// Tries each shape in turn.
pub(super) fn lines(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !c.has(&["line", "lines"]) || c.has(OTHER_FAMILIES) || !c.urls().is_empty() {
        return Ok(None);
    }
    // "…with line numbers", "numbered": `grep -n`'s shape, not these.
    if c.has_phrase(&["with", "line", "numbers"]) || c.has(&["numbered"]) {
        return Ok(None);
    }
    for shape in [range, extreme, blank, distinct, match_numbers] {
        if let Some(specs) = shape(c, ctx)? {
            return Ok(Some(specs));
        }
    }
    Ok(None)
}

/// Runs the program in `mode` with `a`, `b` on the clause's one file (or the
/// previous output). `what` reads "… of FILE".
fn run(c: &mut Clause<'_>, ctx: &Ctx<'_>, mode: &str, a: &str, b: &str, what: String) -> Outcome {
    need_python(ctx)?;
    let src = line_source(c, ctx)?;
    let args = vec![mode.to_string(), a.to_string(), b.to_string()];
    on_lines(LINES, args, src, |of| {
        (
            format!("{what} of {of}"),
            "Output holds the requested lines",
        )
    })
}

/// "Lines 3 to 7 of FILE", "lines 3-7", "from line 3 to line 7", "lines
/// between 3 and 7".
fn range(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    for i in 0..c.len() {
        if !matches!(c.word(i), "line" | "lines") {
            continue;
        }
        let mut k = i + 1;
        let between = c.word(k) == "between";
        if between || c.word(k) == "from" {
            k += 1;
        }
        // "lines 3-7" in one token.
        if let Some((a, b)) = c.word(k).split_once('-') {
            if let (Some(a), Some(b)) = (number(a), number(b)) {
                return range_of(c, ctx, (i..=k).collect(), a, b);
            }
        }
        let Some(a) = number(c.word(k)) else { continue };
        let mut to = k + 1;
        // "lines 3 and 7" is two lines; only "between 3 and 7" is a range.
        let and_ok = between && c.word(to) == "and";
        if !and_ok && !matches!(c.word(to), "to" | "through" | "thru" | "until" | "till") {
            continue;
        }
        // "from line 3 to line 7": the second "line" is part of the range.
        if c.word(to + 1) == "line" {
            to += 1;
        }
        let Some(b) = number(c.word(to + 1)) else {
            continue;
        };
        let mut used: Vec<usize> = (i..=to + 1).collect();
        if i > 0 && c.word(i - 1) == "from" {
            used.push(i - 1);
        }
        return range_of(c, ctx, used, a, b);
    }
    Ok(None)
}

fn range_of(c: &mut Clause<'_>, ctx: &Ctx<'_>, used: Vec<usize>, a: u32, b: u32) -> Outcome {
    if a == 0 || b < a {
        return Err(format!(
            "lines {a} to {b} is not a range of lines numbered from 1"
        ));
    }
    for i in used {
        c.mark(i);
    }
    let (a, b) = (a.to_string(), b.to_string());
    run(c, ctx, "range", &a, &b, format!("Show lines {a} to {b}"))
}

/// "The longest line of FILE", "which line is the shortest", "how long is
/// the longest line" (its length in characters).
fn extreme(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let Some(i) = c.find(&["longest", "shortest"], 0) else {
        return Ok(None);
    };
    let which = c.word(i).to_string();
    // "The line number of the longest line" asks where, not what.
    if c.has(&["number", "numbers"]) {
        return Ok(None);
    }
    if c.word(i + 1) != "line" && !c.has(&["line"]) {
        return Ok(None);
    }
    let length = c.has(&["length", "characters", "chars"]) || c.has_phrase(&["how", "long"]);
    let mode = if length {
        format!("{which}-length")
    } else {
        which.clone()
    };
    let what = if length {
        format!("The length in characters of the {which} line")
    } else {
        format!("The {which} line (every one of that length, in file order)")
    };
    c.mark(i);
    run(c, ctx, &mode, "", "", what)
}

/// "How many empty lines are in FILE", "which lines of FILE are blank",
/// "count the non-empty lines". Empty and blank both mean: nothing but
/// whitespace.
fn blank(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let nonblank = c.find(&["non-empty", "nonempty", "non-blank", "nonblank"], 0);
    let blank = c.find(&["empty", "blank"], 0);
    let (at, negated) = match (nonblank, blank) {
        (Some(i), None) => (i, true),
        (None, Some(i)) => (i, false),
        _ => return Ok(None),
    };
    let counting = asks_count(c);
    let numbering = c.has(&["numbers"])
        || c.has_phrase(&["which", "lines"])
        || c.has_phrase(&["what", "lines"])
        || c.has(&["where"]);
    let (mode, what) = match (counting, numbering, negated) {
        (true, false, false) => ("blank-count", "Count the empty (whitespace-only) lines"),
        (true, false, true) => (
            "nonblank-count",
            "Count the lines that are not empty (hold more than whitespace)",
        ),
        (false, true, false) => (
            "blank-numbers",
            "The numbers of the empty (whitespace-only) lines",
        ),
        // Printing the empty lines themselves, or both a count and numbers,
        // is no answer anyone asks for: refused as not understood.
        _ => return Ok(None),
    };
    c.mark(at);
    run(c, ctx, mode, "", "", what.to_string())
}

/// "The unique lines of FILE" (each distinct line once, in the order they
/// first appear), "the lines of FILE that appear only once".
fn distinct(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if asks_count(c) {
        // Counting unique lines is the count family's (`sort -u | wc -l`).
        return Ok(None);
    }
    if let Some(i) = c.find(&["unique", "distinct", "deduplicated"], 0) {
        if c.has(&["once"]) {
            return Ok(None);
        }
        c.mark(i);
        return run(
            c,
            ctx,
            "distinct",
            "",
            "",
            "Each distinct line once, in the order of first appearance,".into(),
        );
    }
    let once = c
        .phrase(&["only", "once"])
        .or_else(|| c.phrase(&["exactly", "once"]));
    if let Some(i) = once {
        if !c.has(&["appear", "appears", "occur", "occurs"]) {
            return Ok(None);
        }
        c.mark(i);
        c.mark(i + 1);
        return run(
            c,
            ctx,
            "once",
            "",
            "",
            "The lines that occur exactly once, in file order,".into(),
        );
    }
    Ok(None)
}

/// "The line numbers of FILE that mention root", "which line numbers
/// contain 'x'", "on which lines of FILE does 'x' appear".
fn match_numbers(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    // "…with line numbers" asks grep to number the lines it shows.
    let numbered = match c
        .phrase(&["line", "numbers"])
        .or_else(|| c.phrase(&["line", "number"]))
    {
        Some(i) if i == 0 || c.word(i - 1) != "with" => Some(i),
        _ => None,
    };
    let on_which = c
        .phrase(&["on", "which", "lines"])
        .or_else(|| c.phrase(&["on", "what", "lines"]));
    if numbered.is_none() && on_which.is_none() {
        return Ok(None);
    }
    let cues = [
        "mention",
        "mentions",
        "mentioning",
        "contain",
        "contains",
        "containing",
        "include",
        "includes",
        "including",
        "match",
        "matches",
        "matching",
        "appear",
        "appears",
        "occur",
        "occurs",
    ];
    let Some(cue) = c.find(&cues, 0) else {
        return Ok(None);
    };
    // The text: the one quoted value, or the word after the cue ("the
    // word" allowed in between), or before "appear"/"occur".
    let quoted = c.quoted();
    let target = match quoted.as_slice() {
        [q] => *q,
        [] => {
            let k = c.skip(cue + 1, &["the", "word", "text", "string"], 0);
            if matches!(c.word(cue), "appear" | "appears" | "occur" | "occurs") {
                let Some(prev) = cue.checked_sub(1) else {
                    return Ok(None);
                };
                prev
            } else if c.is_word(k) && !c.paths().contains(&k) && !c.is_used(k) {
                k
            } else {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    };
    if c.is_used(target) || c.paths().contains(&target) || COMMON.contains(&c.word(target)) {
        return Ok(None);
    }
    let ci = ignores_case(c);
    let text = c.text(target).to_string();
    for i in [target, cue] {
        c.mark(i);
    }
    let (flag, how) = if ci {
        ("ignore-case", "ignoring case")
    } else {
        ("exact-case", "case-sensitive")
    };
    run(
        c,
        ctx,
        "match-numbers",
        flag,
        &text,
        format!("The numbers of the lines containing '{text}' ({how})"),
    )
}
