//! Counting goals: "count the lines in f", "how many files are in /etc",
//! "count the occurrences of 'error' in app.log", "count them".
//!
//! Counting wraps other shapes (a search, a file listing, a de-duplicating
//! sort) and appends `wc`, so it builds on their helpers and is kept apart
//! from each of them.

use crate::builtin::clause::Clause;

use super::compute::{is_ordinal, need_python, python};
use super::find::file_listing;
use super::grep::{grep_pattern, has_regex_meta, ignores_case, Pattern};
use super::list::list_specs;
use super::{asks_count, dir_like, on_source, piped, shell, source, Ctx, Outcome, Source};

/// Prints the number of `argv[1]` (lines, words, characters or bytes) in
/// the file `argv[2]`, counted as `wc -l`, `-w`, `-m` and `-c` count.
const COUNT: &str = r#"import sys
mode, path = sys.argv[1:3]
data = open(path, "rb").read()
if mode == "lines":
    n = data.count(b"\n")
elif mode == "words":
    n = len(data.split())
elif mode == "bytes":
    n = len(data)
else:
    n = len(data.decode("utf-8", errors="replace"))
print(n)
"#;

fn count_flags(c: &Clause<'_>) -> Vec<String> {
    let mut flags = Vec::new();
    if c.has(&["lines", "line", "rows"]) {
        flags.push("-l");
    }
    if c.has(&["words", "word"]) {
        flags.push("-w");
    }
    // Letters are not characters: a letter count is `words.rs`'s.
    if c.has(&["characters", "character", "chars"]) {
        flags.push("-m");
    }
    if c.has(&["bytes"]) {
        flags.push("-c");
    }
    flags.into_iter().map(String::from).collect()
}

fn count_vocab_only(c: &Clause<'_>) -> bool {
    asks_count(c)
        || c.has(&["tally"])
        // "The size of FILE in bytes" is a count of its bytes.
        || (c.has(&["size"]) && c.has(&["bytes"]))
}

