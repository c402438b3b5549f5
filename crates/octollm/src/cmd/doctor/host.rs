//! The checks of this host that need no network: the kernel features the
//! sandbox is built from, the ports, the data directory, the token secret.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use octollm_sandbox::{CgroupVersion, HostSupport, Layer};

use super::{Check, Status};
use crate::cmd::serve::{socket_addr, Component};
use crate::config::{env_name, Config};

/// Free space under which the data directory is a warning, and a failure.
const LOW_SPACE: u64 = 1 << 30;
const NO_SPACE: u64 = 64 << 20;

/// Shorter secrets than this are a warning: 32 random bytes is what the
/// docs generate, and HMAC-SHA256 gains nothing from more.
const STRONG_SECRET_BYTES: usize = 32;

/// The kernel features, one check each, then the sandbox as the executor
/// would build it with this configuration.
pub fn kernel(config: &Config) -> Vec<Check> {
    let host = HostSupport::probe();
    let sandbox = config.executor.sandbox_config();
    let allow = config.executor.allow_degraded;
    let degraded_hint = format!(
        "or set {}=true to run without it (weaker isolation, listed in every provenance record)",
        env_name("executor", "allow_degraded")
    );
    // Optional layers: missing is a failure unless degraded mode is allowed,
    // the rule the sandbox itself applies.
    let optional = |name: &str, ok: bool, detail: String, fix: &str| {
        let status = match (ok, allow) {
            (true, _) => Status::Ok,
            (false, true) => Status::Warn,
            (false, false) => Status::Fail,
        };
        Check::ok(name, detail).with(status, format!("{fix}; {degraded_hint}"))
    };
    // Whether a layer is in force is the sandbox's own reading of the probe.
    let ready = host.readiness(&sandbox);
    let has = |layers: &[Layer]| layers.iter().all(|l| !ready.missing.contains(l));
    let mut checks = Vec::new();
    checks.push(if has(&[Layer::UserNs]) {
        Check::ok("kernel.user_namespaces", "available")
    } else {
        Check::fail(
            "kernel.user_namespaces",
            "disabled (user.max_user_namespaces is 0): no sandbox at all",
            "sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it); in a container, allow unshare(CLONE_NEWUSER) (see docs/security.md)",
        )
    });
    let seccomp = has(&[Layer::Seccomp]);
    let detail = if seccomp {
        "available"
    } else {
        "not available"
    };
    checks.push(optional(
        "kernel.seccomp",
        seccomp,
        detail.into(),
        "use a kernel built with CONFIG_SECCOMP_FILTER (x86_64 or aarch64)",
    ));
    let abi = host.landlock_abi;
    checks.push(optional(
        "kernel.landlock",
        has(&[Layer::Landlock, Layer::LandlockNet]),
        match abi {
            0 => "not enabled".to_string(),
            1..=3 => format!("ABI {abi}: file rules only, no TCP rules (ABI 4, Linux 6.7)"),
            _ => format!("ABI {abi}: file and TCP rules"),
        },
        "use Linux 6.7 or later with Landlock among the LSMs (boot parameter lsm=…,landlock)",
    ));
    checks.push(cgroups(
        &host,
        has(&[Layer::CgroupMemory, Layer::CgroupPids, Layer::CgroupCpu]),
        &optional,
    ));
    let names = |layers: &[Layer]| {
        layers
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    checks.push(match ready.verdict(allow) {
        Ok(()) if ready.missing.is_empty() => {
            Check::ok("sandbox", format!("every layer ({})", ready.layers.len()))
        }
        Ok(()) => Check::warn(
            "sandbox",
            format!(
                "degraded: without {} ({} allowed)",
                names(&ready.missing),
                env_name("executor", "allow_degraded")
            ),
            "fix the kernel checks above to get every layer back",
        ),
        Err(_) if ready.missing.iter().any(|l| !l.is_optional()) => Check::fail(
            "sandbox",
            format!(
                "unavailable: without {}; the executor refuses every command",
                names(&ready.missing)
            ),
            "fix the kernel checks above; these layers are never optional",
        ),
        Err(_) => Check::fail(
            "sandbox",
            format!(
                "without {}; the executor refuses every command (fail closed)",
                names(&ready.missing)
            ),
            format!("fix the kernel checks above, {degraded_hint}"),
        ),
    });
    checks
}

/// The cgroup controllers the sandbox limits with: found, in which
/// hierarchy, and delegated to this process.
fn cgroups(
    host: &HostSupport,
    in_force: bool,
    optional: &dyn Fn(&str, bool, String, &str) -> Check,
) -> Check {
    let controllers = host.cgroups.controllers();
    let shown: Vec<String> = controllers
        .iter()
        .map(|c| match (c.version, c.delegated) {
            (None, _) => format!("{} missing", c.name),
            (Some(v), d) => format!(
                "{} {}{}",
                c.name,
                match v {
                    CgroupVersion::V1 => "v1",
                    CgroupVersion::V2 => "v2",
                },
                if d { "" } else { " (not delegated)" }
            ),
        })
        .collect();
    optional(
        "kernel.cgroups",
        in_force,
        shown.join(", "),
        "run OctoLLM in a cgroup whose memory, pids and cpu controllers it may manage (systemd: Delegate=yes; a container: a writable cgroup mount)",
    )
}

/// One component's port as found.
pub struct Port {
    pub component: Component,
    pub addr: Option<std::net::SocketAddr>,
    /// Something listens there already.
    pub in_use: bool,
    pub check: Check,
}

/// Each component's port, free to bind on the configured address.
pub fn ports(config: &Config) -> Vec<Port> {
    let bind = &config.server.bind;
    let bind_fix = format!(
        "set {} ([server] bind) to an address of this host",
        env_name("server", "bind")
    );
    let mut seen: Vec<(u16, &str)> = Vec::new();
    let mut out = Vec::new();
    for component in Component::ALL {
        let key = format!("{}_port", component.name());
        let fix = format!(
            "set {} ([server] {key}) to a free port",
            env_name("server", &key)
        );
        let name = format!("port.{}", component.name());
        let port = component.port(config);
        let mut found = Port {
            component,
            addr: None,
            in_use: false,
            check: Check::ok(name.clone(), ""),
        };
        if let Some((_, other)) = seen.iter().find(|(p, _)| *p == port && port != 0) {
            found.check = Check::fail(name, format!("{port} is also the {other}'s port"), fix);
            out.push(found);
            continue;
        }
        seen.push((port, component.name()));
        let addr = match socket_addr(bind, port) {
            Ok(a) => a,
            Err(e) => {
                found.check = Check::fail(name, format!("{e:#}"), bind_fix.clone());
                out.push(found);
                continue;
            }
        };
        found.addr = Some(addr);
        found.check = match std::net::TcpListener::bind(addr) {
            Ok(_) if port == 0 => Check::ok(name, format!("{bind}, a port the system picks")),
            Ok(_) => Check::ok(name, format!("{addr} is free")),
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                found.in_use = true;
                Check::fail(
                    name,
                    format!("{addr} is in use"),
                    format!("stop what listens there (another octollm?) or {fix}"),
                )
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => Check::fail(
                name,
                format!("{addr}: binding is not permitted ({e})"),
                format!("ports under 1024 need privilege; {fix}"),
            ),
            Err(e) => Check::fail(
                name,
                format!("{addr}: {e}"),
                format!("{bind_fix}, or {fix}"),
            ),
        };
        out.push(found);
    }
    out
}

/// Every directory the components keep state in: there or creatable,
/// writable, with room. `starting` (under `octollm up`): a nearly full
/// filesystem is a warning, not a failure, because the system runs on it
/// (a write that does not fit is a 503 `STORE_FULL`, and it recovers once
/// space frees), where a directory it cannot write to is no system at all.
pub fn data_dir(config: &Config, starting: bool) -> Check {
    let dirs: BTreeSet<&str> = [
        config.server.data_dir.as_str(),
        config.orchestrator.data_dir.as_str(),
        config.executor.data_dir.as_str(),
    ]
    .into_iter()
    .collect();
    let fix = format!(
        "set {} ([server] data_dir, or `octollm up --data-dir`) to a writable directory",
        env_name("server", "data_dir")
    );
    let mut worst = Status::Ok;
    let mut details = Vec::new();
    let mut hints = Vec::new();
    for dir in dirs {
        let (status, detail, hint) = one_dir(Path::new(dir), &fix, starting);
        worst = worst.max(status);
        details.push(format!("{dir}: {detail}"));
        hints.extend(hint);
    }
    Check::ok("data_dir", details.join("; ")).with(worst, hints.join("; "))
}

fn one_dir(dir: &Path, fix: &str, starting: bool) -> (Status, String, Option<String>) {
    let fail = |detail: String| (Status::Fail, detail, Some(fix.to_string()));
    let (existing, exists) = match nearest_existing(dir) {
        Some(p) => {
            let exists = p == dir;
            (p, exists)
        }
        None => return fail("no part of the path exists".into()),
    };
    if !existing.is_dir() {
        return fail(format!("{} is not a directory", existing.display()));
    }
    let writable = if exists {
        probe_write(dir)
    } else {
        rustix::fs::access(&existing, rustix::fs::Access::WRITE_OK).map_err(std::io::Error::from)
    };
    if let Err(e) = writable {
        let what = if exists {
            "not writable".to_string()
        } else {
            format!("cannot be created in {}", existing.display())
        };
        return fail(format!("{what} ({e})"));
    }
    let state = if exists {
        "writable"
    } else {
        "will be created"
    };
    match rustix::fs::statvfs(&existing) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let detail = format!("{state}, {} free", human_bytes(free));
            if free < NO_SPACE {
                (
                    if starting { Status::Warn } else { Status::Fail },
                    detail,
                    Some("free some space on that filesystem, or move the data directory".into()),
                )
            } else if free < LOW_SPACE {
                (Status::Warn, detail, Some("less than 1 GiB free: the task database and the audit logs grow; free some space or move the data directory".into()))
            } else {
                (Status::Ok, detail, None)
            }
        }
        Err(e) => (
            Status::Warn,
            format!("{state}; free space unknown ({e})"),
            Some("check the filesystem holding it".into()),
        ),
    }
}

