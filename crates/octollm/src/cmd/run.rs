//! `octollm run "<goal>"` and `octollm tasks …`: drive an orchestrator.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::cmd::serve::{runtime, Component};
use crate::config::Config;

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
}

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
}

fn local_url(config: &Config) -> String {
    let host = match config.server.bind.as_str() {
        "0.0.0.0" | "::" | "" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    format!("http://{host}:{}", config.server.orchestrator_port)
}

async fn answers(url: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build();
    match client {
        Ok(c) => c
            .get(format!("{url}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
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
        let code = octollm_orchestrator::cli::run_goal(
            &target,
            &args.goal,
            &args.criteria,
            args.max_time,
            args.json,
        )
        .await;
        if let Some(system) = embedded {
            system.shutdown().await;
        }
        Ok(ExitCode::from(code.clamp(0, 255) as u8))
    })
}

pub fn tasks(config: Config, args: TasksArgs) -> Result<ExitCode> {
    let url = args.url.clone().unwrap_or_else(|| local_url(&config));
    let code = runtime()?.block_on(async move {
        match args.command {
            TasksCommand::List { status, limit } => {
                octollm_orchestrator::cli::tasks_list(&url, status.as_deref(), limit, args.json)
                    .await
            }
            TasksCommand::Show { id } => {
                octollm_orchestrator::cli::tasks_show(&url, &id, args.json).await
            }
            TasksCommand::Cancel { id } => {
                octollm_orchestrator::cli::tasks_cancel(&url, &id, args.json).await
            }
        }
    });
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
