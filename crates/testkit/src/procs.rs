//! Finding processes by uid, to check that a sandbox left none running.
//!
//! Every sandboxed execution runs under a uid from the sandbox's own range,
//! so any live process with such a uid after the run is a leak.

use std::ops::Range;

/// Pids of live processes whose real uid is in `uids`. Panics when `/proc`
/// cannot be listed, so the check never passes for lack of looking.
pub fn with_uid_in(uids: Range<u32>) -> Vec<u32> {
    let entries = std::fs::read_dir("/proc").expect("/proc must be readable");
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A process that exited meanwhile has no status any more.
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u32>().ok());
        if uid.is_some_and(|u| uids.contains(&u)) {
            out.push(pid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_this_process_by_its_own_uid() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let uid: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(super::with_uid_in(uid..uid + 1).contains(&std::process::id()));
    }
}
