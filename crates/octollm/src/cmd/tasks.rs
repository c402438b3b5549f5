//! `octollm tasks list|show|cancel|approve|reject`: look at, stop and
//! decide on tasks of a running orchestrator. Exit codes as for `octollm run`; `show` exits 1 for a
//! task that ended without completing.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use octollm_orchestrator::ClientError;
use octollm_types::task::TaskStatus;

use crate::cmd::serve::runtime;
use crate::cmd::{client, exit_code, local_url};
use crate::config::Config;
use crate::render::task;

#[derive(Args)]
pub struct TasksArgs {
    #[command(subcommand)]
    command: TasksCommand,
    /// Orchestrator to talk to (default: the local one on the configured port).
    #[arg(long, global = true)]
    url: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum TasksCommand {
    /// Recent tasks, newest first.
    List {
        /// Only tasks in this status.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One task with its plan, steps and result.
    Show { id: String },
    /// Cancel a task.
    Cancel { id: String },
    /// Erase a finished task and everything derived from it (plan, steps,
    /// events, files, artifacts, its result-cache entry).
    Delete { id: String },
    /// Erase every task that ended longer ago than a duration: 90s, 30m,
    /// 12h, 7d or 2w.
    Purge {
        #[arg(long, value_name = "DURATION", value_parser = parse_age)]
        older_than: u64,
    },
    /// Approve a step that waits for approval; it runs next.
    Approve(Decide),
    /// Reject a step that waits for approval; the task fails with
    /// APPROVAL_REJECTED (or, with a model, is replanned without it).
    Reject(Decide),
}

/// One decision on a waiting step.
#[derive(Args)]
pub struct Decide {
    pub id: String,
    pub step: u32,
    /// Why (kept with the decision).
    #[arg(long)]
    pub reason: Option<String>,
}

pub fn run(config: Config, args: TasksArgs) -> Result<ExitCode> {
    let url = args.url.clone().unwrap_or_else(|| local_url(&config));
    let code = runtime()?.block_on(async move {
        let mut out = std::io::stdout().lock();
        match args.command {
            TasksCommand::List { status, limit } => {
                list(&url, status.as_deref(), limit, args.json, &mut out).await
            }
            TasksCommand::Show { id } => show(&url, &id, args.json, &mut out).await,
            TasksCommand::Cancel { id } => cancel(&url, &id, args.json, &mut out).await,
            TasksCommand::Delete { id } => erase(&url, &id, args.json, &mut out).await,
            TasksCommand::Purge { older_than } => {
                purge(&url, older_than, args.json, &mut out).await
            }
            TasksCommand::Approve(d) => decide(&url, &d, true, args.json, &mut out).await,
            TasksCommand::Reject(d) => decide(&url, &d, false, args.json, &mut out).await,
        }
    });
    Ok(ExitCode::from(code))
}

/// Writes the error (as the SPEC §2 envelope with `--json`) and gives its
/// exit code.
fn failed(out: &mut dyn Write, e: &ClientError, json_output: bool) -> u8 {
    if json_output {
        task::error_json(out, e);
    } else {
        task::error(out, e);
    }
    exit_code(e)
}

/// `--json`: the answer on one line.
fn print_json(out: &mut dyn Write, answer: &impl serde::Serialize) -> u8 {
    match serde_json::to_value(answer) {
        Ok(v) => {
            let _ = writeln!(out, "{v}");
            0
        }
        Err(e) => failed(out, &ClientError::Unexpected(e.to_string()), true),
    }
}

/// `tasks list`.
pub async fn list(
    url: &str,
    status: Option<&str>,
    limit: u32,
    json_output: bool,
    out: &mut dyn Write,
) -> u8 {
    let res = async { client(url)?.list(status, Some(limit), None).await }.await;
    match res {
        Ok(l) if json_output => print_json(out, &l),
        Ok(l) => {
            task::table(out, &l);
            0
        }
        Err(e) => failed(out, &e, json_output),
    }
}

/// `tasks show ID`.
pub async fn show(url: &str, id: &str, json_output: bool, out: &mut dyn Write) -> u8 {
    let res = async { client(url)?.get(id).await }.await;
    match res {
        Ok(t) if json_output => {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&t).unwrap_or_default()
            );
            0
        }
        Ok(t) => {
            task::detail(out, &t);
            task::outcome(out, &t);
            if t.status.is_terminal() && t.status != TaskStatus::Completed {
                1
            } else {
                0
            }
        }
        Err(e) => failed(out, &e, json_output),
    }
}

/// `tasks cancel ID`.
pub async fn cancel(url: &str, id: &str, json_output: bool, out: &mut dyn Write) -> u8 {
    let res = async { client(url)?.cancel(id).await }.await;
    match res {
        Ok(r) if json_output => print_json(out, &r),
        Ok(r) => {
            let _ = writeln!(out, "{} {}", r.status, r.message);
            0
        }
        Err(e) => failed(out, &e, json_output),
    }
}

/// `tasks delete ID`.
async fn erase(url: &str, id: &str, json_output: bool, out: &mut dyn Write) -> u8 {
    match async { client(url)?.erase(id).await }.await {
        Ok(r) if json_output => print_json(out, &r),
        Ok(r) => {
            let _ = writeln!(out, "erased {}", r.task_id);
            0
        }
        Err(e) => failed(out, &e, json_output),
    }
}

/// `tasks purge --older-than DURATION`.
async fn purge(url: &str, older_than: u64, json_output: bool, out: &mut dyn Write) -> u8 {
    match async { client(url)?.purge(older_than).await }.await {
        Ok(r) if json_output => print_json(out, &r),
        Ok(r) => {
            let _ = writeln!(out, "erased {} task(s)", r.erased);
            0
        }
        Err(e) => failed(out, &e, json_output),
    }
}

/// A duration as `--older-than` takes it (`90s`, `30m`, `12h`, `7d`,
/// `2w`), in seconds.
fn parse_age(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as 90s, 30m, 12h, 7d or 2w"))?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("'{s}': the unit must be s, m, h, d or w")),
    };
    n.checked_mul(per)
        .ok_or_else(|| format!("'{s}' is too long"))
}

/// `tasks approve|reject ID STEP`.
pub async fn decide(
    url: &str,
    d: &Decide,
    approve: bool,
    json_output: bool,
    out: &mut dyn Write,
) -> u8 {
    let res = async {
        client(url)?
            .decide(&d.id, d.step, approve, d.reason.as_deref())
            .await
    }
    .await;
    match res {
        Ok(t) if json_output => print_json(out, &t),
        Ok(t) => {
            let verb = if approve { "approved" } else { "rejected" };
            let _ = writeln!(
                out,
                "Step {} {verb}; the task is {}",
                d.step,
                t.status.as_str().replace('_', " ")
            );
            0
        }
        Err(e) => failed(out, &e, json_output),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn ages_read_with_their_units() {
        assert_eq!(parse_age("90s"), Ok(90));
        assert_eq!(parse_age("30m"), Ok(1800));
        assert_eq!(parse_age("12h"), Ok(43_200));
        assert_eq!(parse_age("7d"), Ok(604_800));
        assert_eq!(parse_age("2w"), Ok(1_209_600));
        for bad in ["", "7", "d", "7y", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
