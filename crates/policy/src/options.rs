//! Reads an argument vector the way the program itself will.
//!
//! Matching argument *prefixes* is not enough: GNU `getopt_long` accepts
//! `--co=sh` for `--compress-program=sh`, `-uoFILE` for `-u -o FILE`, and
//! options after operands. So a command line is read here with the same
//! rules, against the command's row in the [`table`](crate::table), and every
//! option it would see is reported with the effect the table gives it.
//!
//! Where the real reader would stop with an error (an ambiguous
//! abbreviation, an unknown option), this one keeps going and takes the
//! strictest reading: the program would not run anyway, and a reading that
//! refuses too much is safe where one that refuses too little is not.

use crate::table::{Command, Effect, Opt, Syntax, Value};

/// One option the program would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The word it came from, as given.
    pub arg: String,
    /// The option's canonical spelling (`--output`, `-o`, `-exec`).
    pub option: String,
    pub effect: Effect,
}

/// What a command line amounts to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub options: Vec<Seen>,
    pub operands: Vec<String>,
}

/// Reads `args` as `command` would.
pub fn read(command: &Command, args: &[String]) -> Reading {
    match command.syntax {
        Syntax::Opaque => Reading {
            options: Vec::new(),
            operands: args.to_vec(),
        },
        Syntax::Primaries => primaries(command, args),
        Syntax::Getopt => getopt(command, args),
    }
}

fn primaries(command: &Command, args: &[String]) -> Reading {
    let mut out = Reading::default();
    for arg in args {
        let hit = arg
            .strip_prefix('-')
            .and_then(|name| command.options.iter().find(|o| o.long == Some(name)));
        match hit {
            Some(o) => out.options.push(Seen {
                arg: arg.clone(),
                option: arg.clone(),
                effect: o.effect,
            }),
            None => out.operands.push(arg.clone()),
        }
    }
    out
}

fn long_name(o: &Opt) -> String {
    match (o.long, o.short) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(s)) => format!("-{s}"),
        (None, None) => String::new(),
    }
}

/// The stricter of two effects: refusal beats a capability beats nothing.
fn stricter(a: Effect, b: Effect) -> Effect {
    match (a, b) {
        (Effect::Deny(_), _) => a,
        (_, Effect::Deny(_)) => b,
        (Effect::Requires(..), _) => a,
        (_, Effect::Requires(..)) => b,
        _ => a,
    }
}

/// Long options `name` can stand for: the exact one, else every option it
/// abbreviates.
fn long_candidates<'a>(command: &'a Command, name: &str) -> Vec<&'a Opt> {
    if let Some(exact) = command.options.iter().find(|o| o.long == Some(name)) {
        return vec![exact];
    }
    if name.is_empty() {
        return Vec::new();
    }
    command
        .options
        .iter()
        .filter(|o| o.long.is_some_and(|l| l.starts_with(name)))
        .collect()
}

