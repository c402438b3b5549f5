//! The goal shapes the built-in planner understands, one function each,
//! grouped into one module per family of goals.
//!
//! Each returns `Ok(None)` when the clause is not of its shape, `Ok(Some)`
//! with the steps when it is, and `Err` when the shape is recognised but
//! cannot be done with the allowed commands (the goal is then refused).
//!
//! This module holds what every family shares: the step and context types,
//! the `INTENTS` table that fixes the order shapes are tried in, and the
//! helpers that build steps and work out where a command's input comes from.

mod calc;
mod calendar;
mod compute;
mod count;
mod date;
mod extract;
mod fetch;
mod files;
mod find;
mod grep;
mod head_tail;
mod lines;
mod list;
mod literal;
mod numbers;
mod read;
mod sort;
mod text;
mod units;
mod version;
mod words;

use std::collections::BTreeSet;

use octollm_types::plan::ToolCall;

use super::clause::{number, Clause};
use super::vocab::*;

use calc::calc;
use calendar::{calendar, CALENDAR_VOCAB};
use compute::compute;
use count::count;
use date::date;
use extract::extract;
use fetch::{fetch, fetch_spec};
use files::{files, FILES_VOCAB};
use find::find_files;
use grep::grep;
use head_tail::head_tail;
use lines::{lines, LINES_VOCAB};
use list::list;
use literal::{echo, literal};
use numbers::{numbers_goal, NUMBERS_VOCAB};
use read::read;
use sort::sort;
use text::{mentions, transform, MENTIONS_VOCAB, TEXT_VOCAB};
use units::{convert, UNITS_VOCAB};
use version::{version, VERSION_VOCAB};
use words::{words, WORDS_VOCAB};

/// A step before numbering. `piped` steps read the previous step's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub action: String,
    pub call: ToolCall,
    pub criteria: Vec<String>,
    pub piped: bool,
    pub duration: u32,
}

pub struct Ctx<'a> {
    /// An earlier clause produced output this one may consume.
    pub has_prev: bool,
    pub allowed: &'a BTreeSet<String>,
}

pub type Outcome = Result<Option<Vec<Spec>>, String>;

/// An intent and the extra words it understands beyond the common ones.
pub type Intent = (
    fn(&mut Clause<'_>, &Ctx<'_>) -> Outcome,
    &'static [&'static str],
);

pub const INTENTS: &[Intent] = &[
    (literal, &[]),
    (
        calc,
        &[
            "calculate",
            "compute",
            "evaluate",
            "solve",
            "much",
            "value",
            "eval",
        ],
    ),
    (numbers_goal, NUMBERS_VOCAB),
    (convert, UNITS_VOCAB),
    (transform, TEXT_VOCAB),
    (mentions, MENTIONS_VOCAB),
    (version, VERSION_VOCAB),
    (lines, LINES_VOCAB),
    (files, FILES_VOCAB),
    (words, WORDS_VOCAB),
    (calendar, CALENDAR_VOCAB),
    (
        compute,
        &[
            "line",
            "lines",
            "reverse",
            "reversed",
            "backwards",
            "backward",
            "order",
            "numbers",
            "integers",
            "sequence",
            "digits",
            "from",
            "between",
            "to",
            "through",
            "until",
            "till",
            "down",
            "one",
            "per",
            "each",
            "own",
            "its",
            "largest",
            "biggest",
            "smallest",
            "tiniest",
            "newest",
            "latest",
            "oldest",
            "most",
            "recent",
            "file",
            "which",
            "number",
            "first",
            "top",
            "last",
            "bottom",
            "final",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "count",
            "find",
            "name",
        ],
    ),
    (count, COUNT_VOCAB),
    (head_tail, HEAD_TAIL_VOCAB),
    (extract, EXTRACT_VOCAB),
    (grep, GREP_VOCAB),
    (find_files, FIND_VOCAB),
    (list, LIST_VOCAB),
    (sort, SORT_VOCAB),
    (date, DATE_VOCAB),
    (fetch, FETCH_VOCAB),
    (read, READ_VOCAB),
    (echo, &[]),
];

/// The clause asks how many of something there are ("count", "how
/// many", "the number of"): every family that counts, or must leave
/// counting to another, reads it here.
fn asks_count(c: &Clause<'_>) -> bool {
    c.has(&["count"]) || c.has_phrase(&["how", "many"]) || c.has_phrase(&["number", "of"])
}

fn shell(command: &str, args: Vec<String>, action: String, criteria: &[&str]) -> Spec {
    Spec {
        action,
        call: ToolCall::Shell {
            command: command.to_string(),
            args,
            stdin: None,
        },
        criteria: criteria.iter().map(|s| s.to_string()).collect(),
        piped: false,
        duration: 5,
    }
}

