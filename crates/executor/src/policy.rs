//! Which commands may run, which of their argument forms are refused, and
//! which capability each needs — as a table, not as scattered ifs.

use octollm_types::token::caps;

/// How an argument is matched.
#[derive(Debug, Clone, Copy)]
pub enum ArgPattern {
    /// The whole argument, e.g. `-exec`.
    Exact(&'static str),
    /// A prefix, for `--opt=value` and glued short options (`-ofile`).
    Prefix(&'static str),
}

impl ArgPattern {
    fn matches(self, arg: &str) -> bool {
        match self {
            ArgPattern::Exact(p) => arg == p,
            ArgPattern::Prefix(p) => arg.starts_with(p),
        }
    }
}

/// What happens when an argument matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgEffect {
    /// Refused outright: runs other programs, deletes, or writes files.
    Deny,
    /// Allowed with an extra capability.
    Requires(&'static str),
}

/// One command's row.
#[derive(Debug)]
pub struct CommandRule {
    pub command: &'static str,
    /// Capability every use of the command needs.
    pub capability: &'static str,
    pub args: &'static [(ArgPattern, ArgEffect, &'static str)],
}

use ArgEffect::{Deny, Requires};
use ArgPattern::{Exact, Prefix};

/// The policy table. Commands on the configured allowlist but absent here
/// need `shell_read` and have no argument rules.
pub const RULES: &[CommandRule] = &[
    CommandRule {
        command: "find",
        capability: caps::SHELL_READ,
        args: &[
            (Exact("-exec"), Deny, "runs other programs"),
            (Exact("-execdir"), Deny, "runs other programs"),
            (Exact("-ok"), Deny, "runs other programs"),
            (Exact("-okdir"), Deny, "runs other programs"),
            (Exact("-delete"), Deny, "deletes files"),
            (Exact("-fprint"), Deny, "writes files"),
            (Exact("-fprint0"), Deny, "writes files"),
            (Exact("-fprintf"), Deny, "writes files"),
            (Exact("-fls"), Deny, "writes files"),
        ],
    },
    CommandRule {
        command: "sort",
        capability: caps::SHELL_READ,
        args: &[
            (Prefix("--compress-program"), Deny, "runs other programs"),
            (
                Prefix("--output"),
                Requires(caps::SHELL_WRITE),
                "writes files",
            ),
            (Prefix("-o"), Requires(caps::SHELL_WRITE), "writes files"),
        ],
    },
    CommandRule {
        command: "date",
        capability: caps::SHELL_READ,
        args: &[
            (Exact("-s"), Deny, "sets the clock"),
            (Prefix("--set"), Deny, "sets the clock"),
        ],
    },
    CommandRule {
        command: "python3",
        capability: caps::PYTHON_EXEC,
        args: &[],
    },
];

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    NotAllowed {
        command: String,
        allowed: Vec<String>,
    },
    DangerousArgument {
        command: String,
        arg: String,
        reason: &'static str,
    },
}

impl Denial {
    pub fn code(&self) -> &'static str {
        match self {
            Denial::NotAllowed { .. } => "COMMAND_NOT_ALLOWED",
            Denial::DangerousArgument { .. } => "DANGEROUS_ARGUMENT",
        }
    }

    /// The sentence SPEC §5 prescribes for the allowlist case.
    pub fn message(&self) -> String {
        match self {
            Denial::NotAllowed { command, allowed } => format!(
                "Command '{command}' is not in the allowlist. Allowed commands: {}",
                allowed.join(", ")
            ),
            Denial::DangerousArgument {
                command,
                arg,
                reason,
            } => format!("Argument '{arg}' of '{command}' is not allowed: it {reason}"),
        }
    }
}

/// The configured allowlist plus [`RULES`].
#[derive(Debug, Clone)]
pub struct Policy {
    allowed: Vec<String>,
}

impl Policy {
    pub fn new(allowed: &[String]) -> Policy {
        Policy {
            allowed: allowed
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }

    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// Checks one command line; on success returns the capabilities it needs.
    pub fn check(&self, command: &str, args: &[String]) -> Result<Vec<&'static str>, Denial> {
        // Bare names only: a path would sidestep the name the list allows.
        if command.contains('/') || !self.allowed.iter().any(|c| c == command) {
            return Err(Denial::NotAllowed {
                command: command.to_string(),
                allowed: self.allowed.clone(),
            });
        }
        let rule = RULES.iter().find(|r| r.command == command);
        let mut needed = vec![rule.map_or(caps::SHELL_READ, |r| r.capability)];
        if let Some(rule) = rule {
            for arg in args {
                for (pattern, effect, reason) in rule.args {
                    if !pattern.matches(arg) {
                        continue;
                    }
                    match effect {
                        Deny => {
                            return Err(Denial::DangerousArgument {
                                command: command.to_string(),
                                arg: arg.clone(),
                                reason,
                            })
                        }
                        Requires(cap) if !needed.contains(cap) => needed.push(cap),
                        Requires(_) => {}
                    }
                }
            }
        }
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_COMMANDS;

    fn policy() -> Policy {
        Policy::new(&DEFAULT_COMMANDS.map(String::from))
    }

    #[test]
    fn allowlist_message_matches_spec() {
        let d = policy().check("rm", &[]).unwrap_err();
        assert_eq!(d.code(), "COMMAND_NOT_ALLOWED");
        assert!(d
            .message()
            .starts_with("Command 'rm' is not in the allowlist. Allowed commands: echo, cat, ls"));
    }

    #[test]
    fn paths_are_not_names() {
        assert!(policy().check("/bin/echo", &[]).is_err());
    }

    #[test]
    fn dangerous_find_forms_are_refused() {
        for a in ["-exec", "-execdir", "-delete", "-fprint", "-ok"] {
            let args = vec![".".to_string(), a.to_string()];
            assert_eq!(
                policy().check("find", &args).unwrap_err().code(),
                "DANGEROUS_ARGUMENT"
            );
        }
        assert!(policy()
            .check("find", &[".".into(), "-name".into(), "x".into()])
            .is_ok());
    }

    #[test]
    fn capabilities_follow_the_table() {
        assert_eq!(
            policy().check("python3", &[]).unwrap(),
            vec![caps::PYTHON_EXEC]
        );
        assert_eq!(
            policy().check("sort", &["-ofile".into()]).unwrap(),
            vec![caps::SHELL_READ, caps::SHELL_WRITE]
        );
        assert!(policy()
            .check("sort", &["--compress-program=sh".into()])
            .is_err());
    }
}
