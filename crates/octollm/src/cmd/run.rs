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
use octollm_types::orchestrator::TaskView;
use octollm_types::task::{InputFile, TaskContract, TaskStatus};

use crate::cmd::serve::{runtime, Component};
use crate::cmd::{client, exit_code, local_url};
use crate::config::Config;
use crate::render::escape::Escaper;
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
    /// Attach a file (repeatable); every step sees it read-only at
    /// /workspace/in/<its name>.
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<std::path::PathBuf>,
    /// Save the task's artifacts (what its steps left in /workspace/out/)
    /// in this directory.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<std::path::PathBuf>,
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
            crate::logging::init(&quiet.server, "octollm");
            Some(crate::cmd::up::start(quiet, true).await?)
        } else {
            None
        };
        let target = embedded
            .as_ref()
            .map_or(url.clone(), |s| s.url(Component::Orchestrator).to_string());
        let mut contract = contract(&args.goal, &args.criteria, args.max_time);
        contract.files = attach(&args.files)?;
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
                output_dir: args.output_dir.as_deref(),
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
        files: Vec::new(),
        tokenize_pii: None,
    };
    if let Some(t) = max_time {
        contract.budget.max_time_seconds = t;
    }
    contract
}

/// Reads the files to attach; each is named by its file name.
fn attach(paths: &[std::path::PathBuf]) -> Result<Vec<InputFile>> {
    paths
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| anyhow::anyhow!("{} has no file name", p.display()))?;
            let bytes = std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
            Ok(InputFile::new(name, &bytes))
        })
        .collect()
}

/// How `octollm run` follows its task.
#[derive(Debug, Clone, Copy)]
pub struct Follow<'a> {
    /// Print the final task as JSON only.
    pub json: bool,
    /// The output is a terminal: the spinner is on.
    pub tty: bool,
    pub approvals: Approvals,
    /// Where to save the artifacts, if anywhere.
    pub output_dir: Option<&'a std::path::Path>,
}

/// Submits `contract` to the orchestrator at `url`, follows it and writes
/// the progress to `out`; the exit code.
pub async fn run_goal(
    url: &str,
    contract: &TaskContract,
    how: Follow<'_>,
    out: &mut dyn Write,
) -> u8 {
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
    how: Follow<'_>,
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
    artifacts(&api, &task, how.output_dir, &mut progress).await;
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

/// Says where the task's artifacts are and, with `--output-dir`, saves
/// them there.
async fn artifacts(
    api: &OrchestratorClient,
    task: &TaskView,
    dir: Option<&std::path::Path>,
    progress: &mut Progress<'_>,
) {
    if task.artifacts.is_empty() {
        return;
    }
    let base = format!("{}/api/v1/tasks/{}/artifacts", api.base_url(), task.task_id);
    progress.line(&format!("Artifacts ({base}/NAME):"));
    for a in &task.artifacts {
        let note = match (&a.skipped, a.redacted) {
            (Some(why), _) => format!("not kept: {why}"),
            (None, true) => format!("{} bytes, secrets redacted", a.size),
            (None, false) => format!("{} bytes", a.size),
        };
        let name = Escaper::default().push(a.name.as_bytes());
        let saved = match (dir, &a.skipped) {
            (Some(dir), None) => Some(save(api, &task.task_id, &a.name, dir).await),
            _ => None,
        };
        match saved {
            Some(Ok(path)) => {
                progress.line(&format!("  {name}  ({note}) saved to {}", path.display()))
            }
            Some(Err(e)) => progress.line(&format!("  {name}  ({note}) not saved: {e}")),
            None => progress.line(&format!("  {name}  ({note})")),
        }
    }
}

async fn save(
    api: &OrchestratorClient,
    id: &str,
    name: &str,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    // The name comes from the server; it must not lead out of `dir`.
    octollm_policy::files::check_name(name)?;
    let bytes = api.artifact(id, name).await.map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    Ok(path)
}