fn piped(mut s: Spec) -> Spec {
    s.piped = true;
    s
}

/// Where a command's input comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Files(Vec<String>),
    Url(String),
    Prev,
    Nothing,
}

fn source(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Source {
    if let Some(&i) = c.urls().first() {
        c.mark(i);
        return Source::Url(c.text(i).to_string());
    }
    let paths = c.paths();
    if !paths.is_empty() {
        for &i in &paths {
            c.mark(i);
        }
        return Source::Files(paths.iter().map(|&i| c.text(i).to_string()).collect());
    }
    if current_dir(c) {
        return Source::Files(vec![".".to_string()]);
    }
    if let Some(d) = bare_dir(c) {
        return Source::Files(vec![d]);
    }
    if ctx.has_prev {
        Source::Prev
    } else {
        Source::Nothing
    }
}

fn current_dir(c: &mut Clause<'_>) -> bool {
    for seq in [
        &["current", "directory"][..],
        &["current", "folder"],
        &["working", "directory"],
        &["this", "directory"],
        &["this", "folder"],
        &["current", "dir"],
    ] {
        if c.mark_phrase(seq) {
            return true;
        }
    }
    if let Some(i) = c.find(&["here", "cwd", "pwd"], 0) {
        c.mark(i);
        return true;
    }
    false
}

/// `cmd args… target` for each kind of source; `what` names the operation.
fn on_source(src: Source, cmd: &str, args: Vec<String>, what: &str, criteria: &[&str]) -> Outcome {
    Ok(Some(match src {
        Source::Files(files) => {
            let action = format!("{what} {}", files.join(", "));
            let mut a = args;
            a.extend(files);
            vec![shell(cmd, a, action, criteria)]
        }
        Source::Url(url) => vec![
            fetch_spec(&url),
            piped(shell(
                cmd,
                args,
                format!("{what} the fetched page"),
                criteria,
            )),
        ],
        Source::Prev => vec![piped(shell(
            cmd,
            args,
            format!("{what} the previous step's output"),
            criteria,
        ))],
        Source::Nothing => {
            return Err(format!(
                "the goal does not say what to {}",
                what.to_lowercase()
            ))
        }
    }))
}

/// Paths that are directories by convention or by their trailing slash.
fn dir_like(p: &str) -> bool {
    const DIRS: &[&str] = &[
        "/",
        ".",
        "..",
        "~",
        "/tmp",
        "/etc",
        "/var",
        "/var/log",
        "/var/tmp",
        "/home",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/share",
        "/bin",
        "/sbin",
        "/opt",
        "/srv",
        "/root",
        "/proc",
        "/dev",
        "/sys",
        "/lib",
        "/mnt",
        "/media",
        "/run",
        "/boot",
    ];
    let t = p.trim_end_matches('/');
    let t = if t.is_empty() { "/" } else { t };
    DIRS.contains(&t) || p.ends_with('/')
}

fn file_like(p: &str) -> bool {
    const FILES: &[&str] = &[
        "passwd",
        "hosts",
        "hostname",
        "group",
        "fstab",
        "shadow",
        "issue",
        "motd",
        "timezone",
        "machine-id",
        "syslog",
        "messages",
        "cpuinfo",
        "meminfo",
        "version",
        "uptime",
        "loadavg",
        "Makefile",
        "Dockerfile",
        "README",
        "LICENSE",
        "Procfile",
        "Gemfile",
        "Rakefile",
        "Jenkinsfile",
        "CHANGELOG",
        "NOTICE",
        "AUTHORS",
    ];
    let last = p.trim_end_matches('/').rsplit('/').next().unwrap_or(p);
    !p.ends_with('/')
        && ((last.contains('.') && last != "." && last != "..") || FILES.contains(&last))
}

/// Every word some shape understands; built once.
fn known_words() -> &'static BTreeSet<&'static str> {
    static KNOWN: std::sync::OnceLock<BTreeSet<&'static str>> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        INTENTS
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(super::clause::COMMON.iter().copied())
            .collect()
    })
}

/// A bare directory name after a preposition ("find python files in src").
fn bare_dir(c: &mut Clause<'_>) -> Option<String> {
    let known = known_words();
    let i = (1..c.len()).find(|&i| {
        c.is_word(i)
            && !c.is_used(i)
            && matches!(
                c.word(i - 1),
                "in" | "under" | "inside" | "within" | "beneath"
            )
            && !known.contains(c.word(i))
            && number(c.word(i)).is_none()
            && c.text(i)
                .chars()
                .all(|ch| ch.is_alphanumeric() || "-_.".contains(ch))
    })?;
    c.mark(i);
    Some(c.text(i).to_string())
}
