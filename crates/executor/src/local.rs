//! `octollm exec -- CMD ARGS…`: the same policy and sandbox as the HTTP path,
//! run in-process with the output streamed to the terminal.

use std::io::Write;
use std::time::Duration;

use octollm_sandbox::{ExecSpec, Stream};
use serde_json::json;

use crate::audit::AuditLog;
use crate::config::ExecutorConfig;
use crate::policy::Policy;
use crate::provenance::command_hash;
use crate::service::start_sandbox;
use crate::ExecutorError;

/// Exit status reported when the command hit its timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: i32 = 124;

/// Runs one command locally; returns its exit code (128 + signal when
/// killed, 124 on timeout).
pub async fn run_local(
    config: &ExecutorConfig,
    command: &str,
    args: &[String],
    timeout: Duration,
    stream_to_terminal: bool,
) -> Result<i32, ExecutorError> {
    let policy = Policy::new(&config.allowed_commands);
    policy
        .check(command, args)
        .map_err(|d| ExecutorError::Denied(d.message()))?;
    let audit = AuditLog::open(&config.audit_path())?;
    let cfg = config.clone();
    let spec = ExecSpec {
        program: command.to_string(),
        args: args.to_vec(),
        stdin: Vec::new(),
        timeout,
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let sandbox = start_sandbox(&cfg)?;
        let mut sink = |stream: Stream, chunk: &[u8]| {
            if !stream_to_terminal {
                return;
            }
            // A closed terminal must not abort the run; output is best effort.
            let _ = match stream {
                Stream::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(chunk).and_then(|_| out.flush())
                }
                Stream::Stderr => std::io::stderr().lock().write_all(chunk),
            };
        };
        sandbox.run(&spec, &mut sink)
    })
    .await
    .map_err(|e| ExecutorError::Config(format!("execution task failed: {e}")))??;
    let code = if outcome.timed_out {
        TIMEOUT_EXIT
    } else {
        outcome.status_code()
    };
    let record = json!({
        "ts": chrono::Utc::now().to_rfc3339(), "action": "local", "command": command, "args": args,
        "command_hash": command_hash(command, args), "exit_code": outcome.exit_code, "signal": outcome.signal,
        "timed_out": outcome.timed_out, "duration_ms": outcome.duration.as_millis() as u64,
        "layers": outcome.layers.iter().map(|l| l.name()).collect::<Vec<_>>(),
        "missing": outcome.missing.iter().map(|l| l.name()).collect::<Vec<_>>(),
    });
    if let Err(e) = audit.append(&record) {
        tracing::error!(error = %e, "audit log write failed");
    }
    Ok(code)
}