fn getopt(command: &Command, args: &[String]) -> Reading {
    let mut out = Reading::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.operands.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, attached) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let candidates = long_candidates(command, name);
            let Some(first) = candidates.first() else {
                // Unknown to the table: the program refuses it or it is a
                // harmless flag; either way it consumes nothing.
                continue;
            };
            let effect = candidates
                .iter()
                .fold(first.effect, |e, o| stricter(e, o.effect));
            let option = if candidates.len() == 1 {
                long_name(first)
            } else {
                format!("--{name}")
            };
            out.options.push(Seen {
                arg: arg.clone(),
                option,
                effect,
            });
            let takes_next =
                attached.is_none() && candidates.len() == 1 && first.value == Value::Required;
            if takes_next {
                i += 1;
            }
            continue;
        }
        match arg.strip_prefix('-') {
            Some(cluster) if !cluster.is_empty() => {
                for (at, ch) in cluster.char_indices() {
                    let Some(o) = command.options.iter().find(|o| o.short == Some(ch)) else {
                        continue;
                    };
                    out.options.push(Seen {
                        arg: arg.clone(),
                        option: format!("-{ch}"),
                        effect: o.effect,
                    });
                    match o.value {
                        Value::None => {}
                        Value::Optional => break,
                        Value::Required => {
                            // The rest of the word is the value; a bare
                            // option takes the next word whatever it is.
                            if at + ch.len_utf8() == cluster.len() {
                                i += 1;
                            }
                            break;
                        }
                    }
                }
            }
            // `-` alone is an operand (stdin), as is every other word.
            _ => out.operands.push(arg.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::lookup;

    fn effects(cmd: &str, args: &[&str]) -> Vec<(String, Effect)> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let row = lookup(cmd).unwrap();
        read(row, &args)
            .options
            .into_iter()
            .map(|s| (s.option, s.effect))
            .collect()
    }

    fn denied(cmd: &str, args: &[&str]) -> bool {
        effects(cmd, args)
            .iter()
            .any(|(_, e)| matches!(e, Effect::Deny(_)))
    }

    fn gated(cmd: &str, args: &[&str]) -> bool {
        effects(cmd, args)
            .iter()
            .any(|(_, e)| matches!(e, Effect::Requires(..)))
    }

    #[test]
    fn long_abbreviations_are_the_option_they_abbreviate() {
        assert!(denied("sort", &["--co=python3", "-S", "64K"]));
        assert!(denied("sort", &["--compress-prog=sh"]));
        assert!(denied("sort", &["--compress", "sh"]));
        assert!(gated("sort", &["--ou=FILE"]));
        assert!(gated("sort", &["--out", "FILE"]));
        assert!(denied("date", &["--se=@86400"]));
        assert!(denied("date", &["--s=@86400"]));
        assert!(denied("tail", &["--fo"]));
    }

    #[test]
    fn clusters_are_read_char_by_char_until_a_value() {
        assert!(gated("sort", &["-uoFILE"]));
        assert!(gated("sort", &["-ruo", "FILE"]));
        assert!(denied("date", &["-s@86400"]));
        assert!(denied("date", &["-us", "@1"]));
        assert!(denied("tail", &["-5f", "x"]));
        assert!(denied("tail", &["-qF"]));
        // After a value-taking option the rest of the word is its value.
        assert!(!gated("sort", &["-t-o"]));
        assert!(!gated("sort", &["-to"]));
        assert!(!denied("date", &["-d-s"]));
        assert!(!denied("date", &["-Iseconds"]));
    }

    #[test]
    fn values_given_as_the_next_word_are_not_options() {
        assert!(!gated("sort", &["-k", "-o"]));
        assert!(!gated("sort", &["--key", "-o"]));
        assert!(!denied("date", &["-d", "--set"]));
        assert!(!denied("tail", &["-n", "-f"]));
    }

    #[test]
    fn double_dash_ends_the_options_and_options_permute() {
        assert!(!gated("sort", &["--", "-o", "x"]));
        assert!(gated("sort", &["file", "-o", "x"]));
        assert!(denied("tail", &["file", "-f"]));
        let row = lookup("sort").unwrap();
        let r = read(row, &["a".into(), "-".into(), "--".into(), "-o".into()]);
        assert_eq!(r.operands, vec!["a", "-", "-o"]);
    }

    #[test]
    fn find_primaries_match_whole_words() {
        assert!(denied("find", &[".", "-exec", "x", ";"]));
        assert!(denied("find", &[".", "-delete"]));
        assert!(!denied("find", &[".", "-executable"]));
        // A primary's value is not parsed: a pattern spelled like a refused
        // primary is refused too, which errs on the safe side.
        assert!(denied("find", &[".", "-name", "-exec"]));
    }

    #[test]
    fn ambiguous_abbreviations_take_the_strictest_reading() {
        // `--s` could be --sort, --stable: nothing gated among them.
        assert!(!gated("sort", &["--s", "x"]));
        // `--co` could only be --compress-program.
        assert!(denied("sort", &["--co", "x"]));
    }
}
