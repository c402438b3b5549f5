//! The goal shapes the built-in planner understands, one function each.
//!
//! Each returns `Ok(None)` when the clause is not of its shape, `Ok(Some)`
//! with the steps when it is, and `Err` when the shape is recognised but
//! cannot be done with the allowed commands (the goal is then refused).

use std::collections::BTreeSet;

use octollm_types::plan::ToolCall;

use super::clause::{looks_like_path, number, Clause};
use super::vocab::*;

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

fn fetch_spec(url: &str) -> Spec {
    Spec {
        action: format!("Fetch {url}"),
        call: ToolCall::Http {
            method: "GET".to_string(),
            url: url.to_string(),
        },
        criteria: vec!["The request succeeds and returns a body".to_string()],
        piped: false,
        duration: 10,
    }
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

fn is_operator(w: &str) -> bool {
    crate::policy::SHELL_OPERATORS.contains(&w)
}

/// `run ls -la /tmp`, `` `wc -l notes.txt` ``, or a bare command line.
fn literal(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
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

/// "Calculate 17 * 23", "what is (2+3)^2".
fn calc(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    if !matches!(
        c.verb_word(),
        "calculate"
            | "compute"
            | "evaluate"
            | "solve"
            | "what"
            | "what's"
            | "whats"
            | "how"
            | "eval"
    ) {
        return Ok(None);
    }
    let mut first = c.verb + 1;
    while first < c.len()
        && c.is_word(first)
        && matches!(
            c.word(first),
            "is" | "the" | "value" | "of" | "result" | "much"
        )
    {
        first += 1;
    }
    if first >= c.len() || c.quoted().iter().any(|&q| q >= first) {
        return Ok(None);
    }
    let bytes = c.goal.as_bytes();
    let mut s = c.toks[first].start;
    while s > 0 && bytes[s - 1] == b'(' {
        s -= 1;
    }
    let mut e = c.toks[c.len() - 1].end;
    while e < bytes.len() && bytes[e] == b')' {
        e += 1;
    }
    let expr = c
        .goal
        .get(s..e)
        .unwrap_or("")
        .trim()
        .trim_end_matches(['?', '.', '!', '=']);
    let ok_chars = expr
        .chars()
        .all(|ch| ch.is_ascii_digit() || " .+-*/%()^x×÷".contains(ch));
    let has_digit = expr.chars().any(|ch| ch.is_ascii_digit());
    let has_op = expr.chars().any(|ch| "+-*/%^x×÷".contains(ch));
    if !ok_chars || !has_digit || !has_op {
        return Ok(None);
    }
    for i in 0..c.len() {
        c.mark(i);
    }
    let py = expr
        .replace('^', "**")
        .replace(['x', '×'], "*")
        .replace('÷', "/");
    Ok(Some(vec![shell(
        "python3",
        vec!["-c".into(), format!("print({py})")],
        format!("Calculate {expr}"),
        &["Output is a number"],
    )]))
}

/// "Show the date", "what time is it in UTC", "echo the current date".
fn date(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    let verb_ok = matches!(
        c.verb_word(),
        "show"
            | "display"
            | "print"
            | "echo"
            | "say"
            | "get"
            | "tell"
            | "what"
            | "what's"
            | "whats"
            | "give"
            | "output"
            | "report"
            | "check"
            | "return"
            | "current"
            | "date"
            | "time"
            | "today's"
            | "todays"
    );
    let words = [
        "date",
        "time",
        "day",
        "today",
        "today's",
        "todays",
        "year",
        "month",
        "weekday",
        "timestamp",
        "epoch",
        "clock",
    ];
    if !verb_ok
        || !c.has(&words)
        || !c.paths().is_empty()
        || !c.urls().is_empty()
        || !c.quoted().is_empty()
    {
        return Ok(None);
    }
    let mut args = Vec::new();
    if c.has(&["utc", "gmt"]) {
        args.push("-u".to_string());
    }
    let has = |w: &[&str]| c.has(w);
    let dateish = has(&["date", "today", "today's", "todays"]);
    let timeish = has(&["time", "clock", "o'clock"]);
    let format = if has(&["unix", "epoch", "timestamp"]) {
        Some("+%s")
    } else if has(&["iso", "iso-8601", "iso8601"]) {
        Some(if timeish { "-Iseconds" } else { "-I" })
    } else if has(&["weekday"])
        || c.has_phrase(&["day", "of", "the", "week"])
        || (c.has(&["day"]) && !dateish && !timeish)
    {
        Some("+%A")
    } else if has(&["year"]) && !dateish && !timeish {
        Some("+%Y")
    } else if has(&["month"]) && !dateish && !timeish {
        Some("+%B")
    } else if timeish && !dateish {
        Some("+%H:%M:%S")
    } else {
        None
    };
    if let Some(f) = format {
        args.push(f.to_string());
    }
    let what = if timeish && !dateish { "time" } else { "date" };
    let action = format!(
        "Show the current {what}{}",
        if args.contains(&"-u".to_string()) {
            " in UTC"
        } else {
            ""
        }
    );
    Ok(Some(vec![shell(
        "date",
        args,
        action,
        &["Output holds the current date and time"],
    )]))
}

fn count_flags(c: &Clause<'_>) -> Vec<String> {
    let mut flags = Vec::new();
    if c.has(&["lines", "line", "rows"]) {
        flags.push("-l");
    }
    if c.has(&["words", "word"]) {
        flags.push("-w");
    }
    if c.has(&["characters", "character", "chars", "letters"]) {
        flags.push("-m");
    }
    if c.has(&["bytes"]) {
        flags.push("-c");
    }
    flags.into_iter().map(String::from).collect()
}

fn count_vocab_only(c: &Clause<'_>) -> bool {
    c.has(&["count", "tally"]) || c.has_phrase(&["how", "many"]) || c.has_phrase(&["number", "of"])
}

/// "Count the lines in f", "how many files are in /etc", "count them".
fn count(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !count_vocab_only(c) {
        return Ok(None);
    }
    let occurrences = c.has(&[
        "occurrences",
        "occurrence",
        "times",
        "instances",
        "mentions",
    ]);
    if let Some(pattern) = grep_pattern(c) {
        let fixed = !pattern.anchored && has_regex_meta(&pattern.text);
        let src = source(c, ctx);
        let mut args: Vec<String> = if occurrences {
            vec!["-o".into()]
        } else {
            vec!["-c".into()]
        };
        if c.has(&[
            "case-insensitive",
            "case-insensitively",
            "insensitive",
            "ignoring",
            "regardless",
        ]) {
            args.push("-i".into());
        }
        if fixed {
            args.push("-F".into());
        }
        args.extend(["-e".to_string(), pattern.text.clone()]);
        if let Source::Files(f) = &src {
            if f.len() == 1 && dir_like(&f[0]) {
                args.insert(0, "-r".into());
            }
        }
        let what = format!("Find '{}' in", pattern.text);
        let mut specs =
            on_source(src, "grep", args, &what, &["Output holds the matches"])?.unwrap_or_default();
        if occurrences {
            specs.push(piped(shell(
                "wc",
                vec!["-l".into()],
                "Count the occurrences".into(),
                &["Output is a number"],
            )));
        } else if let Some(last) = specs.last_mut() {
            last.action = format!("Count lines matching '{}'", pattern.text);
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
    let flags = if flags.is_empty() {
        vec!["-l".to_string()]
    } else {
        flags
    };
    let unique = c.has(&["unique", "distinct"]);
    let src = source(c, ctx);
    if let Source::Files(f) = &src {
        if f.iter().any(|p| dir_like(p)) {
            return Err(format!(
                "'{}' looks like a directory; counting its lines needs a file",
                f.join(", ")
            ));
        }
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
    let noun = match flags.first().map(String::as_str) {
        Some("-w") => "words",
        Some("-m") => "characters",
        Some("-c") => "bytes",
        _ => "lines",
    };
    on_source(
        src,
        "wc",
        flags,
        &format!("Count the {noun} of"),
        &["Output is a number"],
    )
}

/// "first N"/"last N" lines, if the clause asks for them.
fn head_tail_request(c: &mut Clause<'_>) -> Option<(bool, u32)> {
    for (words, head) in [
        (&["first", "top", "beginning", "head", "start"][..], true),
        (&["last", "bottom", "end", "tail", "final"][..], false),
    ] {
        let mut from = 0;
        while let Some(i) = c.find(words, from) {
            from = i + 1;
            let next = c.word(i + 1).to_string();
            let unit_after = |k: usize| {
                matches!(
                    c.word(k),
                    "days" | "day" | "hours" | "hour" | "minutes" | "minute" | "weeks" | "week"
                )
            };
            if let Some(n) = number(&next) {
                if unit_after(i + 2) {
                    continue;
                }
                c.mark(i);
                c.mark(i + 1);
                return Some((head, n.max(1)));
            }
            let noun = matches!(
                next.as_str(),
                "lines" | "line" | "entries" | "rows" | "items" | "few" | "of" | "part"
            );
            if noun || matches!(c.word(i), "head" | "tail") || c.word(i.saturating_sub(1)) == "the"
            {
                c.mark(i);
                if next == "few" {
                    c.mark(i + 1);
                    return Some((head, 5));
                }
                return Some((head, 10));
            }
        }
    }
    None
}

/// "Show the first 5 lines of /etc/passwd", "tail of app.log", "the last 3".
fn head_tail(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if c.has(&["files", "directories", "folders"]) && !c.has(&["lines", "line"]) {
        return Ok(None);
    }
    let Some((head, n)) = head_tail_request(c) else {
        return Ok(None);
    };
    let src = source(c, ctx);
    let (cmd, what) = if head {
        ("head", "first")
    } else {
        ("tail", "last")
    };
    if let Source::Files(f) = &src {
        if f.iter().any(|p| dir_like(p)) {
            return Err(format!(
                "'{}' looks like a directory, not a file",
                f.join(", ")
            ));
        }
    }
    on_source(
        src,
        cmd,
        vec!["-n".into(), n.to_string()],
        &format!("Show the {what} {n} lines of"),
        &["Output holds the requested lines"],
    )
}

struct Pattern {
    text: String,
    anchored: bool,
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

fn has_regex_meta(s: &str) -> bool {
    s.chars().any(|ch| ".^$*+?()[]{}|\\".contains(ch))
}

/// The text to search for, if the clause names one.
fn grep_pattern(c: &mut Clause<'_>) -> Option<Pattern> {
    const NOUNS: &[&str] = &[
        "the", "a", "an", "word", "string", "text", "pattern", "term", "phrase", "keyword",
        "lines", "line", "of", "for", "with",
    ];
    let value_after = |c: &Clause<'_>, i: usize| -> Option<usize> {
        let mut k = i + 1;
        while k < c.len() && c.is_word(k) && NOUNS.contains(&c.word(k)) {
            k += 1;
        }
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
                    if c.toks[k].kind != super::lexer::Kind::Quoted && !c.is_word(k) {
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
        // "with extension", "with 'x' in the name" and "for files" are not text searches.
        if matches!(
            c.word(i + 1),
            "extension" | "suffix" | "name" | "names" | "size" | "files" | "file"
        ) {
            continue;
        }
        if let Some(k) = value_after(c, i) {
            if c.is_word(k)
                && (COMMON_STOP.contains(&c.word(k))
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

/// "Search for 'error' in app.log", "grep -i todo in src", "lines not containing x".
fn grep(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
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
    );
    if !verb_ok || c.has(&["named", "called", "extension", "name"]) {
        return Ok(None);
    }
    let Some(pattern) = grep_pattern(c) else {
        return Ok(None);
    };
    let mut args: Vec<String> = Vec::new();
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
    if files_mode {
        args.push("-l".into());
    }
    if c.has(&[
        "case-insensitive",
        "case-insensitively",
        "insensitive",
        "insensitively",
        "ignoring",
        "regardless",
    ]) || c.has_phrase(&["ignore", "case"])
    {
        args.push("-i".into());
    }
    if c.has_phrase(&["line", "numbers"]) || c.has(&["numbered"]) {
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
    on_source(
        src,
        "grep",
        args,
        &format!("Search for '{}' in", pattern.text),
        criteria,
    )
}

/// Well-known kinds of value a goal may ask to pull out of text, with the
/// extended regular expression `grep -oE` uses for each.
const EXTRACTABLE: &[(&[&str], &str, &str)] = &[
    (
        &["uuid", "uuids", "guid", "guids"],
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "UUIDs",
    ),
    (
        &["email", "emails", "e-mail", "e-mails"],
        "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
        "email addresses",
    ),
    (
        &["url", "urls", "link", "links"],
        "https?://[^[:space:]\"'<>]+",
        "URLs",
    ),
    (
        &["ip", "ips", "ipv4"],
        "([0-9]{1,3}\\.){3}[0-9]{1,3}",
        "IPv4 addresses",
    ),
    (
        &["numbers", "integers", "digits"],
        "-?[0-9]+([.][0-9]+)?",
        "numbers",
    ),
];

/// "Fetch … and extract the UUID", "extract the email addresses from
/// notes.txt": `grep -oE` with the pattern of a well-known kind of value.
fn extract(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !matches!(c.verb_word(), "extract" | "pull" | "parse") {
        return Ok(None);
    }
    let Some((words, pattern, what)) = EXTRACTABLE.iter().find(|(w, _, _)| c.has(w)) else {
        return Ok(None);
    };
    if let Some(i) = c.find(words, 0) {
        c.mark(i);
    }
    let src = source(c, ctx);
    let args = vec!["-oE".to_string(), (*pattern).to_string()];
    on_source(
        src,
        "grep",
        args,
        &format!("Extract the {what} from"),
        &["Output holds the extracted values"],
    )
}

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
            let unit = match unit_word.as_str() {
                "k" | "kb" | "kib" | "kilobytes" => "k",
                "m" | "mb" | "mib" | "megabytes" => "M",
                "g" | "gb" | "gib" | "gigabytes" => "G",
                "b" | "bytes" | "byte" => "c",
                _ => continue,
            };
            c.mark(i);
            c.mark(i + 1);
            c.mark(k);
            if unit_inline.is_empty() {
                c.mark(k + 1);
            }
            tests.extend(["-size".to_string(), format!("{sign}{num}{unit}")]);
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
    Ok(tests)
}

/// A `find` over a directory when the clause filters files; `None` otherwise.
fn file_listing(c: &mut Clause<'_>, ctx: &Ctx<'_>, recursive_default: bool) -> Outcome {
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
    let dir = match paths.as_slice() {
        [] => {
            if !c.urls().is_empty() {
                return Err("file searches work on directories, not URLs".into());
            }
            if current_dir(c) {
                ".".to_string()
            } else {
                bare_dir(c).unwrap_or_else(|| ".".to_string())
            }
        }
        [one] => {
            c.mark(*one);
            c.text(*one).to_string()
        }
        _ => return Ok(None),
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
fn find_files(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
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

/// "find all files in /tmp": every file, recursively.
fn list_specs_find(c: &mut Clause<'_>) -> Outcome {
    let paths = c.paths();
    let dir = match paths.as_slice() {
        [] => {
            if current_dir(c) {
                ".".to_string()
            } else {
                bare_dir(c).unwrap_or_else(|| ".".to_string())
            }
        }
        [one] => {
            c.mark(*one);
            c.text(*one).to_string()
        }
        _ => return Ok(None),
    };
    Ok(Some(vec![shell(
        "find",
        vec![dir.clone(), "-type".into(), "f".into()],
        format!("Find all files under {dir}"),
        &["Output lists the files"],
    )]))
}

fn limit(head: bool, n: u32) -> Spec {
    let (cmd, what) = if head {
        ("head", "first")
    } else {
        ("tail", "last")
    };
    piped(shell(
        cmd,
        vec!["-n".into(), n.to_string()],
        format!("Keep the {what} {n}"),
        &["Output holds the requested lines"],
    ))
}

/// The `ls` steps of a listing clause (no verb check).
fn list_specs(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Result<Vec<Spec>, String> {
    if !c.urls().is_empty() {
        return Err("a URL cannot be listed like a directory".into());
    }
    let paths = c.paths();
    if paths.iter().any(|&i| file_like(c.text(i))) && c.has(&["contents", "content"]) {
        return Ok(Vec::new());
    }
    let mut bare = None;
    if paths.is_empty() && !current_dir(c) {
        bare = bare_dir(c);
    }
    for &i in &paths {
        c.mark(i);
    }
    let dirs: Vec<String> = if let Some(b) = bare {
        vec![b]
    } else if paths.is_empty() {
        vec![".".to_string()]
    } else {
        paths.iter().map(|&i| c.text(i).to_string()).collect()
    };
    let _ = ctx;
    let mut flags = String::from("-");
    let long = c.has(&[
        "long",
        "detail",
        "details",
        "detailed",
        "permissions",
        "sizes",
        "owners",
        "owner",
    ]) || c.has_phrase(&["with", "size"]);
    flags.push(if long { 'l' } else { '1' });
    if c.has(&["hidden", "dotfiles"]) || c.has_phrase(&["dot", "files"]) {
        flags.push('A');
    }
    if long && c.has(&["human", "readable", "human-readable"]) {
        flags.push('h');
    }
    if c.has(&[
        "recursive",
        "recursively",
        "subdirectories",
        "subfolders",
        "tree",
    ]) {
        flags.push('R');
    }
    if c.has(&["largest", "biggest"]) || c.has_phrase(&["by", "size"]) {
        flags.push('S');
    } else if c.has(&[
        "newest",
        "recent",
        "latest",
        "modification",
        "modified",
        "oldest",
    ]) || c.has_phrase(&["by", "time"])
        || c.has_phrase(&["by", "date"])
    {
        flags.push('t');
    }
    if c.has(&["reverse", "oldest", "smallest"]) {
        flags.push('r');
    }
    let mut args = vec![flags];
    args.extend(dirs.iter().cloned());
    Ok(vec![shell(
        "ls",
        args,
        format!("List files in {}", dirs.join(", ")),
        &["Output shows the file list"],
    )])
}

/// "List files in /tmp", "show the contents of the current directory".
fn list(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let verb = c.verb_word();
    let strong = matches!(verb, "list" | "ls" | "enumerate");
    let weak = matches!(
        verb,
        "show"
            | "display"
            | "print"
            | "get"
            | "give"
            | "what"
            | "what's"
            | "whats"
            | "view"
            | "see"
    );
    if !strong && !weak {
        return Ok(None);
    }
    let nouns = c.has(&[
        "files",
        "file",
        "contents",
        "content",
        "entries",
        "items",
        "everything",
        "directory",
        "folder",
        "directories",
        "folders",
        "dir",
    ]) || c.has_phrase(&["what's", "in"]);
    let dir_path = c.paths().iter().any(|&i| dir_like(c.text(i)));
    if !(nouns || dir_path || (strong && !c.paths().is_empty())) {
        return Ok(None);
    }
    if c.paths().iter().any(|&i| file_like(c.text(i)))
        && !c.has(&["files", "entries", "directory", "folder"])
    {
        return Ok(None);
    }
    if !c.quoted().is_empty() {
        return Ok(None);
    }
    let mut specs = list_specs(c, ctx)?;
    if specs.is_empty() {
        return Ok(None);
    }
    if let Some((head, n)) = head_tail_request(c) {
        specs.push(limit(head, n));
    }
    Ok(Some(specs))
}

/// "Sort names.txt", "sort them numerically", "remove duplicate lines from f".
fn sort(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    let verb = c.verb_word();
    let sorting = matches!(verb, "sort" | "order" | "alphabetize" | "arrange" | "rank");
    let dedupe = matches!(verb, "deduplicate" | "dedupe" | "uniq" | "unique")
        || (matches!(verb, "remove" | "delete" | "drop") && c.has(&["duplicates", "duplicate"]));
    if !sorting && !dedupe {
        return Ok(None);
    }
    if c.has_phrase(&["by", "size"])
        || c.has_phrase(&["by", "date"])
        || c.has_phrase(&["by", "time"])
        || c.has(&["modification"])
    {
        return Err("sorting by size or date needs file metadata; ask to 'list files sorted by size' instead".into());
    }
    let mut args = Vec::new();
    if c.has(&["reverse", "descending"]) || c.has_phrase(&["z", "to", "a"]) {
        args.push("-r".to_string());
    }
    if c.has(&["numerically", "numeric", "numerical", "numbers"]) {
        args.push("-n".to_string());
    }
    if dedupe
        || c.has(&[
            "unique",
            "duplicates",
            "duplicate",
            "deduplicate",
            "distinct",
        ])
    {
        args.push("-u".to_string());
    }
    let what = if args.iter().any(|a| a == "-u") {
        "Sort and de-duplicate"
    } else {
        "Sort"
    };
    let src = source(c, ctx);
    on_source(src, "sort", args, what, &["Output holds the sorted lines"])
}

/// "Fetch https://example.com".
fn fetch(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
    let urls = c.urls();
    let Some(&i) = urls.first() else {
        return Ok(None);
    };
    if urls.len() > 1 {
        return Ok(None);
    }
    c.mark(i);
    Ok(Some(vec![fetch_spec(c.text(i))]))
}

/// "Read /etc/hostname", "show the contents of notes.txt", "show them".
fn read(c: &mut Clause<'_>, ctx: &Ctx<'_>) -> Outcome {
    if !matches!(
        c.verb_word(),
        "read"
            | "cat"
            | "open"
            | "view"
            | "show"
            | "display"
            | "print"
            | "output"
            | "dump"
            | "get"
            | "see"
            | "type"
            | "give"
            | "concatenate"
            | "return"
    ) {
        return Ok(None);
    }
    let mut src = source(c, ctx);
    if src == Source::Nothing {
        let q = c.quoted();
        if let [only] = q.as_slice() {
            if looks_like_path(c.text(*only)) || c.has(&["file"]) {
                c.mark(*only);
                src = Source::Files(vec![c.text(*only).to_string()]);
            }
        }
    }
    match src {
        // The previous output is what the user sees anyway.
        Source::Prev => Ok(Some(Vec::new())),
        Source::Files(f) if f.iter().any(|p| dir_like(p)) => Ok(None),
        Source::Nothing => Ok(None),
        other => on_source(
            other,
            "cat",
            Vec::new(),
            "Read",
            &["Output holds the file contents"],
        ),
    }
}

/// "Echo 'Hello, World!'", "say hello", "print task 5".
fn echo(c: &mut Clause<'_>, _ctx: &Ctx<'_>) -> Outcome {
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
    let mut first = c.verb + 1;
    // "say the words …", "print out …"
    while first < c.len()
        && c.is_word(first)
        && matches!(
            c.word(first),
            "the"
                | "text"
                | "message"
                | "words"
                | "word"
                | "phrase"
                | "string"
                | "line"
                | "out"
                | "back"
                | "following"
        )
        && first + 1 < c.len()
    {
        first += 1;
    }
    if first >= c.len() {
        return Err("the goal does not say what to echo".into());
    }
    let quoted = c.quoted();
    let loose = matches!(c.verb_word(), "echo" | "say" | "print" | "repeat");
    if !loose && quoted.is_empty() {
        return Ok(None);
    }
    let text = if !quoted.is_empty()
        && (first..c.len()).all(|i| {
            !c.is_word(i)
                || matches!(
                    c.word(i),
                    "to" | "the" | "screen" | "console" | "terminal" | "stdout" | "and"
                )
        }) {
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
        if c.toks[first].kind == super::lexer::Kind::Quoted {
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
        raw.to_string()
    };
    if c.verb_word() == "write" && c.has(&["to", "into"]) && !c.paths().is_empty() {
        return Err("writing files is not possible with the executor's allowed commands".into());
    }
    for i in 0..c.len() {
        c.mark(i);
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
