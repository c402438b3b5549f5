//! Abuse programs that several suites run inside the sandbox.

/// A Python fork bomb: forks sleepers until `fork` fails, then prints
/// `stopped <forks> <errno>`. Under a working `pids.max` it stops early.
pub const FORK_BOMB: &str = r#"
import os, time
n = 0
try:
    while n < 10000:
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
except OSError as e:
    print("stopped", n, e.errno, flush=True)
"#;

/// How many forks [`FORK_BOMB`] managed, from its output; `None` when it
/// was not stopped.
pub fn fork_bomb_forks(output: &str) -> Option<u64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix("stopped "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::fork_bomb_forks;

    #[test]
    fn reads_the_fork_count() {
        assert_eq!(fork_bomb_forks("stopped 29 11\n"), Some(29));
        assert_eq!(fork_bomb_forks(""), None);
    }
}
