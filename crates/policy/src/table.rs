//! The command table, as data.
//!
//! Each allowlistable command has one row: the capability every use of it
//! needs, how its arguments are read ([`Syntax`]), and the options whose use
//! is refused or needs a further capability. For commands read the
//! `getopt_long` way, the row also lists every option that takes a value,
//! because that decides where a cluster like `-t-o` ends and whether the word
//! after `--key` is an option at all. An option missing from a row can only
//! make the reader *more* suspicious (the next word is then read as an
//! option), never less, so an incomplete row fails towards refusal.

use octollm_types::token::caps;

/// Whether an option takes a value, as `getopt_long` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A flag.
    None,
    /// `-kVALUE`, `-k VALUE`, `--key=VALUE`, `--key VALUE`.
    Required,
    /// Only attached: `-IVALUE`, `--iso-8601=VALUE`; never the next word.
    Optional,
}

/// What using an option means for the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Ordinary use.
    Allow,
    /// Refused outright; the text says why ("runs other programs").
    Deny(&'static str),
    /// Allowed with one more capability; the text says why ("writes files").
    Requires(&'static str, &'static str),
}

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub short: Option<char>,
    pub long: Option<&'static str>,
    pub value: Value,
    pub effect: Effect,
}

/// How a command reads its argument vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// GNU `getopt_long`: clusters, long abbreviations, permutation, `--`.
    Getopt,
    /// `find`: single-dash primaries matched whole; no clusters, no abbreviations.
    Primaries,
    /// Arguments are data to the program (`echo`, `python3`): no option rules.
    Opaque,
}

/// A rule on the operands (non-option words) of a command.
#[derive(Debug, Clone, Copy)]
pub struct OperandRule {
    /// Applies when the command has more than this many operands.
    pub more_than: usize,
    pub effect: Effect,
}

/// One command's row.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    /// Capability every use of the command needs.
    pub capability: &'static str,
    pub syntax: Syntax,
    pub options: &'static [Opt],
    pub operands: Option<OperandRule>,
}

const fn opt(short: Option<char>, long: Option<&'static str>, value: Value, effect: Effect) -> Opt {
    Opt {
        short,
        long,
        value,
        effect,
    }
}

const RUNS: Effect = Effect::Deny("runs other programs");
const WRITES: Effect = Effect::Requires(caps::SHELL_WRITE, "writes files");
const A: Effect = Effect::Allow;
use Value::{None as N, Optional as O, Required as R};

/// `find`'s refused primaries.
const FIND: &[Opt] = &[
    opt(None, Some("exec"), N, RUNS),
    opt(None, Some("execdir"), N, RUNS),
    opt(None, Some("ok"), N, RUNS),
    opt(None, Some("okdir"), N, RUNS),
    opt(None, Some("delete"), N, Effect::Deny("deletes files")),
    opt(None, Some("fprint"), N, Effect::Deny("writes files")),
    opt(None, Some("fprint0"), N, Effect::Deny("writes files")),
    opt(None, Some("fprintf"), N, Effect::Deny("writes files")),
    opt(None, Some("fls"), N, Effect::Deny("writes files")),
];

/// GNU sort (coreutils 9): every option that takes a value, plus the gated ones.
const SORT: &[Opt] = &[
    opt(Some('o'), Some("output"), R, WRITES),
    opt(None, Some("compress-program"), R, RUNS),
    opt(Some('k'), Some("key"), R, A),
    opt(Some('t'), Some("field-separator"), R, A),
    opt(Some('S'), Some("buffer-size"), R, A),
    opt(Some('T'), Some("temporary-directory"), R, A),
    opt(None, Some("batch-size"), R, A),
    opt(None, Some("files0-from"), R, A),
    opt(None, Some("parallel"), R, A),
    opt(None, Some("random-source"), R, A),
    opt(None, Some("sort"), R, A),
    opt(Some('c'), Some("check"), O, A),
    opt(Some('C'), None, N, A),
    opt(Some('u'), Some("unique"), N, A),
    opt(Some('r'), Some("reverse"), N, A),
    opt(Some('n'), Some("numeric-sort"), N, A),
    opt(Some('s'), Some("stable"), N, A),
    opt(Some('m'), Some("merge"), N, A),
    opt(Some('z'), Some("zero-terminated"), N, A),
    opt(None, Some("debug"), N, A),
];

/// GNU tail: following never finishes, so it is refused.
const TAIL: &[Opt] = &[
    opt(Some('f'), Some("follow"), O, Effect::Deny("never finishes")),
    opt(Some('F'), None, N, Effect::Deny("never finishes")),
    opt(None, Some("retry"), N, A),
    opt(None, Some("pid"), R, A),
    opt(Some('c'), Some("bytes"), R, A),
    opt(Some('n'), Some("lines"), R, A),
    opt(Some('s'), Some("sleep-interval"), R, A),
    opt(None, Some("max-unchanged-stats"), R, A),
    opt(Some('q'), Some("quiet"), N, A),
    opt(None, Some("silent"), N, A),
    opt(Some('v'), Some("verbose"), N, A),
    opt(Some('z'), Some("zero-terminated"), N, A),
];

