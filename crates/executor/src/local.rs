//! One command run for a local operator (`octollm exec`): the same policy,
//! sandbox and audit log as the HTTP path, with the output handed to the
//! caller chunk by chunk as it arrives. No token: the operator is local.

use std::time::Duration;

use octollm_sandbox::{ExecSpec, Stream};
use serde_json::json;

use crate::executor::Executor;
use crate::provenance::{command_hash, now};
use crate::ExecutorError;

/// Exit status reported when the command hit its timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: i32 = 124;

impl Executor {
    /// Runs `command args` in the sandbox, passing each output chunk to
    /// `sink` (from the sandbox's thread, up to the output caps) as it
    /// arrives. Returns the exit status: the exit code, 128 + signal when
    /// killed, [`TIMEOUT_EXIT`] on timeout.
    pub async fn run_local<F>(
        &self,
        command: &str,
        args: &[String],
        timeout: Duration,
        mut sink: F,
    ) -> Result<i32, ExecutorError>
    where
        F: FnMut(Stream, &[u8]) + Send + 'static,
    {
        self.policy
            .check(command, args)
            .map_err(ExecutorError::Denied)?;
        let sandbox = match &self.sandbox {
            Ok(sb) => sb.clone(),
            Err(e) => return Err(ExecutorError::SandboxUnavailable(e.clone())),
        };
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ExecutorError::ShuttingDown)?;
        let spec = ExecSpec {
            program: command.to_string(),
            args: args.to_vec(),
            stdin: Vec::new(),
            timeout,
        };
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            sandbox.run(&spec, &mut sink)
        })
        .await
        .map_err(|e| ExecutorError::Task("execution", e.to_string()))??;
        let code = if outcome.timed_out {
            TIMEOUT_EXIT
        } else {
            outcome.status_code()
        };
        self.audit(json!({
            "ts": now(), "action": "local", "command": command, "args": args,
            "command_hash": command_hash(command, args), "exit_code": outcome.exit_code, "signal": outcome.signal,
            "timed_out": outcome.timed_out, "duration_ms": outcome.duration.as_millis() as u64,
            "layers": outcome.layers.iter().map(|l| l.name()).collect::<Vec<_>>(),
            "missing": outcome.missing.iter().map(|l| l.name()).collect::<Vec<_>>(),
        }));
        Ok(code)
    }
}
