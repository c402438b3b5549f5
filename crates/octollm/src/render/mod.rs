//! Everything the command line draws on a terminal: live task progress,
//! task tables and details, and plan trees. The libraries hand back typed
//! values; only the binary turns them into text, so this is where the
//! colours-and-spinner decisions live.
//!
//! Every renderer writes to a `&mut dyn Write`, so tests read the text
//! back; `is_terminal` is checked once, by the command, and passed in.

pub mod doctor;
pub mod escape;
pub mod plan;
pub mod progress;
pub mod task;

/// `850 ms`, `1.2 s`.
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::human_ms;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_ms(999), "999 ms");
        assert_eq!(human_ms(1300), "1.3 s");
    }
}
