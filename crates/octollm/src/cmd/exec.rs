//! `octollm exec -- CMD ARGS…`: run one command in the executor's sandbox
//! here, streaming its output to the terminal, exiting with its exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use octollm_executor::{Executor, Stream};

use crate::config::Config;
use crate::render::escape::Escaper;

#[derive(Args)]
pub struct ExecArgs {
    /// Wall-clock limit in seconds (default: the executor's default timeout).
    #[arg(long)]
    timeout: Option<f64>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Where the command's output goes. On a terminal every control character
/// is escaped (see [`crate::render::escape`]); into a pipe or file the bytes stay raw.
struct Output {
    stdout: Option<Escaper>,
    stderr: Option<Escaper>,
}

impl Output {
    fn new() -> Output {
        Output {
            stdout: std::io::stdout().is_terminal().then(Escaper::default),
            stderr: std::io::stderr().is_terminal().then(Escaper::default),
        }
    }

    /// Writes one output chunk to our own stdout or stderr. A closed
    /// terminal must not abort the run, so output is best effort.
    fn write(&mut self, stream: Stream, chunk: &[u8]) {
        let escaper = match stream {
            Stream::Stdout => self.stdout.as_mut(),
            Stream::Stderr => self.stderr.as_mut(),
        };
        match escaper {
            Some(e) => emit(stream, e.push(chunk).as_bytes()),
            None => emit(stream, chunk),
        }
    }

    /// Shows what an escaper still holds (an unfinished character).
    fn finish(&mut self) {
        if let Some(e) = self.stdout.as_mut() {
            emit(Stream::Stdout, e.finish().as_bytes());
        }
        if let Some(e) = self.stderr.as_mut() {
            emit(Stream::Stderr, e.finish().as_bytes());
        }
    }
}

fn emit(stream: Stream, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let _ = match stream {
        Stream::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|_| out.flush())
        }
        Stream::Stderr => std::io::stderr().lock().write_all(bytes),
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
    let output = Arc::new(Mutex::new(Output::new()));
    let sink = {
        let output = Arc::clone(&output);
        move |stream: Stream, chunk: &[u8]| {
            if let Ok(mut out) = output.lock() {
                out.write(stream, chunk);
            }
        }
    };
    // One command needs no async runtime and not the service's start-up
    // self-test (see `Executor::start_local`).
    let code = Executor::start_local(config.executor)
        .and_then(|executor| executor.run_local_blocking(command, rest, timeout, sink));
    if let Ok(mut out) = output.lock() {
        out.finish();
    }
    let code = code?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
