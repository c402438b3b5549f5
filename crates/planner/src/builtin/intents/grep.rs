//! Text searches: "search for 'error' in app.log", "grep -i todo in src",
//! "lines not containing x", "list the files containing TODO".
//!
//! Finding the searched text in a clause is the largest single piece of
//! parsing; it lives here with `grep` and is shared with counting ("how many
//! lines contain x").

use crate::builtin::clause::{looks_like_path, number, Clause};
use crate::builtin::lexer::Kind;

use super::{asks_count, file_like, on_source, source, Ctx, Outcome, Source};

pub(super) struct Pattern {
    pub(super) text: String,
    pub(super) anchored: bool,
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ".^$*+?()[]{}|\\".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

pub(super) fn has_regex_meta(s: &str) -> bool {
    s.chars().any(|ch| ".^$*+?()[]{}|\\".contains(ch))
}

/// The text to search for, if the clause names one.
pub(super) fn grep_pattern(c: &mut Clause<'_>) -> Option<Pattern> {
    const NOUNS: &[&str] = &[
        "the", "a", "an", "word", "string", "text", "pattern", "term", "phrase", "keyword",
        "lines", "line", "of", "for", "with",
    ];
    let value_after = |c: &Clause<'_>, i: usize| -> Option<usize> {
        let k = c.skip(i + 1, NOUNS, 0);
        (k < c.len()
            && !c.is_used(k)
            && (!c.is_word(k) || !looks_like_path(c.text(k)))
            && !c.text(k).contains("://"))
        .then_some(k)
    };
    for (cues, anchor_start) in [
        (
            &[
                "starting",
                "start",
                "starts",
                "beginning",
                "begin",
                "begins",
            ][..],
            true,
        ),
        (&["ending", "end", "ends"][..], false),
    ] {
        if let Some(i) = c.find(cues, 0) {
            if c.word(i + 1) == "with" {
                if let Some(k) = value_after(c, i + 1) {
                    if c.toks[k].kind != Kind::Quoted && !c.is_word(k) {
                        continue;
                    }
                    let v = regex_escape(c.text(k));
                    c.mark(i);
                    c.mark(i + 1);
                    c.mark(k);
                    let text = if anchor_start {
                        format!("^{v}")
                    } else {
                        format!("{v}$")
                    };
                    return Some(Pattern {
                        text,
                        anchored: true,
                    });
                }
            }
        }
    }
    let cues = [
        "for",
        "containing",
        "contain",
        "contains",
        "matching",
        "match",
        "matches",
        "mentioning",
        "mention",
        "mentions",
        "including",
        "grep",
        "word",
        "string",
        "pattern",
        "term",
        "phrase",
        "keyword",
        "occurrences",
        "occurrence",
        "instances",
        "with",
    ];
    if let Some(&q) = c.quoted().first() {
        let cued = (0..q).any(|i| c.is_word(i) && cues.contains(&c.word(i)))
            || matches!(
                c.verb_word(),
                "grep" | "search" | "find" | "look" | "filter" | "locate"
            );
        if cued {
            c.mark(q);
            return Some(Pattern {
                text: c.text(q).to_string(),
                anchored: false,
            });
        }
        return None;
    }
    let mut from = 0;
    while let Some(i) = c.find(&cues, from) {
        from = i + 1;
        if NOT_TEXT.contains(&c.word(i + 1)) {
            continue;
        }
        if let Some(k) = value_after(c, i) {
            if c.is_word(k)
                && (COMMON_STOP.contains(&c.word(k))
                    // ... unless named as a word: "the word number".
                    || NOT_TEXT.contains(&c.word(k)) && c.word(k.saturating_sub(1)) != "word"
                    || number(c.word(k)).is_some() && c.word(k + 1) == "days")
            {
                continue;
            }
            c.mark(i);
            c.mark(k);
            return Some(Pattern {
                text: c.text(k).to_string(),
                anchored: false,
            });
        }
    }
    if c.verb_word() == "grep" {
        if let Some(k) = value_after(c, c.verb) {
            c.mark(k);
            return Some(Pattern {
                text: c.text(k).to_string(),
                anchored: false,
            });
        }
    }
    None
}

