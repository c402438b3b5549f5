//! `octollm`: one binary for every OctoLLM component and the command line
//! that drives them.

mod arms;
mod cmd;
mod config;
mod logging;
mod render;
mod telemetry;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "octollm",
    version,
    about = "OctoLLM: screened, planned, sandboxed LLM-agent tasks"
)]
struct Cli {
    /// TOML configuration file (settings can also come from OCTOLLM_* env vars).
    #[arg(long, global = true, env = "OCTOLLM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ConfigArgs {
    /// List every setting with its environment variable and default instead.
    #[arg(long)]
    defaults: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run all five components in one process (SQLite, in-process cache, built-in planner by default).
    Up(cmd::up::UpArgs),
    /// Submit a goal and follow it live (starts an in-process system when none is running).
    Run(cmd::run::RunArgs),
    /// List, show or cancel tasks.
    Tasks(cmd::tasks::TasksArgs),
    /// Run one component as an HTTP service.
    Serve(cmd::serve::ServeArgs),
    /// Screen a text for PII and prompt injection (exit 0 safe, 1 unsafe).
    Scan(cmd::scan::ScanArgs),
    /// Plan a goal and print the plan (built-in planner unless an LLM is configured).
    Plan(cmd::plan::PlanArgs),
    /// Run a command in the executor's sandbox on this machine.
    Exec(cmd::exec::ExecArgs),
    /// Serve OctoLLM's tools to an MCP client over stdio (screen, run a command, plan, run and look at tasks).
    Mcp(cmd::mcp::McpArgs),
    /// Check this host and configuration: kernel features, ports, data directory, database, Redis, LLM provider, token secret (exit 0 when nothing fails, 1 otherwise).
    Doctor(cmd::doctor::DoctorArgs),
    /// Every setting as in force here: its value and where it came from (default, the file, an environment variable).
    Config(ConfigArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Config(args) = &cli.command {
        return show_config(cli.config.as_deref(), args.defaults);
    }
    let config = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(config, args),
        Command::Run(args) => cmd::run::run(config, args),
        Command::Tasks(args) => cmd::tasks::run(config, args),
        Command::Serve(args) => cmd::serve::run(config, args),
        Command::Scan(args) => cmd::scan::run(config, args),
        Command::Plan(args) => cmd::plan::run(config, args),
        Command::Exec(args) => cmd::exec::run(config, args),
        Command::Mcp(args) => cmd::mcp::run(config, args),
        Command::Doctor(args) => cmd::doctor::run(config, args),
        Command::Config(_) => Ok(show_config(cli.config.as_deref(), false)),
    };
    // The spans of the last moments are still queued for export.
    telemetry::shutdown();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `octollm config`: the effective settings, or with `--defaults` every
/// setting with its environment variable and default.
fn show_config(file: Option<&std::path::Path>, defaults: bool) -> ExitCode {
    use std::io::Write as _;
    // A reader that stops early (`octollm config | head`) ends the listing,
    // not the process with a panic.
    let mut out = std::io::stdout().lock();
    if defaults {
        for s in config::Config::settings() {
            if writeln!(out, "{:<40} {:<44} {}", s.key, s.env, s.default).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    match config::Config::effective(file, &env) {
        Ok(settings) => {
            for s in settings {
                if writeln!(out, "{:<40} {:<44} {}", s.key, s.value, s.source).is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
