//! File searches: "find all .log files in /var/log", "locate files named
//! config.yaml", "python files larger than 1 MB modified in the last 7 days".
//!
//! These become `find` with name, size, age and type tests. The filtered
//! listing is also used by listings and counts ("list the .txt files here",
//! "how many .rs files are in src"), so it is kept apart from the `ls` shape.

use crate::builtin::clause::{number, Clause};

use super::head_tail::{head_tail_request, limit};
use super::{bare_dir, current_dir, file_like, shell, Ctx, Outcome};

/// `(extension glob or name, case-insensitive)` of a file search, if any.
fn name_filter(c: &mut Clause<'_>) -> Option<(String, bool)> {
    const LANGS: &[(&str, &str)] = &[
        ("python", "py"),
        ("rust", "rs"),
        ("text", "txt"),
        ("markdown", "md"),
        ("javascript", "js"),
        ("typescript", "ts"),
        ("shell", "sh"),
        ("bash", "sh"),
        ("yaml", "yaml"),
        ("json", "json"),
        ("csv", "csv"),
        ("html", "html"),
        ("css", "css"),
        ("log", "log"),
        ("go", "go"),
        ("java", "java"),
        ("c", "c"),
        ("toml", "toml"),
        ("xml", "xml"),
        ("pdf", "pdf"),
        ("png", "png"),
        ("jpg", "jpg"),
        ("jpeg", "jpeg"),
        ("gif", "gif"),
        ("sql", "sql"),
        ("ruby", "rb"),
        ("php", "php"),
        ("txt", "txt"),
        ("md", "md"),
        ("py", "py"),
        ("rs", "rs"),
        ("js", "js"),
        ("ts", "ts"),
        ("sh", "sh"),
        ("yml", "yml"),
        ("conf", "conf"),
        ("ini", "ini"),
        ("cfg", "cfg"),
        ("tmp", "tmp"),
        ("bak", "bak"),
    ];
    let ci = c.has(&["case-insensitive", "insensitive", "ignoring"]);
    // ".txt", "*.txt", "*.tar.gz"
    for i in 0..c.len() {
        if c.is_used(i) {
            continue;
        }
        let t = c.text(i).to_string();
        let glob = t.contains('*') || t.contains('?') && t.len() > 1;
        let ext = t.starts_with('.')
            && t.len() > 1
            && t[1..]
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '.');
        if glob || (ext && c.is_word(i)) {
            c.mark(i);
            let pat = if ext { format!("*{t}") } else { t.to_string() };
            return Some((pat, ci));
        }
    }
    // "named X", "called X"
    if let Some(i) = c.find(&["named", "called"], 0) {
        if i + 1 < c.len() {
            c.mark(i);
            c.mark(i + 1);
            return Some((c.text(i + 1).to_string(), ci));
        }
    }
    // "with 'x' in the name", "whose name contains x", "name containing x"
    if let Some(i) = c.find(&["name", "names"], 0) {
        let q = c.quoted();
        let around = q.first().copied().or_else(|| {
            (i + 1..c.len()).find(|&k| {
                c.is_word(k)
                    && !matches!(
                        c.word(k),
                        "contains"
                            | "containing"
                            | "contain"
                            | "includes"
                            | "including"
                            | "has"
                            | "with"
                            | "the"
                            | "their"
                            | "its"
                            | "in"
                    )
            })
        });
        if let Some(k) = around {
            c.mark(i);
            c.mark(k);
            return Some((format!("*{}*", c.text(k)), ci));
        }
    }
    // "with extension md", "ending in .log" (handled above), "python files"
    if let Some(i) = c.find(&["extension", "suffix"], 0) {
        let k = (i + 1..c.len()).find(|&k| !matches!(c.word(k), "of" | "is" | "the"))?;
        let e = c.text(k).trim_start_matches('.').to_string();
        c.mark(i);
        c.mark(k);
        return Some((format!("*.{e}"), ci));
    }
    if let Some(i) = c.find(&["files", "file", "documents", "scripts", "sources"], 0) {
        if i > 0 && !c.is_used(i - 1) {
            let w = c.word(i - 1).to_string();
            if let Some((_, e)) = LANGS.iter().find(|(l, _)| *l == w) {
                c.mark(i - 1);
                return Some((format!("*.{e}"), ci));
            }
        }
    }
    None
}

