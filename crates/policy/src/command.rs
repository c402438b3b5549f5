//! The verdict for one command line: refused, or the capabilities it needs.

use std::fmt;

use octollm_types::token::caps;

use crate::options::read;
use crate::table::{lookup, Effect, Syntax};

/// The default allowlist (SPEC §5).
pub const DEFAULT_COMMANDS: [&str; 12] = [
    "echo", "cat", "ls", "grep", "head", "tail", "wc", "sort", "uniq", "find", "date", "python3",
];

/// Why a command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    NotAllowed {
        command: String,
        allowed: Vec<String>,
    },
    DangerousArgument {
        command: String,
        arg: String,
        /// The option the argument amounts to (`--compress-program`).
        option: String,
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
}

impl fmt::Display for Denial {
    /// The allowlist sentence is the one SPEC §5 prescribes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::NotAllowed { command, allowed } => write!(
                f,
                "Command '{command}' is not in the allowlist. Allowed commands: {}",
                allowed.join(", ")
            ),
            Denial::DangerousArgument {
                command,
                arg,
                option,
                reason,
            } if arg == option => write!(f, "Argument '{arg}' of '{command}' is not allowed: it {reason}"),
            Denial::DangerousArgument {
                command,
                arg,
                option,
                reason,
            } => write!(
                f,
                "Argument '{arg}' of '{command}' is not allowed: it is read as {option}, which {reason}"
            ),
        }
    }
}

/// The configured allowlist over the command [table](crate::table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPolicy {
    allowed: Vec<String>,
}

impl Default for CommandPolicy {
    fn default() -> Self {
        CommandPolicy::new(DEFAULT_COMMANDS)
    }
}

impl CommandPolicy {
    pub fn new<S: AsRef<str>>(allowed: impl IntoIterator<Item = S>) -> CommandPolicy {
        let mut list: Vec<String> = Vec::new();
        for c in allowed {
            let c = c.as_ref().trim();
            if !c.is_empty() && !list.iter().any(|x| x == c) {
                list.push(c.to_string());
            }
        }
        CommandPolicy { allowed: list }
    }

    /// The allowlist, in configured order.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    pub fn is_allowed(&self, command: &str) -> bool {
        // Bare names only: a path would sidestep the name the list allows.
        !command.contains('/') && self.allowed.iter().any(|c| c == command)
    }

    /// Checks one command line; on success returns the capabilities it needs.
    pub fn check(&self, command: &str, args: &[String]) -> Result<Vec<&'static str>, Denial> {
        if !self.is_allowed(command) {
            return Err(Denial::NotAllowed {
                command: command.to_string(),
                allowed: self.allowed.clone(),
            });
        }
        needed_capabilities(command, args)
    }
}

/// What `command args` needs, by the table alone, whatever the allowlist.
/// The orchestrator scopes tokens with this; the executor enforces it.
pub fn needed_capabilities(command: &str, args: &[String]) -> Result<Vec<&'static str>, Denial> {
    let Some(row) = lookup(command) else {
        return Ok(vec![caps::SHELL_READ]);
    };
    let mut needed = vec![row.capability];
    let mut add = |effect: Effect, arg: &str, option: &str| -> Result<(), Denial> {
        match effect {
            Effect::Allow => Ok(()),
            Effect::Deny(reason) => Err(Denial::DangerousArgument {
                command: command.to_string(),
                arg: arg.to_string(),
                option: option.to_string(),
                reason,
            }),
            Effect::Requires(cap, _) => {
                if !needed.contains(&cap) {
                    needed.push(cap);
                }
                Ok(())
            }
        }
    };
    if row.syntax == Syntax::Opaque {
        return Ok(needed);
    }
    let reading = read(row, args);
    for seen in &reading.options {
        add(seen.effect, &seen.arg, &seen.option)?;
    }
    if let Some(rule) = row.operands {
        if reading.operands.len() > rule.more_than {
            let last = reading.operands.last().cloned().unwrap_or_default();
            add(rule.effect, &last, "an output operand")?;
        }
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn allowlist_message_matches_spec() {
        let d = CommandPolicy::default().check("rm", &[]).unwrap_err();
        assert_eq!(d.code(), "COMMAND_NOT_ALLOWED");
        assert!(d
            .to_string()
            .starts_with("Command 'rm' is not in the allowlist. Allowed commands: echo, cat, ls"));
    }

    #[test]
    fn paths_are_not_names() {
        assert!(CommandPolicy::default().check("/bin/echo", &[]).is_err());
    }

    #[test]
    fn capabilities_follow_the_table() {
        let p = CommandPolicy::default();
        assert_eq!(p.check("python3", &[]).unwrap(), vec![caps::PYTHON_EXEC]);
        assert_eq!(
            p.check("sort", &args(&["-ofile"])).unwrap(),
            vec![caps::SHELL_READ, caps::SHELL_WRITE]
        );
        assert_eq!(
            p.check("uniq", &args(&["in", "out"])).unwrap(),
            vec![caps::SHELL_READ, caps::SHELL_WRITE]
        );
        assert_eq!(
            p.check("uniq", &args(&["-c", "in"])).unwrap(),
            vec![caps::SHELL_READ]
        );
        let d = p.check("sort", &args(&["--co=sh"])).unwrap_err();
        assert_eq!(d.code(), "DANGEROUS_ARGUMENT");
        assert!(d.to_string().contains("--compress-program"), "{d}");
        assert_eq!(
            p.check("echo", &args(&["-o", "--set"])).unwrap(),
            vec![caps::SHELL_READ]
        );
    }

    #[test]
    fn unknown_commands_need_shell_read_only() {
        let p = CommandPolicy::new(["tee"]);
        assert_eq!(
            p.check("tee", &args(&["x"])).unwrap(),
            vec![caps::SHELL_READ]
        );
    }
}
