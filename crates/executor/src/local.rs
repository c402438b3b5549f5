//! One command run for a local operator (`octollm exec`): the same policy,
//! sandbox and audit log as the HTTP path, with the output handed to the
//! caller chunk by chunk as it arrives. No token: the operator is local.

use std::time::Duration;

use octollm_sandbox::{ExecSpec, Stream};
use serde_json::json;
use tokio::sync::OwnedSemaphorePermit;

use crate::executor::Executor;
use crate::provenance::{command_hash, now};
use crate::ExecutorError;

/// Exit status reported when the command hit its timeout (as `timeout(1)`).
pub const TIMEOUT_EXIT: i32 = 124;

impl Executor {
    /// Runs `command args` in the sandbox on the calling thread (a one-shot
    /// `octollm exec` needs no async runtime), passing each output chunk to
    /// `sink` as it arrives, up to the output caps. Waits for a free
    /// concurrency permit. Returns the exit status: the exit code, 128 +
    /// signal when killed, [`TIMEOUT_EXIT`] on timeout.
    pub fn run_local_blocking<F>(
        &self,
        command: &str,
        args: &[String],
        timeout: Duration,
        sink: F,
    ) -> Result<i32, ExecutorError>
    where
        F: FnMut(Stream, &[u8]) + Send + 'static,
    {
        self.policy
            .check(command, args)
            .map_err(ExecutorError::Denied)?;
        let this = self.local_run(command, args, timeout)?;
        let permits = self.permits.clone();
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(ExecutorError::ShuttingDown),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .map_err(|e| ExecutorError::Task("execution", e.to_string()))?
                    .block_on(permits.acquire_owned())
                    .map_err(|_| ExecutorError::ShuttingDown)?
            }
        };
        let outcome = this.run(permit, sink);
        self.finish_local(command, args, outcome)
    }

    fn local_run(
        &self,
        command: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<LocalRun, ExecutorError> {
        let sandbox = match &self.sandbox {
            Ok(sb) => sb.clone(),
            Err(e) => return Err(ExecutorError::SandboxUnavailable(e.clone())),
        };
        Ok(LocalRun {
            sandbox,
            spec: ExecSpec {
                program: command.to_string(),
                args: args.to_vec(),
                stdin: Vec::new(),
                timeout,
                workspace: None,
            },
        })
    }

    /// The exit status of a finished run, audited with its layers.
    fn finish_local(
        &self,
        command: &str,
        args: &[String],
        outcome: Result<octollm_sandbox::ExecOutcome, octollm_sandbox::SandboxError>,
    ) -> Result<i32, ExecutorError> {
        let outcome = outcome?;
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

/// What one local execution needs, owned so it can move to another thread.
struct LocalRun {
    sandbox: std::sync::Arc<octollm_sandbox::Sandbox>,
    spec: ExecSpec,
}

impl LocalRun {
    fn run<F>(
        self,
        permit: OwnedSemaphorePermit,
        mut sink: F,
    ) -> Result<octollm_sandbox::ExecOutcome, octollm_sandbox::SandboxError>
    where
        F: FnMut(Stream, &[u8]),
    {
        let _permit = permit;
        self.sandbox.run(&self.spec, &mut sink)
    }
}
