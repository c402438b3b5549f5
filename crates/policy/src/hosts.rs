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
    fn wildcards_never_match_addresses() {
        let l = HostList::new(["*.0.0.1"]);
        assert!(!l.allows("127.0.0.1"));
    }
}
