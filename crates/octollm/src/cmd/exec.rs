//! `octollm exec -- CMD ARGS…`: run one command in the executor's sandbox
//! here, streaming its output, exiting with its exit code.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::config::Config;

#[derive(Args)]
pub struct ExecArgs {
    /// Wall-clock limit in seconds (default: the executor's default timeout).
    #[arg(long)]
    timeout: Option<f64>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn run(config: Config, args: ExecArgs) -> Result<ExitCode> {
    let Some((command, rest)) = args.command.split_first() else {
        anyhow::bail!("give a command to run: octollm exec -- CMD ARGS…");
    };
    let secs = args
        .timeout
        .unwrap_or(config.executor.default_timeout_seconds);
    if !(secs.is_finite() && secs > 0.0) {
        anyhow::bail!("--timeout must be a positive number of seconds");
    }
    let code = crate::cmd::serve::runtime()?.block_on(octollm_executor::run_local(
        &config.executor,
        command,
        rest,
        Duration::from_secs_f64(secs),
        true,
    ))?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