/// find(1) tests beyond the name: size, age, emptiness.
fn find_tests(c: &mut Clause<'_>) -> Result<Vec<String>, String> {
    let mut tests = Vec::new();
    let sign_words: [(&[&str], &str); 2] = [
        (
            &[
                "larger",
                "bigger",
                "greater",
                "over",
                "above",
                "more",
                "exceeding",
            ],
            "+",
        ),
        (&["smaller", "less", "below", "under", "tinier"], "-"),
    ];
    for (words, sign) in sign_words {
        if let Some(i) = c.find(words, 0) {
            let mut k = i + 1;
            if c.word(k) == "than" {
                k += 1;
            }
            let raw = c.word(k).to_string();
            let (num, unit_inline): (String, String) =
                raw.chars().partition(|ch| ch.is_ascii_digit());
            if num.is_empty() {
                continue;
            }
            let unit_word = if unit_inline.is_empty() {
                c.word(k + 1).to_string()
            } else {
                unit_inline.clone()
            };
            // In bytes: find rounds a size up to whole units before it
            // compares, so `-size -1k` is only the empty files.
            let unit: u64 = match unit_word.as_str() {
                "k" | "kb" | "kib" | "kilobytes" => 1 << 10,
                "m" | "mb" | "mib" | "megabytes" => 1 << 20,
                "g" | "gb" | "gib" | "gigabytes" => 1 << 30,
                "b" | "bytes" | "byte" => 1,
                _ => continue,
            };
            let Some(bytes) = num.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) else {
                continue;
            };
            c.mark(i);
            c.mark(i + 1);
            c.mark(k);
            if unit_inline.is_empty() {
                c.mark(k + 1);
            }
            tests.extend(["-size".to_string(), format!("{sign}{bytes}c")]);
        }
    }
    // "modified in the last 7 days", "older than 30 days"
    for i in 0..c.len() {
        let Some(n) = number(c.word(i)) else { continue };
        let per_day = match c.word(i + 1) {
            "days" | "day" => Some(1),
            "weeks" | "week" => Some(7),
            _ => None,
        };
        let minutes = match c.word(i + 1) {
            "minutes" | "minute" => Some(1),
            "hours" | "hour" => Some(60),
            _ => None,
        };
        if per_day.is_none() && minutes.is_none() {
            continue;
        }
        let older = (0..i).any(|k| matches!(c.word(k), "older" | "before"))
            || c.word(i + 2) == "ago" && (0..i).any(|k| c.word(k) == "before");
        let sign = if older { "+" } else { "-" };
        c.mark(i);
        c.mark(i + 1);
        if let Some(d) = per_day {
            tests.extend(["-mtime".to_string(), format!("{sign}{}", n * d)]);
        } else if let Some(m) = minutes {
            tests.extend(["-mmin".to_string(), format!("{sign}{}", n * m)]);
        }
    }
    if c.has(&["empty"]) {
        tests.push("-empty".into());
    }
    // A time condition that was not read as a number of days, weeks,
    // hours or minutes ("modified in the last day", "changed recently")
    // must not be dropped: the search would list every file.
    if !tests.iter().any(|t| t == "-mtime" || t == "-mmin")
        && c.has(&[
            "modified", "changed", "edited", "updated", "touched", "recently",
        ])
    {
        return Err(
            "the goal names a time the search cannot read: say it as a number of days, \
                    weeks, hours or minutes (\"modified in the last 2 days\")"
                .into(),
        );
    }
    Ok(tests)
}

