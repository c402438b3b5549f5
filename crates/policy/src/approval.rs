//! Which steps wait for a person before they run: the server's
//! `approval_required` policy (SPEC §9.1).
//!
//! An entry is a capability (`shell_read`, `shell_write`, `python_exec`,
//! `http_get`), `command:NAME` or `host:NAME` (exact, or a `*.` wildcard as
//! in the HTTP allowlist). A step needs approval when any entry matches it.
//! Capabilities are read from the same command table the executor enforces
//! and the orchestrator scopes tokens with, so "needs `shell_write`" here
//! means exactly "its token would carry `shell_write`".

use std::fmt;

use octollm_types::plan::ToolCall;
use octollm_types::token::caps;

use crate::command::needed_capabilities;
use crate::hosts::HostList;

/// Every capability a token can carry.
const CAPABILITIES: [&str; 4] = [
    caps::SHELL_READ,
    caps::SHELL_WRITE,
    caps::PYTHON_EXEC,
    caps::HTTP_GET,
];

/// The capabilities `call` needs. A command the executor would refuse
/// anyway needs nothing beyond `shell_read` here; the executor answers the
/// refusal itself.
pub fn call_capabilities(call: &ToolCall) -> Vec<&'static str> {
    match call {
        ToolCall::Http { .. } => vec![caps::HTTP_GET],
        ToolCall::Shell { command, args, .. } => {
            needed_capabilities(command, args).unwrap_or_else(|_| vec![caps::SHELL_READ])
        }
    }
}

/// The host an HTTP call fetches from, lowercased; `None` for a shell call
/// or a URL without one.
pub fn call_host(call: &ToolCall) -> Option<String> {
    match call {
        ToolCall::Http { url, .. } => url::Url::parse(url.trim())
            .ok()?
            .host_str()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()),
        ToolCall::Shell { .. } => None,
    }
}

/// An entry the policy cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry {
    pub entry: String,
    pub why: String,
}

impl fmt::Display for BadEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "approval_required entry '{}': {}", self.entry, self.why)
    }
}

impl std::error::Error for BadEntry {}

/// The parsed `approval_required` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalPolicy {
    capabilities: Vec<&'static str>,
    commands: Vec<String>,
    hosts: HostList,
    /// The entries as written (normalised), in order, for `because`.
    entries: Vec<String>,
}

impl ApprovalPolicy {
    /// Reads the entries; blank ones are ignored, an unknown capability or
    /// a malformed `command:`/`host:` entry is an error.
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, BadEntry> {
        let mut policy = ApprovalPolicy::default();
        let mut hosts = Vec::new();
        for raw in entries {
            let entry = raw.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let bad = |why: &str| BadEntry {
                entry: entry.to_string(),
                why: why.to_string(),
            };
            if let Some(name) = entry.strip_prefix("command:") {
                let name = name.trim();
                let plain = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
                if !plain {
                    return Err(bad("a command name is a plain program name such as 'rm'"));
                }
                policy.commands.push(name.to_string());
                policy.entries.push(format!("command:{name}"));
            } else if let Some(host) = entry.strip_prefix("host:") {
                HostList::check_entry(host).map_err(|why| bad(&why))?;
                hosts.push(host.trim().to_ascii_lowercase());
                policy
                    .entries
                    .push(format!("host:{}", host.trim().to_ascii_lowercase()));
            } else if let Some(cap) = CAPABILITIES.iter().find(|c| **c == entry) {
                policy.capabilities.push(cap);
                policy.entries.push(entry.to_string());
            } else {
                return Err(bad(&format!(
                    "expected a capability ({}), command:NAME or host:NAME",
                    CAPABILITIES.join(", ")
                )));
            }
        }
        policy.hosts = HostList::new(hosts);
        Ok(policy)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, as normalised.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// The entries that put `call` behind approval, in policy order; empty
    /// when it may run unasked.
    pub fn matches(&self, call: &ToolCall) -> Vec<String> {
        let needed = call_capabilities(call);
        let host = call_host(call);
        let mut because = Vec::new();
        for cap in &self.capabilities {
            if needed.contains(cap) {
                because.push((*cap).to_string());
            }
        }
        if let ToolCall::Shell { command, .. } = call {
            if self.commands.iter().any(|c| c == command.trim()) {
                because.push(format!("command:{}", command.trim()));
            }
        }
        if let Some(h) = host.as_deref().filter(|h| self.hosts.allows(h)) {
            let entry = self
                .hosts
                .entries()
                .iter()
                .find(|e| HostList::new([e.as_str()]).allows(h))
                .cloned()
                .unwrap_or_else(|| h.to_string());
            because.push(format!("host:{entry}"));
        }
        because
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(c: &str, a: &[&str]) -> ToolCall {
        ToolCall::Shell {
            command: c.into(),
            args: a.iter().map(|s| s.to_string()).collect(),
            stdin: None,
        }
    }

    fn http(url: &str) -> ToolCall {
        ToolCall::Http {
            method: "GET".into(),
            url: url.into(),
        }
    }

    #[test]
    fn capabilities_follow_the_command_table() {
        let p = ApprovalPolicy::parse(["shell_write"]).unwrap();
        assert!(p.matches(&shell("ls", &["-l"])).is_empty());
        // An abbreviated long option is read as getopt reads it.
        assert_eq!(
            p.matches(&shell("sort", &["--ou=x", "in"])),
            vec!["shell_write"]
        );
        assert_eq!(p.matches(&shell("sort", &["-uox"])), vec!["shell_write"]);
        let p = ApprovalPolicy::parse(["python_exec"]).unwrap();
        assert_eq!(
            p.matches(&shell("python3", &["-c", "1"])),
            vec!["python_exec"]
        );
        assert!(p.matches(&shell("cat", &["f"])).is_empty());
    }

    #[test]
    fn commands_and_hosts_match_by_name() {
        let p =
            ApprovalPolicy::parse([" command:grep ", "host:*.example.com", "http_get"]).unwrap();
        assert_eq!(p.matches(&shell("grep", &["x"])), vec!["command:grep"]);
        assert!(p.matches(&shell("egrep", &["x"])).is_empty());
        assert_eq!(
            p.matches(&http("https://API.example.com/x")),
            vec!["http_get", "host:*.example.com"]
        );
        assert_eq!(p.matches(&http("https://example.com/")), vec!["http_get"]);
        let p = ApprovalPolicy::parse(["host:10.0.0.1"]).unwrap();
        assert_eq!(
            p.matches(&http("http://10.0.0.1:8080/")),
            vec!["host:10.0.0.1"]
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        for bad in [
            "shell",
            "command:",
            "command:/bin/rm",
            "host:",
            "host:*.10.0.0.1",
            "rm",
        ] {
            assert!(ApprovalPolicy::parse([bad]).is_err(), "{bad}");
        }
        let p = ApprovalPolicy::parse(["", " "]).unwrap();
        assert!(p.is_empty());
    }
}