/// "Count the lines in f", "how many files are in /etc", "count them".
pub(super) fn count(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !count_vocab_only(c) {
        return Ok(None);
    }
    // "The words in the first line", "the lines of the last 10": a count
    // of part of the input, which `wc` on the whole would get wrong.
    if c.has(&["first", "last", "top", "bottom", "each", "every", "per"])
        || (0..c.len()).any(|i| c.is_word(i) && is_ordinal(c.word(i)))
    {
        return Ok(None);
    }
    let occurrences = c.has(&[
        "occurrences",
        "occurrence",
        "times",
        "instances",
        "mentions",
    ]);
    // "How many times does 'x' appear in FILE": the one quoted value is
    // what is counted, whatever verb surrounds it.
    let pattern = match grep_pattern(c) {
        Some(p) => Some(p),
        None if occurrences => {
            let q = c.quoted();
            (q.len() == 1).then(|| q[0])
        }
        .map(|i| {
            c.mark(i);
            Pattern {
                text: c.text(i).to_string(),
                anchored: false,
            }
        }),
        None => None,
    };
    if let Some(pattern) = pattern {
        // "Files starting with x" is about their names, not their lines.
        if pattern.anchored && c.has(&["files", "file", "directories", "folders", "entries"]) {
            return Ok(None);
        }
        let fixed = !pattern.anchored && has_regex_meta(&pattern.text);
        let src = source(c, ctx);
        let recursive = matches!(&src, Source::Files(f) if f.len() == 1 && dir_like(&f[0]));
        // "How many files in DIR contain x" counts files, not lines.
        let files_count = !occurrences && c.has(&["files", "file"]) && !c.has(&["lines", "line"]);
        if files_count && !recursive {
            return Ok(None);
        }
        // One number for a directory too: matches are listed (without
        // file names) and counted, never counted per file.
        let mut args: Vec<String> = if occurrences {
            vec!["-o".into()]
        } else if files_count {
            vec!["-l".into()]
        } else if recursive {
            vec!["-h".into()]
        } else {
            vec!["-c".into()]
        };
        if ignores_case(c) {
            args.push("-i".into());
        }
        if fixed {
            args.push("-F".into());
        }
        // "The word 'the'" is the word, not every 'the' inside "other".
        let whole_word = occurrences && c.has(&["word", "words"]);
        if whole_word {
            args.push("-w".into());
        }
        args.extend(["-e".to_string(), pattern.text.clone()]);
        if recursive {
            args.insert(0, "-r".into());
        }
        // Say how it matched, so the number is read right.
        let case = if args.iter().any(|a| a == "-i") {
            "ignoring case"
        } else {
            "case-sensitive"
        };
        let word = if whole_word { ", whole words" } else { "" };
        let what = format!("Find '{}' ({case}{word}) in", pattern.text);
        let mut specs =
            on_source(src, "grep", args, &what, &["Output holds the matches"])?.unwrap_or_default();
        let counted = if occurrences {
            Some("Count the occurrences")
        } else if files_count {
            Some("Count the files that contain it")
        } else if recursive {
            Some("Count the matching lines")
        } else {
            None
        };
        if let Some(label) = counted {
            specs.push(piped(shell(
                "wc",
                vec!["-l".into()],
                label.into(),
                &["Output is a number"],
            )));
        } else if let Some(last) = specs.last_mut() {
            last.action = format!("Count lines matching '{}' ({case}{word})", pattern.text);
            last.criteria = vec!["Output is a number".into()];
        }
        return Ok(Some(specs));
    }
    let files_noun = c.has(&[
        "files",
        "entries",
        "items",
        "directories",
        "folders",
        "subdirectories",
    ]) || (c.has(&["file"])
        && !c.has(&[
            "lines",
            "line",
            "words",
            "word",
            "characters",
            "chars",
            "bytes",
        ]));
    let flags = count_flags(c);
    // "Count the hidden files" means only those; a listing with hidden
    // files included counts the others too.
    if files_noun
        && c.has(&["hidden", "dotfiles"])
        && !c.has(&["including", "include", "includes", "also", "with", "plus"])
    {
        return Ok(None);
    }
    if files_noun && flags.is_empty() {
        let mut specs = match file_listing(c, ctx, false)? {
            Some(s) => s,
            None => list_specs(c, ctx)?,
        };
        if specs.is_empty() {
            return Ok(None);
        }
        specs.push(piped(shell(
            "wc",
            vec!["-l".into()],
            "Count them".into(),
            &["Output is a number"],
        )));
        return Ok(Some(specs));
    }
    if flags.is_empty() && occurrences {
        // "…and count the occurrences": the previous step's output is whole
        // lines, so their number is not the number of occurrences.
        return Err(
            "counting occurrences needs the text in the same request, as in \
             \"count the occurrences of 'x' in FILE\""
                .into(),
        );
    }
    if flags.is_empty() && ctx.has_prev && c.has(&["matches", "match", "hits", "results"]) {
        return Ok(Some(vec![piped(shell(
            "wc",
            vec!["-l".into()],
            "Count the matching lines (a line with several matches counts once)".into(),
            &["Output is a number"],
        ))]));
    }
    let src = source(c, ctx);
    // "How many CPUs does this machine have": nothing here says what to
    // count or where; the refusal then names the words not understood.
    if flags.is_empty() && matches!(src, Source::Nothing) {
        return Ok(None);
    }
    let flags = if flags.is_empty() {
        vec!["-l".to_string()]
    } else {
        flags
    };
    let unique = c.has(&["unique", "distinct"]);
    if let Source::Files(f) = &src {
        if f.iter().any(|p| dir_like(p)) {
            return Err(format!(
                "'{}' looks like a directory; counting its lines needs a file",
                f.join(", ")
            ));
        }
    }
    if unique && flags.iter().any(|f| f != "-l") {
        // `sort -u` de-duplicates lines: the words or characters of the
        // unique lines are not the unique words or characters.
        return Err(
            "counting unique words or characters is not supported; unique lines are".into(),
        );
    }
    if unique {
        let mut specs = on_source(
            src,
            "sort",
            vec!["-u".into()],
            "Sort and de-duplicate",
            &["Output holds unique lines"],
        )?
        .unwrap_or_default();
        specs.push(piped(shell(
            "wc",
            flags,
            "Count the unique lines".into(),
            &["Output is a number"],
        )));
        return Ok(Some(specs));
    }
    let nouns: Vec<&str> = flags
        .iter()
        .map(|f| match f.as_str() {
            "-w" => "words",
            "-m" => "characters",
            "-c" => "bytes",
            _ => "lines",
        })
        .collect();
    let noun = nouns.first().copied().unwrap_or("lines");
    // One count of one file is answered with the number alone (`wc FILE`
    // prints the name after it), counted as `wc` counts.
    if let Source::Files(f) = &src {
        if let ([file], [_]) = (f.as_slice(), flags.as_slice()) {
            if need_python(ctx).is_ok() {
                let how = match noun {
                    "words" => " (runs of non-whitespace, as wc -w)",
                    "lines" => " (newline-terminated, as wc -l)",
                    "characters" => " (UTF-8 characters)",
                    _ => "",
                };
                return Ok(Some(vec![python(
                    COUNT,
                    vec![noun.to_string(), file.clone()],
                    format!("Count the {noun}{how} of {file}"),
                    &["Output is a number"],
                )]));
            }
        }
    }
    on_source(
        src,
        "wc",
        flags,
        &format!("Count the {} of", nouns.join(" and ")),
        &["Output is a number"],
    )
}