/// Unquoted words after a search cue that name no text to search for:
/// a listing's columns ("with sizes"), what a listing takes in ("including
/// hidden ones"), a count ("word count"), or a kind of text ("lines that
/// contain numbers" means digits; "with line numbers" numbers the lines).
const NOT_TEXT: &[&str] = &[
    "extension",
    "suffix",
    "name",
    "names",
    "size",
    "sizes",
    "details",
    "permissions",
    "owners",
    "files",
    "file",
    "count",
    "counts",
    "numbers",
    "number",
    "digits",
    "digit",
    "letters",
    "words",
    "spaces",
    "whitespace",
    "vowels",
    "punctuation",
    "emails",
    "urls",
    "anything",
    "something",
    "nothing",
    "hidden",
    "dotfiles",
    "subdirectories",
    "subfolders",
    "directories",
    "folders",
];

/// Words that can follow a cue without being the searched text.
const COMMON_STOP: &[&str] = &[
    "in",
    "the",
    "a",
    "an",
    "files",
    "file",
    "them",
    "it",
    "and",
    "lines",
    "line",
    "all",
    "any",
    "each",
    "every",
    "each",
    "extension",
    "name",
];

/// "Search for 'error' in app.log", "grep -i todo in src", "lines not containing x".
pub(super) fn grep(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    // "Find the number of lines that contain x" asks for a count: showing
    // the lines would answer something else.
    if asks_count(c) {
        return Ok(None);
    }
    let verb_ok = matches!(
        c.verb_word(),
        "grep"
            | "search"
            | "find"
            | "look"
            | "filter"
            | "locate"
            | "extract"
            | "show"
            | "print"
            | "display"
            | "get"
            | "list"
            | "select"
            | "keep"
            | "return"
            | "check"
            | "which"
            | "what"
    );
    if !verb_ok || c.has(&["named", "called", "extension", "name"]) {
        return Ok(None);
    }
    // Read before the pattern is taken: taking it marks the cue word
    // ("files that contain x") as used.
    let files_mode = c.has(&["files", "file"])
        && c.has(&[
            "containing",
            "contain",
            "contains",
            "with",
            "mention",
            "mentioning",
            "mentions",
            "matching",
            "have",
            "has",
        ]);
    let Some(pattern) = grep_pattern(c) else {
        return Ok(None);
    };
    // "Files starting with x" is about their names, not their lines.
    if pattern.anchored && c.has(&["files", "file", "directories", "folders", "entries"]) {
        return Ok(None);
    }
    let mut args: Vec<String> = Vec::new();
    if files_mode {
        args.push("-l".into());
    }
    if ignores_case(c) {
        args.push("-i".into());
    }
    // "Which lines of FILE mention x" asks where as much as what: each line
    // comes with its number.
    let which_lines =
        matches!(c.verb_word(), "which" | "what") && matches!(c.word(c.verb + 1), "lines" | "line");
    if c.has_phrase(&["line", "numbers"]) || c.has(&["numbered"]) || which_lines {
        args.push("-n".into());
    }
    if c.has(&[
        "not",
        "don't",
        "doesn't",
        "without",
        "excluding",
        "exclude",
        "lack",
    ]) {
        args.push("-v".into());
    }
    if c.has_phrase(&["whole", "word"]) {
        args.push("-w".into());
    }
    if c.has(&["regex"]) || c.has_phrase(&["regular", "expression"]) {
        args.push("-E".into());
    } else if !pattern.anchored && has_regex_meta(&pattern.text) {
        args.push("-F".into());
    }
    let src = source(c, ctx);
    if let Source::Files(f) = &src {
        if f.iter().any(|p| !file_like(p)) || files_mode {
            args.insert(0, "-r".into());
        }
    }
    args.extend(["-e".to_string(), pattern.text.clone()]);
    let criteria: &[&str] = if files_mode {
        &["Output lists the matching files"]
    } else {
        &["Output holds the matching lines"]
    };
    // Say how it matched: a count built on this step must be read right.
    let case = if args.iter().any(|a| a == "-i") {
        "ignoring case"
    } else {
        "case-sensitive"
    };
    let numbered = if args.iter().any(|a| a == "-n") {
        ", showing line numbers,"
    } else {
        ""
    };
    let what = if args.iter().any(|a| a == "-v") {
        format!(
            "Show the lines without '{}' ({case}){numbered} in",
            pattern.text
        )
    } else {
        format!("Search for '{}' ({case}){numbered} in", pattern.text)
    };
    on_source(src, "grep", args, &what, criteria)
}

/// The goal asks to match regardless of case ("case-insensitively",
/// "ignoring case", "ignore case"): every family that matches text reads
/// it here.
pub(super) fn ignores_case(c: &Clause<'_>) -> bool {
    c.has(&[
        "case-insensitive",
        "case-insensitively",
        "insensitive",
        "insensitively",
        "ignoring",
        "regardless",
    ]) || c.has_phrase(&["ignore", "case"])
}