/// GNU date: setting the clock is refused.
const DATE: &[Opt] = &[
    opt(
        Some('s'),
        Some("set"),
        R,
        Effect::Deny("sets the system clock"),
    ),
    opt(Some('d'), Some("date"), R, A),
    opt(Some('f'), Some("file"), R, A),
    opt(Some('r'), Some("reference"), R, A),
    opt(Some('I'), Some("iso-8601"), O, A),
    opt(None, Some("rfc-3339"), R, A),
    opt(None, Some("resolution"), N, A),
    opt(Some('R'), Some("rfc-email"), N, A),
    opt(Some('u'), Some("utc"), N, A),
    opt(None, Some("universal"), N, A),
    opt(None, Some("debug"), N, A),
];

/// GNU uniq: a second operand is an output file.
const UNIQ: &[Opt] = &[
    opt(Some('f'), Some("skip-fields"), R, A),
    opt(Some('s'), Some("skip-chars"), R, A),
    opt(Some('w'), Some("check-chars"), R, A),
    opt(Some('D'), Some("all-repeated"), O, A),
    opt(None, Some("group"), O, A),
];

/// GNU head, wc, grep, ls, cat: reading only; the value-taking options are
/// listed so their values are never read as options.
const HEAD: &[Opt] = &[
    opt(Some('c'), Some("bytes"), R, A),
    opt(Some('n'), Some("lines"), R, A),
];
const WC: &[Opt] = &[opt(None, Some("files0-from"), R, A)];
const GREP: &[Opt] = &[
    opt(Some('e'), Some("regexp"), R, A),
    opt(Some('f'), Some("file"), R, A),
    opt(Some('m'), Some("max-count"), R, A),
    opt(Some('A'), Some("after-context"), R, A),
    opt(Some('B'), Some("before-context"), R, A),
    opt(Some('C'), Some("context"), R, A),
    opt(Some('d'), Some("directories"), R, A),
    opt(Some('D'), Some("devices"), R, A),
    opt(None, Some("include"), R, A),
    opt(None, Some("exclude"), R, A),
    opt(None, Some("exclude-from"), R, A),
    opt(None, Some("exclude-dir"), R, A),
    opt(None, Some("label"), R, A),
    opt(None, Some("binary-files"), R, A),
    opt(None, Some("color"), O, A),
    opt(None, Some("colour"), O, A),
];
const LS: &[Opt] = &[
    opt(Some('I'), Some("ignore"), R, A),
    opt(None, Some("hide"), R, A),
    opt(Some('w'), Some("width"), R, A),
    opt(Some('T'), Some("tabsize"), R, A),
    opt(None, Some("block-size"), R, A),
    opt(None, Some("format"), R, A),
    opt(None, Some("sort"), R, A),
    opt(None, Some("time"), R, A),
    opt(None, Some("time-style"), R, A),
    opt(None, Some("quoting-style"), R, A),
    opt(None, Some("indicator-style"), R, A),
    opt(None, Some("color"), O, A),
];

const fn row(name: &'static str, options: &'static [Opt]) -> Command {
    Command {
        name,
        capability: caps::SHELL_READ,
        syntax: Syntax::Getopt,
        options,
        operands: None,
    }
}

/// The table. A command on an operator's allowlist but absent here needs
/// `shell_read` and is read as [`Syntax::Opaque`].
pub const COMMANDS: &[Command] = &[
    Command {
        name: "echo",
        capability: caps::SHELL_READ,
        syntax: Syntax::Opaque,
        options: &[],
        operands: None,
    },
    row("cat", &[]),
    row("ls", LS),
    row("grep", GREP),
    row("head", HEAD),
    row("tail", TAIL),
    row("wc", WC),
    row("sort", SORT),
    Command {
        operands: Some(OperandRule {
            more_than: 1,
            effect: WRITES,
        }),
        ..row("uniq", UNIQ)
    },
    Command {
        syntax: Syntax::Primaries,
        ..row("find", FIND)
    },
    row("date", DATE),
    Command {
        name: "python3",
        capability: caps::PYTHON_EXEC,
        syntax: Syntax::Opaque,
        options: &[],
        operands: None,
    },
];

/// The row for `name`, if the table has one.
pub fn lookup(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Every option that is refused or needs a capability, spelled as users
/// write it: for prompts and the capabilities endpoints.
pub fn gated() -> Vec<(&'static str, String, Effect)> {
    let mut out = Vec::new();
    for c in COMMANDS {
        for o in c.options.iter().filter(|o| o.effect != Effect::Allow) {
            let spelled = match (c.syntax, o.short, o.long) {
                (Syntax::Primaries, _, Some(l)) => format!("-{l}"),
                (_, Some(s), Some(l)) => format!("-{s}/--{l}"),
                (_, Some(s), None) => format!("-{s}"),
                (_, None, Some(l)) => format!("--{l}"),
                (_, None, None) => continue,
            };
            out.push((c.name, spelled, o.effect));
        }
        if let Some(rule) = c.operands.filter(|r| r.effect != Effect::Allow) {
            out.push((
                c.name,
                format!("more than {} operand(s)", rule.more_than),
                rule.effect,
            ));
        }
    }
    out
}