/// `dir` or its closest ancestor that exists.
fn nearest_existing(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    absolute
        .ancestors()
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}

/// Writes and removes a file in `dir`: the one test that catches read-only
/// mounts, ACLs and quotas alike.
fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".octollm-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

fn human_bytes(n: u64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if n as f64 >= GIB {
        format!("{:.1} GiB", n as f64 / GIB)
    } else {
        format!("{:.0} MiB", n as f64 / MIB)
    }
}

/// The capability-token secret the orchestrator signs with and the executor
/// checks. `one_process`: as `octollm up` uses it, one secret for both,
/// made up per process when none is set.
pub fn token_secret(config: &Config, one_process: bool) -> Check {
    const NAME: &str = "token_secret";
    let generate = "export OCTOLLM_TOKEN_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n') (it fills both the orchestrator's and the executor's token_secret)";
    let orchestrator = config.orchestrator.token_secret.as_str();
    let executor = config.executor.token_secret.as_str();
    let shared_queue = !config.orchestrator.database_url.trim().is_empty()
        && !config
            .orchestrator
            .database_url
            .trim()
            .starts_with("sqlite:");
    let (status, detail) = match (orchestrator.is_empty(), executor.is_empty()) {
        (true, true) if one_process && shared_queue => (
            Status::Warn,
            "not set: this process makes its own, so other orchestrators on this database cannot use its executor (TOKEN_MISSING)".to_string(),
        ),
        (true, true) if one_process => (
            Status::Ok,
            "not set: this process makes its own (one `octollm up` needs no more)".to_string(),
        ),
        (true, true) if shared_queue => (
            Status::Fail,
            "not set, with a shared PostgreSQL queue: every replica needs the same secret (`octollm up` makes one per process, `octollm serve executor` checks none)".to_string(),
        ),
        (true, true) => (
            Status::Warn,
            "not set: `octollm up` makes one per process; separately served components run without capability tokens (the executor accepts unsigned work)".to_string(),
        ),
        (false, false) if orchestrator != executor && one_process => (
            Status::Warn,
            "the orchestrator's and the executor's differ; `octollm up` uses the orchestrator's for both".to_string(),
        ),
        (false, false) if orchestrator != executor => (
            Status::Fail,
            "the orchestrator's and the executor's differ: the executor rejects every token".to_string(),
        ),
        (true, false) if !one_process => (
            Status::Fail,
            "only the executor has one: it requires tokens the orchestrator does not send (TOKEN_MISSING)".to_string(),
        ),
        (false, true) if !one_process => (
            Status::Warn,
            "only the orchestrator has one: the executor does not check the tokens".to_string(),
        ),
        _ => {
            let len = orchestrator.len().max(executor.len());
            if len < STRONG_SECRET_BYTES {
                (Status::Warn, format!("set, but weak: {len} bytes (fewer than {STRONG_SECRET_BYTES})"))
            } else {
                (Status::Ok, format!("set ({len} bytes), shared by the orchestrator and the executor"))
            }
        }
    };
    Check::ok(NAME, detail).with(status, generate)
}
