//! `octollm exec -- CMD ARGS…`: run one command in the executor's sandbox
//! here, streaming its output to the terminal, exiting with its exit code.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use octollm_executor::{Executor, Stream};

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

/// Writes one output chunk to our own stdout or stderr. A closed terminal
/// must not abort the run, so output is best effort.
fn to_terminal(stream: Stream, chunk: &[u8]) {
    let _ = match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(chunk).and_then(|_| out.flush())
        }
        Stream::Stderr => std::io::stderr().lock().write_all(chunk),
    };
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
    let timeout = Duration::from_secs_f64(secs);
    let code = crate::cmd::serve::runtime()?.block_on(async {
        let executor = Executor::start(config.executor).await?;
        executor
            .run_local(command, rest, timeout, to_terminal)
            .await
    })?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
