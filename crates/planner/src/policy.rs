//! What the executor will run: commands, refused argument forms, fetchable hosts.

use std::collections::BTreeSet;

use serde::Serialize;

/// Argument forms refused per command, kept as data so the table can be
/// read, listed in the prompt and extended in one place. A form matches the
/// argument itself, `--long=value`, or a short option with its value attached.
pub const FORBIDDEN_ARGS: &[(&str, &[&str], &str)] = &[
    (
        "find",
        &[
            "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf",
            "-fls",
        ],
        "runs other programs or writes/deletes files",
    ),
    (
        "sort",
        &["-o", "--output", "--compress-program"],
        "writes files or runs another program",
    ),
    ("tail", &["-f", "-F", "--follow"], "never finishes"),
    ("date", &["-s", "--set"], "changes the system clock"),
];

/// Tokens that only mean something to a shell; commands are exec'd directly.
pub const SHELL_OPERATORS: &[&str] = &[
    "|", "||", "&", "&&", ";", ">", ">>", "<", "<<", "2>", "2>>", "2>&1", "&>", "|&",
];

/// Where the allowlist came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    Executor,
    Config,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub allowed_commands: BTreeSet<String>,
    pub allowed_hosts: Vec<String>,
    pub allow_plain_http: bool,
    pub source: PolicySource,
}

impl Policy {
    pub fn new(
        commands: impl IntoIterator<Item = String>,
        hosts: impl IntoIterator<Item = String>,
        allow_plain_http: bool,
        source: PolicySource,
    ) -> Self {
        Policy {
            allowed_commands: commands
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            allowed_hosts: hosts
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            allow_plain_http,
            source,
        }
    }

    pub fn command_allowed(&self, command: &str) -> bool {
        self.allowed_commands.contains(command)
    }

    /// The refused form `arg` matches for `command`, with the reason.
    pub fn forbidden_arg(command: &str, arg: &str) -> Option<(&'static str, &'static str)> {
        let (_, forms, why) = FORBIDDEN_ARGS.iter().find(|(c, _, _)| *c == command)?;
        forms
            .iter()
            .find(|form| {
                arg == **form
                    || (form.starts_with("--") && arg.starts_with(&format!("{form}=")))
                    || (form.len() == 2 && !form.starts_with("--") && arg.starts_with(**form))
                        && !arg.starts_with("--")
            })
            .map(|form| (*form, *why))
    }

    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_hosts
            .iter()
            .any(|allowed| match allowed.strip_prefix("*.") {
                Some(parent) => host == parent || host.ends_with(&format!(".{parent}")),
                None => host == *allowed,
            })
    }

    /// Human list of the allowed commands.
    pub fn commands_csv(&self) -> String {
        self.allowed_commands
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_forms_match_precisely() {
        assert_eq!(
            Policy::forbidden_arg("find", "-exec").map(|f| f.0),
            Some("-exec")
        );
        assert_eq!(
            Policy::forbidden_arg("find", "-delete").map(|f| f.0),
            Some("-delete")
        );
        assert!(Policy::forbidden_arg("find", "-name").is_none());
        assert!(Policy::forbidden_arg("find", "-executable").is_none());
        assert_eq!(
            Policy::forbidden_arg("sort", "-ofile").map(|f| f.0),
            Some("-o")
        );
        assert_eq!(
            Policy::forbidden_arg("sort", "--output=x").map(|f| f.0),
            Some("--output")
        );
        assert!(Policy::forbidden_arg("sort", "-n").is_none());
        assert!(Policy::forbidden_arg("tail", "-n").is_none());
        assert!(Policy::forbidden_arg("tail", "-f").is_some());
        assert!(Policy::forbidden_arg("ls", "-exec").is_none());
    }

    #[test]
    fn hosts_match_exactly_or_by_wildcard() {
        let p = Policy::new(
            vec![],
            vec!["example.com".into(), "*.github.com".into()],
            false,
            PolicySource::Config,
        );
        assert!(p.host_allowed("example.com"));
        assert!(p.host_allowed("EXAMPLE.com"));
        assert!(!p.host_allowed("evil-example.com"));
        assert!(!p.host_allowed("www.example.com"));
        assert!(p.host_allowed("api.github.com"));
        assert!(!p.host_allowed("github.com.evil.net"));
    }
}
