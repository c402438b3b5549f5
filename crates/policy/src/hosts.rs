//! Which hosts the executor's HTTP action may reach.
//!
//! Entries are exact host names (`example.com`), wildcards that match
//! subdomains only (`*.example.com` matches `api.example.com`, not
//! `example.com`, as a TLS certificate would), or IP literals, which match
//! only when listed exactly: a wildcard never matches an address.

use std::net::IpAddr;

/// The hosts a fetch may reach when nobody said otherwise: none. The
/// executor enforces this list and the planner plans against the same one,
/// so a fetch the planner accepts is one the executor runs; an operator
/// opens hosts with `executor.http_allowed_hosts`.
pub const DEFAULT_HOSTS: [&str; 0] = [];

/// A normalised allowlist of hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostList {
    entries: Vec<String>,
}

/// Lowercase, no trailing dot, no IPv6 brackets.
fn normalise(host: &str) -> String {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    match h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => inner.to_string(),
        None => h,
    }
}

impl HostList {
    pub fn new<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> HostList {
        let mut list: Vec<String> = Vec::new();
        for e in entries {
            let e = normalise(e.as_ref());
            if !e.is_empty() && !list.contains(&e) {
                list.push(e);
            }
        }
        HostList { entries: list }
    }

    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = normalise(host);
        if host.is_empty() {
            return false;
        }
        let is_ip = host.parse::<IpAddr>().is_ok();
        self.entries.iter().any(|e| match e.strip_prefix("*.") {
            Some(parent) => {
                !is_ip && host.len() > parent.len() + 1 && host.ends_with(&format!(".{parent}"))
            }
            None => *e == host,
        })
    }

    /// Whether every host `entry` names is one this list allows: an exact
    /// host or address the list allows, or a wildcard whose every match
    /// the list's own wildcards cover (`*.api.example.com` within
    /// `*.example.com`). A task's narrowed list must be covered entry by
    /// entry by the server's.
    pub fn covers(&self, entry: &str) -> bool {
        let entry = normalise(entry);
        match entry.strip_prefix("*.") {
            None => self.allows(&entry),
            Some(parent) if !parent.is_empty() && parent.parse::<IpAddr>().is_err() => {
                self.entries.iter().any(|e| match e.strip_prefix("*.") {
                    Some(p) => parent == p || parent.ends_with(&format!(".{p}")),
                    None => false,
                })
            }
            Some(_) => false,
        }
    }

    /// Why `entry` cannot be a host-list entry, if it cannot: empty, a
    /// wildcard anywhere but a leading `*.`, or characters no host has.
    pub fn check_entry(entry: &str) -> Result<(), String> {
        let e = normalise(entry);
        let name = e.strip_prefix("*.").unwrap_or(&e);
        if name.is_empty() {
            return Err(format!("'{entry}' names no host"));
        }
        if name.parse::<IpAddr>().is_ok() {
            return if e.starts_with("*.") {
                Err(format!("'{entry}': a wildcard never matches an address"))
            } else {
                Ok(())
            };
        }
        let valid = name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if valid && name.len() <= 253 {
            Ok(())
        } else {
            Err(format!(
                "'{entry}' is not a host name, '*.' wildcard or IP address"
            ))
        }
    }

    /// The entries as a sentence fragment, for error messages.
    pub fn describe(&self) -> String {
        if self.entries.is_empty() {
            "none configured".to_string()
        } else {
            self.entries.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_matching() {
        let l = HostList::new(["Example.com.", "*.github.com", "10.0.0.5", "[::1]"]);
        assert!(l.allows("example.com"));
        assert!(l.allows("EXAMPLE.com"));
        assert!(l.allows("example.com."));
        assert!(!l.allows("evil-example.com"));
        assert!(!l.allows("www.example.com"));
        assert!(l.allows("api.github.com"));
        assert!(!l.allows("github.com"));
        assert!(!l.allows("github.com.evil.net"));
        assert!(!l.allows("xgithub.com"));
        assert!(l.allows("10.0.0.5"));
        assert!(!l.allows("10.0.0.6"));
        assert!(l.allows("[::1]"));
        assert!(!l.allows(""));
    }

    #[test]
    fn a_narrower_list_is_covered_entry_by_entry() {
        let server = HostList::new(["example.com", "*.github.com", "10.0.0.5"]);
        for ok in [
            "example.com",
            "api.github.com",
            "*.api.github.com",
            "*.github.com",
            "10.0.0.5",
        ] {
            assert!(server.covers(ok), "{ok}");
        }
        for wider in [
            "github.com",
            "*.example.com",
            "*.com",
            "10.0.0.6",
            "*.",
            "other.org",
        ] {
            assert!(!server.covers(wider), "{wider}");
        }
        assert!(HostList::check_entry("api.example.com").is_ok());
        assert!(HostList::check_entry("*.example.com").is_ok());
        assert!(HostList::check_entry("192.0.2.1").is_ok());
        for bad in [
            "",
            "*.",
            "a*.example.com",
            "exa mple.com",
            "*.10.0.0.1",
            "http://x.com",
        ] {
            assert!(HostList::check_entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcards_never_match_addresses() {
        let l = HostList::new(["*.0.0.1"]);
        assert!(!l.allows("127.0.0.1"));
    }
}