/// A `find` over a directory when the clause filters files; `None` otherwise.
pub(super) fn file_listing(c: &mut Clause<'_>, ctx: &Ctx<'_>, recursive_default: bool) -> Outcome {
    let dirs_only = c.has(&["directories", "folders", "subdirectories", "subfolders"])
        && !c.has(&["files", "file"]);
    let filter = name_filter(c);
    let tests = find_tests(c)?;
    if filter.is_none() && tests.is_empty() && !dirs_only {
        return Ok(None);
    }
    let recursive = recursive_default
        || c.has(&[
            "recursively",
            "recursive",
            "anywhere",
            "tree",
            "nested",
            "beneath",
            "subdirectories",
            "subfolders",
        ]) && !dirs_only;
    let mut paths = c.paths();
    // "find notes.txt in /home": a bare file name is what to look for.
    let mut filter = filter;
    if filter.is_none() && !paths.is_empty() {
        if let Some(pos) = paths
            .iter()
            .position(|&i| !c.text(i).contains('/') && file_like(c.text(i)))
        {
            if paths.len() > 1 || recursive_default {
                let i = paths.remove(pos);
                c.mark(i);
                filter = Some((c.text(i).to_string(), false));
            }
        }
    }
    if paths.is_empty() && !c.urls().is_empty() {
        return Err("file searches work on directories, not URLs".into());
    }
    let Some(dir) = search_dir(c, &paths) else {
        return Ok(None);
    };
    let _ = ctx;
    let mut args = vec![dir.clone()];
    if !recursive {
        args.extend(["-maxdepth".to_string(), "1".to_string()]);
    }
    if dirs_only {
        args.extend([
            "-mindepth".to_string(),
            "1".to_string(),
            "-type".to_string(),
            "d".to_string(),
        ]);
    } else {
        args.extend(["-type".to_string(), "f".to_string()]);
    }
    let mut what = if dirs_only {
        "directories".to_string()
    } else {
        "files".to_string()
    };
    if let Some((pat, ci)) = &filter {
        args.extend([
            if *ci { "-iname" } else { "-name" }.to_string(),
            pat.clone(),
        ]);
        what = format!("{what} named {pat}");
    }
    args.extend(tests);
    let depth = if recursive { "under" } else { "in" };
    Ok(Some(vec![shell(
        "find",
        args,
        format!("Find {what} {depth} {dir}"),
        &["Output lists the matching paths"],
    )]))
}

/// "Find all .log files in /var/log", "locate files named config.yaml".
pub(super) fn find_files(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let verb = c.verb_word().to_string();
    let finding = matches!(verb.as_str(), "find" | "locate" | "search" | "look");
    let listing = matches!(
        verb.as_str(),
        "list" | "show" | "display" | "print" | "get" | "give" | "enumerate" | "ls"
    );
    if !finding && !listing {
        return Ok(None);
    }
    let Some(mut specs) = file_listing(c, ctx, finding)? else {
        if finding && c.has(&["files", "file", "directories", "folders", "everything"]) {
            let Some(specs) = list_specs_find(c)? else {
                return Ok(None);
            };
            return Ok(Some(specs));
        }
        return Ok(None);
    };
    if let Some((head, n)) = head_tail_request(c) {
        specs.push(limit(head, n));
    }
    Ok(Some(specs))
}

/// The one directory a search runs in: the path given, else the current or
/// a bare-named directory, else `.`; `None` when several paths are given.
fn search_dir(c: &mut Clause<'_>, paths: &[usize]) -> Option<String> {
    match paths {
        [] if current_dir(c) => Some(".".to_string()),
        [] => Some(bare_dir(c).unwrap_or_else(|| ".".to_string())),
        [one] => {
            c.mark(*one);
            Some(c.text(*one).to_string())
        }
        _ => None,
    }
}

/// "find all files in /tmp": every file, recursively.
fn list_specs_find(c: &mut Clause<'_>) -> Outcome {
    let paths = c.paths();
    let Some(dir) = search_dir(c, &paths) else {
        return Ok(None);
    };
    Ok(Some(vec![shell(
        "find",
        vec![dir.clone(), "-type".into(), "f".into()],
        format!("Find all files under {dir}"),
        &["Output lists the files"],
    )]))
}
