//! `octollm run "<goal>"`: submit a goal to an orchestrator (or to one
//! started in this process when none answers), follow its events live and
//! print the outcome.
//!
//! Exit codes: 0 the task completed, 1 it failed, was cancelled or was
//! rejected, 2 the orchestrator could not be reached or answered something
//! unexpected.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use octollm_orchestrator::{ClientError, OrchestratorClient};
use octollm_types::task::{TaskContract, TaskStatus};

use crate::cmd::serve::{runtime, Component};
use crate::cmd::{client, exit_code, local_url};
use crate::config::Config;
use crate::render::progress::Progress;
use crate::render::task;

/// How often the spinner is redrawn.
const SPIN_EVERY: Duration = Duration::from_millis(100);
/// How often the task is polled when its event stream broke.
const POLL_EVERY: Duration = Duration::from_millis(300);
/// How long a running orchestrator has to answer `/health`.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

#[derive(Args)]
pub struct RunArgs {
    /// What to achieve, in plain words.
    goal: String,
    /// An acceptance criterion for the result (repeatable).
    #[arg(long = "criteria")]
    criteria: Vec<String>,
    /// Hard deadline for the task, in seconds.
    #[arg(long = "max-time")]
    max_time: Option<u64>,
    /// Print the final task as JSON instead of live progress.
    #[arg(long)]
    json: bool,
    /// Orchestrator to submit to (default: the local one on the configured port).
    #[arg(long)]
    url: Option<String>,
    /// Approve every step that waits for approval, without asking.
    #[arg(long)]
    approve_all: bool,
}

/// What `octollm run` does when a step waits for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approvals {
    /// Approve it (`--approve-all`).
    All,
    /// Ask y/N at the terminal.
    Ask,
    /// Say how to decide, and wait for someone to.
    Tell,
}

async fn answers(url: &str) -> bool {
    match OrchestratorClient::new(url) {
        Ok(c) => c.with_timeout(PROBE_TIMEOUT).health().await.is_ok(),
        Err(_) => false,
    }
}

pub fn run(config: Config, args: RunArgs) -> Result<ExitCode> {
    runtime()?.block_on(async move {
        let url = args.url.clone().unwrap_or_else(|| local_url(&config));
        let embedded = if args.url.is_none() && !answers(&url).await {
            // Nothing is running: bring the system up inside this process
            // for the one goal, quietly, on ports of its own.
            let mut quiet = config.clone();
            quiet.server.log_level = "warn".into();
            crate::logging::init(&quiet.server);
            Some(crate::cmd::up::start(quiet, true).await?)
        } else {
            None
        };
        let target = embedded
            .as_ref()
            .map_or(url.clone(), |s| s.url(Component::Orchestrator).to_string());
        let contract = contract(&args.goal, &args.criteria, args.max_time);
        let stdout = std::io::stdout();
        let tty = stdout.is_terminal();
        let approvals = if args.approve_all {
            Approvals::All
        } else if tty && std::io::stdin().is_terminal() && !args.json {
            Approvals::Ask
        } else {
            Approvals::Tell
        };
        let code = run_goal(
            &target,
            &contract,
            Follow {
                json: args.json,
                tty,
                approvals,
            },
            &mut stdout.lock(),
        )
        .await;
        if let Some(system) = embedded {
            system.shutdown().await;
        }
        Ok(ExitCode::from(code))
    })
}

/// The contract `octollm run` submits: the goal, its criteria and an
/// optional deadline, everything else at the API's defaults.
pub fn contract(goal: &str, criteria: &[String], max_time: Option<u64>) -> TaskContract {
    let mut contract = TaskContract {
        goal: goal.to_string(),
        constraints: Vec::new(),
        context: serde_json::Map::new(),
        acceptance_criteria: criteria.to_vec(),
        budget: Default::default(),
        priority: 5,
        allowed_hosts: None,
        approval: None,
    };
    if let Some(t) = max_time {
        contract.budget.max_time_seconds = t;
    }
    contract
}

/// How `octollm run` follows its task.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    /// Print the final task as JSON only.
    pub json: bool,
    /// The output is a terminal: the spinner is on.
    pub tty: bool,
    pub approvals: Approvals,
}

/// Submits `contract` to the orchestrator at `url`, follows it and writes
/// the progress to `out`; the exit code.
pub async fn run_goal(url: &str, contract: &TaskContract, how: Follow, out: &mut dyn Write) -> u8 {
    match follow_goal(url, contract, how, out).await {
        Ok(code) => code,
        Err(e) => {
            if how.json {
                task::error_json(out, &e);
            } else {
                task::error(out, &e);
            }
            exit_code(&e)
        }
    }
}

async fn follow_goal(
    url: &str,
    contract: &TaskContract,
    how: Follow,
    out: &mut dyn Write,
) -> Result<u8, ClientError> {
    let api = client(url)?;
    let id = api.submit(contract).await?.task_id;
    let mut progress = Progress::new(out, how.tty, how.json);
    progress.line(&format!("Task {id}"));
    if follow_events(&api, &id, how.approvals, &mut progress)
        .await
        .is_err()
    {
        // The stream broke; poll until the task ends.
        while !api.get(&id).await?.status.is_terminal() {
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
    let task = api.get(&id).await?;
    progress.finish(&task);
    Ok(if task.status == TaskStatus::Completed {
        0
    } else {
        1
    })
}

async fn follow_events(
    api: &OrchestratorClient,
    id: &str,
    approvals: Approvals,
    progress: &mut Progress<'_>,
) -> Result<(), ClientError> {
    let mut events = api.events(id).await?;
    let mut tick = tokio::time::interval(SPIN_EVERY);
    loop {
        tokio::select! {
            ev = events.next() => match ev? {
                Some(ev) => {
                    progress.event(&ev);
                    if ev.kind == "approval_requested" {
                        let step = ev.step.unwrap_or(0);
                        approval(api, id, step, approvals, progress).await;
                    }
                }
                None => return Ok(()),
            },
            _ = tick.tick() => progress.spin(),
        }
    }
}

/// Acts on one step waiting for approval, as `approvals` says.
async fn approval(
    api: &OrchestratorClient,
    id: &str,
    step: u32,
    approvals: Approvals,
    progress: &mut Progress<'_>,
) {
    let (approve, reason) = match approvals {
        Approvals::Tell => {
            let url = api.base_url();
            progress.line(&format!(
                "  Waiting. To decide, run one of:\n    \
                 octollm tasks approve {id} {step} --url {url}\n    \
                 octollm tasks reject {id} {step} --url {url} --reason \"…\""
            ));
            return;
        }
        Approvals::All => (true, "approved by octollm run --approve-all"),
        Approvals::Ask => {
            progress.prompt(&format!("  Approve step {step}? [y/N] "));
            let answer = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|_| line)
            })
            .await;
            match answer {
                Ok(Ok(line)) if matches!(line.trim(), "y" | "Y" | "yes" | "Yes" | "YES") => {
                    (true, "approved at the terminal")
                }
                _ => (false, "declined at the terminal"),
            }
        }
    };
    match api.decide(id, step, approve, Some(reason)).await {
        Ok(_) => progress.line(&format!(
            "  Step {step} {}",
            if approve { "approved" } else { "rejected" }
        )),
        Err(e) => progress.line(&format!("  Could not decide on step {step}: {e}")),
    }
}
