//! The command policy's option reader on any command line, and on the
//! same line with its options spelled another way `getopt_long` accepts.
//!
//! The verdict (refused, or the capabilities needed) is deterministic and
//! does not depend on how an option is spelled: a long option or its
//! unique abbreviation, `--opt=value` or `--opt value`, `-ovalue` or
//! `-o value`, a cluster `-abc` or `-a -bc`. Appending words never takes
//! a refusal or a capability away.

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use octollm_policy::command::needed_capabilities;
use octollm_policy::options::read;
use octollm_policy::table::{lookup, Command, Syntax, Value};
use octollm_policy::CommandPolicy;

type Verdict = Result<BTreeSet<&'static str>, &'static str>;

fn verdict(command: &str, args: &[String]) -> Verdict {
    needed_capabilities(command, args)
        .map(|caps| caps.into_iter().collect())
        .map_err(|d| d.code())
}

// The input is lines: the command, then one argument a line. The
// dictionary fuzz/dict/command_options.dict offers the table's options.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let command = lines.next().unwrap_or_default();
    let args: Vec<String> = lines.map(str::to_string).collect();
    let row = lookup(command);

    let v = verdict(command, &args);
    assert_eq!(v, verdict(command, &args), "deterministic");
    let policy = CommandPolicy::default();
    match (policy.check(command, &args), &v) {
        (Ok(caps), Ok(want)) => assert_eq!(&caps.into_iter().collect::<BTreeSet<_>>(), want),
        (Err(d), Err(code)) => assert_eq!(d.code(), *code),
        (Err(d), Ok(_)) => assert_eq!(d.code(), "COMMAND_NOT_ALLOWED"),
        (Ok(_), Err(_)) => panic!("the allowlist let a refused command line through"),
    }

    // The checks below read every prefix of the line; long lines would
    // only make them slow.
    if args.len() > 64 {
        return;
    }

    // Appending words takes nothing away.
    for cut in 0..args.len() {
        match (verdict(command, &args[..cut]), &v) {
            (Err(_), Ok(_)) => panic!(
                "{command} {:?} is refused but {command} {args:?} is not",
                &args[..cut]
            ),
            (Ok(before), Ok(after)) => assert!(
                before.is_subset(after),
                "{command} {:?} needs {before:?}, {command} {args:?} only {after:?}",
                &args[..cut]
            ),
            _ => {}
        }
    }

    let Some(row) = row.filter(|r| r.syntax == Syntax::Getopt) else {
        return;
    };
    for (what, respelled) in [
        ("abbreviated", abbreviated(row, &args)),
        ("split", split(row, &args)),
    ] {
        assert_eq!(
            verdict(command, &respelled),
            v,
            "{command} {args:?} and its {what} spelling {respelled:?} differ"
        );
    }
});

/// Each long option shortened to its shortest unique abbreviation.
fn abbreviated(row: &Command, args: &[String]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let Some(body) = a.strip_prefix("--") else {
                return a.clone();
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if !row.options.iter().any(|o| o.long == Some(name)) {
                return a.clone();
            }
            let short = (1..=name.len())
                .filter(|&n| name.is_char_boundary(n))
                .map(|n| &name[..n])
                .find(|p| {
                    let starting: Vec<_> = row
                        .options
                        .iter()
                        .filter_map(|o| o.long)
                        .filter(|l| l.starts_with(p))
                        .collect();
                    starting == [name]
                })
                .unwrap_or(name);
            match value {
                Some(v) => format!("--{short}={v}"),
                None => format!("--{short}"),
            }
        })
        .collect()
}

/// Words the reader takes as options, taken apart where `getopt_long`
/// allows: `--opt=value` as `--opt value`, `-ab…` as `-a -b…` when `-a`
/// takes no value, `-ovalue` as `-o value`.
fn split(row: &Command, args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        // A word is read as an option when reading it adds options: not a
        // value of the option before it, not an operand after `--`.
        let is_option = read(row, &args[..=i]).options.len() > read(row, &args[..i]).options.len();
        if !is_option {
            out.push(a.clone());
            continue;
        }
        if let Some(body) = a.strip_prefix("--") {
            match body.split_once('=') {
                Some((name, v))
                    if row
                        .options
                        .iter()
                        .any(|o| o.long == Some(name) && o.value == Value::Required) =>
                {
                    out.extend([format!("--{name}"), v.to_string()]);
                }
                _ => out.push(a.clone()),
            }
            continue;
        }
        let Some(cluster) = a.strip_prefix('-') else {
            out.push(a.clone());
            continue;
        };
        let mut chars = cluster.chars();
        let Some(first) = chars.next() else {
            out.push(a.clone());
            continue;
        };
        let rest = chars.as_str();
        let value = row
            .options
            .iter()
            .find(|o| o.short == Some(first))
            .map(|o| o.value);
        match value {
            _ if rest.is_empty() => out.push(a.clone()),
            // `-a-b` holds the option character `-`; `--b` would be a
            // long option.
            None | Some(Value::None) if rest.starts_with('-') => out.push(a.clone()),
            None | Some(Value::None) => out.extend([format!("-{first}"), format!("-{rest}")]),
            Some(Value::Required) => out.extend([format!("-{first}"), rest.to_string()]),
            Some(Value::Optional) => out.push(a.clone()),
        }
    }
    out
}
