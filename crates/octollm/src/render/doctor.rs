//! `octollm doctor`'s table: one row per check, the hint under a row that
//! is not ok, and a count at the end.

use std::io::Write;

use crate::cmd::doctor::{Check, Status};

pub fn table(out: &mut dyn Write, checks: &[Check]) {
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    // A reader that stops early (`octollm doctor | head`) ends the table.
    let _ = write_table(out, checks, width);
}

fn write_table(out: &mut dyn Write, checks: &[Check], width: usize) -> std::io::Result<()> {
    writeln!(out, "{:<width$}  {:<6}  DETAIL", "CHECK", "STATUS")?;
    for c in checks {
        writeln!(
            out,
            "{:<width$}  {:<6}  {}",
            c.name,
            c.status.as_str(),
            c.detail
        )?;
        if let Some(hint) = &c.hint {
            writeln!(out, "{:<width$}  {:<6}  hint: {hint}", "", "")?;
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    writeln!(
        out,
        "\n{} ok, {} warning(s), {} failure(s)",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_follow_the_rows_they_belong_to() {
        let checks = vec![
            Check::ok("data_dir", "./data: writable"),
            Check::fail(
                "port.orchestrator",
                "127.0.0.1:8000 is in use",
                "set OCTOLLM_ORCHESTRATOR_PORT",
            ),
        ];
        let mut out = Vec::new();
        table(&mut out, &checks);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with("data_dir") && lines[1].contains("ok"),
            "{text}"
        );
        assert!(
            lines[2].contains("fail") && lines[2].contains("in use"),
            "{text}"
        );
        assert!(
            lines[3]
                .trim_start()
                .starts_with("hint: set OCTOLLM_ORCHESTRATOR_PORT"),
            "{text}"
        );
        assert!(
            text.ends_with("1 ok, 0 warning(s), 1 failure(s)\n"),
            "{text}"
        );
    }
}
