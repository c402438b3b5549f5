//! The names a task's files may have (SPEC §9.2): the orchestrator checks
//! them when a task is submitted, the executor again before it writes one.

/// Longest name, in bytes (a common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Why `name` cannot name an input file or an artifact, if it cannot: it
/// must be one plain path component, without `..`, control characters or
/// surrounding white space.
pub fn check_name(name: &str) -> Result<(), String> {
    let why = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_NAME_BYTES {
        "is longer than 255 bytes"
    } else if name.contains('/') || name.contains('\\') {
        "contains a path separator"
    } else if name.contains("..") {
        "contains '..'"
    } else if name == "." {
        "is '.'"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else if name.trim() != name {
        "starts or ends with white space"
    } else {
        return Ok(());
    };
    Err(format!("file name {name:?} {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_paths_do_not() {
        for ok in [
            "data.csv",
            "report 2026.txt",
            "ünïcode.md",
            ".hidden",
            "a.b.c",
        ] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(256);
        for bad in [
            "",
            ".",
            "..",
            "../etc/passwd",
            "a/b",
            "a\\b",
            "x..y",
            "tab\there",
            "nul\0",
            "esc\u{1b}[31m",
            "c1\u{9b}",
            " lead",
            "trail ",
            long.as_str(),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
