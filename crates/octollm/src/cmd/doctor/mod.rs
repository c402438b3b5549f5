//! `octollm doctor [--json]`: is this host and this configuration ready to
//! run OctoLLM? Each check is `ok`, `warn` or `fail`, and every warning or
//! failure carries a hint for fixing it. The exit code is 0 when nothing
//! fails, 1 otherwise.
//!
//! The checks only look: nothing is created, migrated or started. They
//! reuse the components' own probes (the sandbox's host probe and its
//! degraded-mode rule, the store's migration list, the reflex's Redis link,
//! the provider layer's model list), so the doctor and the components
//! cannot disagree about what a setting means.
//!
//! `octollm up` runs the fast ones ([`fast`]: kernel, ports, data
//! directory, token secret; no network call) before it starts.

mod host;
mod services;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::config::Config;

#[derive(Args)]
pub struct DoctorArgs {
    /// Print one JSON document: {"checks": [{"name", "status", "detail", "hint"}], "ok"}.
    #[arg(long)]
    json: bool,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it; present on `warn` and `fail`.
    pub hint: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            hint: None,
        }
    }

    pub fn warn(
        name: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::ok(name, detail).with(Status::Warn, hint)
    }

    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        hint: impl Into<String>,
    ) -> Check {
        Check::ok(name, detail).with(Status::Fail, hint)
    }

    /// This check with `status`; the hint is kept only when it is not ok.
    pub fn with(mut self, status: Status, hint: impl Into<String>) -> Check {
        self.status = status;
        self.hint = (status != Status::Ok).then(|| hint.into());
        self
    }
}

/// Whether no check failed.
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}

/// The checks `octollm up` makes before it starts: no network call, no
/// more than a bind and a file write. `one_process` reads the token secret
/// as `octollm up` uses it (one secret for every component, made up when
/// none is set).
pub fn fast(config: &Config, one_process: bool) -> Vec<Check> {
    let mut checks = host::kernel(config);
    checks.extend(host::ports(config).into_iter().map(|p| p.check));
    checks.push(host::data_dir(config, one_process));
    checks.push(host::token_secret(config, one_process));
    checks
}

/// What `octollm up` checks before it binds anything: the fast checks,
/// their warnings and failures printed to stderr. A failure stops it,
/// except the sandbox's: without a sandbox the executor refuses commands
/// (fail closed, `/ready` 503) while screening and planning still work.
pub fn before_up(config: &Config) -> Result<()> {
    let checks = fast(config, true);
    let mut err = std::io::stderr().lock();
    for c in checks.iter().filter(|c| c.status != Status::Ok) {
        let _ = writeln!(err, "{:<5} {}: {}", c.status.as_str(), c.name, c.detail);
        if let Some(hint) = &c.hint {
            let _ = writeln!(err, "      hint: {hint}");
        }
    }
    let blocking: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .filter(|c| c.name != "sandbox" && !c.name.starts_with("kernel."))
        .map(|c| c.name.as_str())
        .collect();
    if !blocking.is_empty() {
        anyhow::bail!(
            "not starting: {} failed (`octollm doctor` checks everything)",
            blocking.join(", ")
        );
    }
    Ok(())
}

/// Every check, the slow ones (database, Redis, LLM provider) at once.
pub async fn all(config: &Config) -> Vec<Check> {
    let mut checks = host::kernel(config);
    for port in host::ports(config) {
        checks.push(services::identify_listener(port).await);
    }
    checks.push(host::data_dir(config, false));
    let (database, redis, llm) = tokio::join!(
        services::database(config),
        services::redis(config),
        services::llm(config)
    );
    checks.push(database);
    checks.push(redis);
    checks.extend(llm);
    checks.push(host::token_secret(config, false));
    checks
}

pub fn run(config: Config, args: DoctorArgs) -> Result<ExitCode> {
    let checks = crate::cmd::serve::runtime()?.block_on(all(&config));
    let mut out = std::io::stdout().lock();
    if args.json {
        /// The `--json` document, fields in this order.
        #[derive(Serialize)]
        struct Doc<'a> {
            checks: &'a [Check],
            ok: bool,
        }
        let doc = Doc {
            checks: &checks,
            ok: passed(&checks),
        };
        let text = serde_json::to_string_pretty(&doc)?;
        // A closed stdout cannot be reported anywhere; the exit code still is.
        let _ = writeln!(out, "{text}");
    } else {
        crate::render::doctor::table(&mut out, &checks);
    }
    Ok(if passed(&checks) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
