//! The checks that talk to something: the database, Redis, the LLM
//! providers, and whoever holds a port that is taken. Each is bounded by a
//! short timeout, so an address that swallows packets costs seconds, not
//! the providers' own deadlines.

use std::time::Duration;

use octollm_llm::{LlmClient, LlmConfig, LlmError};
use octollm_orchestrator::store::{Migrations, Store};
use octollm_server::MetricsRegistry;

use super::host::Port;
use super::{Check, Status};
use crate::config::{env_name, shown, Config};

const DATABASE_WAIT: Duration = Duration::from_secs(5);
const REDIS_WAIT: Duration = Duration::from_secs(3);
const LLM_WAIT: Duration = Duration::from_secs(10);
const HEALTH_WAIT: Duration = Duration::from_secs(1);

/// A port that is taken by this configuration's own component, already
/// running, is only a warning: the doctor is being run next to a live
/// system. Anything else holding it stays a failure.
pub async fn identify_listener(port: Port) -> Check {
    if !port.in_use {
        return port.check;
    }
    let Some(addr) = port.addr else {
        return port.check;
    };
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = format!("http://{host}:{}/health", addr.port());
    let answer = async {
        let res = reqwest::Client::new()
            .get(&url)
            .timeout(HEALTH_WAIT)
            .send()
            .await
            .ok()?;
        res.json::<serde_json::Value>().await.ok()
    };
    let body = answer.await.unwrap_or_default();
    let service = body.get("service").and_then(|v| v.as_str());
    if service != Some(port.component.name()) {
        return port.check;
    }
    let version = body.get("version").and_then(|v| v.as_str()).unwrap_or("");
    let mut check = port.check;
    check.detail = format!(
        "{addr} is in use by a running OctoLLM {} {version}",
        port.component.name()
    );
    check.with(
        Status::Warn,
        "fine when checking a running system; another `octollm up` with this configuration cannot start until it stops",
    )
}

/// The task store: reachable, its version, and this build's migrations
/// against the ones applied. Nothing is created or migrated.
pub async fn database(config: &Config) -> Check {
    const NAME: &str = "database";
    let url = config.orchestrator.database_url.trim();
    let setting = format!(
        "DATABASE_URL ({}, [orchestrator] database_url)",
        env_name("orchestrator", "database_url")
    );
    let status = match Store::inspect(&config.orchestrator, DATABASE_WAIT).await {
        Ok(s) => s,
        Err(e) => {
            let (what, hint) = if url.is_empty() || url.starts_with("sqlite:") {
                (
                    "SQLite".to_string(),
                    "check the database file's permissions and that no other program locks it"
                        .to_string(),
                )
            } else if e.is_missing_database() {
                (
                    format!("PostgreSQL {}", shown("orchestrator.database_url", url)),
                    "create the database (createdb, or CREATE DATABASE): the orchestrator makes its tables, not the database".to_string(),
                )
            } else {
                (
                    format!("PostgreSQL {}", shown("orchestrator.database_url", url)),
                    format!(
                        "is PostgreSQL running and reachable there? check host, port, user, password and database in {setting}"
                    ),
                )
            };
            return Check::fail(NAME, format!("{what}: {e}"), hint);
        }
    };
    let kind = match status.backend {
        "postgres" => "PostgreSQL",
        _ => "SQLite",
    };
    let m = &status.migrations;
    if !status.exists {
        return Check::ok(
            NAME,
            format!(
                "{kind} at {}: not created yet; the orchestrator creates it and applies {} migrations at start",
                status.location,
                m.known.len()
            ),
        );
    }
    let at = format!("{kind} {} at {}", status.server_version, status.location);
    let (state, hint) = migration_state(m);
    Check::ok(NAME, format!("{at}: {}", state.1)).with(state.0, hint)
}

/// What the recorded migrations mean for starting this build: the cases the
/// orchestrator refuses at start fail.
fn migration_state(m: &Migrations) -> ((Status, String), String) {
    let list = |v: &[i64]| {
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let backups = "docs/operations.md#backups";
    let known = m.known.len();
    if !m.unknown.is_empty() {
        return (
            (
                Status::Fail,
                format!(
                    "migrated by a newer OctoLLM (versions {} unknown to this one); this build refuses to start on it",
                    list(&m.unknown)
                ),
            ),
            "run the OctoLLM version that migrated it, or restore a backup taken before".into(),
        );
    }
    if !m.failed.is_empty() {
        return (
            (
                Status::Fail,
                format!("migrations {} did not finish", list(&m.failed)),
            ),
            format!("restore the backup taken before the upgrade ({backups}), then start again"),
        );
    }
    if !m.modified.is_empty() {
        return (
            (
                Status::Fail,
                format!(
                    "migrations {} were applied from another text than this build's",
                    list(&m.modified)
                ),
            ),
            "run the build that applied them: the orchestrator refuses an edited migration".into(),
        );
    }
    if m.applied.len() == known {
        return (
            (Status::Ok, format!("all {known} migrations applied")),
            String::new(),
        );
    }
    if m.applied.is_empty() {
        return (
            (
                Status::Ok,
                format!("empty; the orchestrator applies the {known} migrations at start"),
            ),
            String::new(),
        );
    }
    (
        (
            Status::Warn,
            format!(
                "{} of {known} migrations applied; {} pending, applied when the orchestrator starts",
                m.applied.len(),
                list(&m.pending)
            ),
        ),
        format!("back the database up before the new version starts ({backups})"),
    )
}

/// Each distinct Redis the reflex, the planner and the gateway are
/// configured with answers, and its version.
pub async fn redis(config: &Config) -> Check {
    const NAME: &str = "redis";
    let mut urls: Vec<(String, Vec<&str>)> = Vec::new();
    for (who, url) in [
        ("reflex", config.reflex.redis_url.trim()),
        ("planner", config.planner.redis_url.trim()),
        ("gateway", config.gateway.redis_url.trim()),
    ] {
        if url.is_empty() {
            continue;
        }
        match urls.iter_mut().find(|(u, _)| u == url) {
            Some((_, users)) => users.push(who),
            None => urls.push((url.to_string(), vec![who])),
        }
    }
    if urls.is_empty() {
        return Check::ok(
            NAME,
            "not configured: the reflex, the planner and the gateway keep caches and limits in-process",
        );
    }
    let mut worst = Status::Ok;
    let mut details = Vec::new();
    for (url, users) in &urls {
        let label = format!(
            "{} ({})",
            shown("reflex.redis_url", url),
            users.join(" and ")
        );
        match octollm_reflex::redis_link::server_version(url, REDIS_WAIT).await {
            Ok(v) if v.is_empty() => details.push(format!("{label}: answers")),
            Ok(v) => details.push(format!("{label}: Redis {v}")),
            Err(e) => {
                worst = Status::Fail;
                details.push(format!("{label}: {e}"));
            }
        }
    }
    Check::ok(NAME, details.join("; ")).with(
        worst,
        format!(
            "is Redis running and reachable there? check REDIS_URL ({}, {}, {}); unreachable, the reflex and the planner fall back to in-process state and the gateway refuses requests with a key",
            env_name("reflex", "redis_url"),
            env_name("planner", "redis_url"),
            env_name("gateway", "redis_url")
        ),
    )
}

/// One provider slot of `[llm]`: the primary or the fallback.
struct Slot<'a> {
    check: &'static str,
    kind: &'a str,
    base_url: &'a str,
    model: &'a str,
    api_key: &'a str,
    /// The `[llm]` keys of this slot, for hints.
    prefix: &'static str,
}

/// The configured providers: their key is there, and a model list comes
/// back through it.
pub async fn llm(config: &Config) -> Vec<Check> {
    let cfg = &config.llm;
    let slots = [
        Slot {
            check: "llm",
            kind: &cfg.provider,
            base_url: &cfg.base_url,
            model: &cfg.model,
            api_key: &cfg.api_key,
            prefix: "",
        },
        Slot {
            check: "llm.fallback",
            kind: &cfg.fallback_provider,
            base_url: &cfg.fallback_base_url,
            model: &cfg.fallback_model,
            api_key: &cfg.fallback_api_key,
            prefix: "fallback_",
        },
    ];
    let configured = |s: &Slot| !matches!(s.kind.trim(), "" | "none");
    let mut checks = Vec::new();
    for slot in slots.iter().filter(|s| configured(s)) {
        checks.push(provider(cfg, slot).await);
    }
    if checks.is_empty() {
        checks.push(Check::ok(
            "llm",
            "none configured: the built-in planner plans",
        ));
    }
    checks
}

async fn provider(cfg: &LlmConfig, slot: &Slot<'_>) -> Check {
    let key_env = env_name("llm", &format!("{}api_key", slot.prefix));
    let base_env = env_name("llm", &format!("{}base_url", slot.prefix));
    let model_env = env_name("llm", &format!("{}model", slot.prefix));
    let kind = slot.kind.trim().to_ascii_lowercase();
    let anthropic = kind == "anthropic";
    let or = |v: &str, default: &str| match v.trim() {
        "" => default.to_string(),
        v => v.to_string(),
    };
    let (default_base, default_model) = if anthropic {
        (
            octollm_llm::anthropic::DEFAULT_BASE_URL,
            octollm_llm::anthropic::DEFAULT_MODEL,
        )
    } else {
        (
            octollm_llm::openai::DEFAULT_BASE_URL,
            octollm_llm::openai::DEFAULT_MODEL,
        )
    };
    let base = or(slot.base_url, default_base);
    let model = or(slot.model, default_model);
    let at = format!("{kind} at {base}");
    let keyless = slot.api_key.trim().is_empty();
    // The vendors' own APIs refuse every call without a key; a local
    // OpenAI-compatible server usually wants none.
    if keyless && (anthropic || slot.base_url.trim().is_empty()) {
        return Check::fail(
            slot.check,
            format!("{at}: no API key"),
            format!("set {key_env} ([llm] {}api_key)", slot.prefix),
        );
    }
    // This slot alone, as the primary of a client of its own.
    let single = LlmConfig {
        provider: slot.kind.to_string(),
        base_url: slot.base_url.to_string(),
        model: slot.model.to_string(),
        api_key: slot.api_key.to_string(),
        fallback_provider: String::new(),
        ..cfg.clone()
    };
    let client = match LlmClient::from_config(&single, &MetricsRegistry::new("doctor")) {
        Ok(c) => c,
        Err(e) => {
            return Check::fail(
                slot.check,
                e.to_string(),
                format!(
                    "set {} to openai (any OpenAI-compatible server) or anthropic, and the [llm] numbers to valid values",
                    env_name("llm", &format!("{}provider", slot.prefix))
                ),
            )
        }
    };
    let wait = Duration::try_from_secs_f64(cfg.timeout_seconds)
        .unwrap_or(LLM_WAIT)
        .min(LLM_WAIT);
    let Some((_, listed)) = client.list_models(wait).await.into_iter().next() else {
        return Check::fail(
            slot.check,
            format!("{at}: no provider built"),
            "report this",
        );
    };
    let credential = if keyless { "answered" } else { "key accepted" };
    match listed {
        Ok(ids) if lists(&ids, &model) => Check::ok(
            slot.check,
            format!("{at}: {credential}, {model} listed ({} models)", ids.len()),
        ),
        Ok(ids) => Check::warn(
            slot.check,
            format!(
                "{at}: {credential}, but {model} is not among the {} models listed",
                ids.len()
            ),
            format!(
                "set {model_env} ([llm] {}model) to one it lists{}",
                slot.prefix,
                sample(&ids)
            ),
        ),
        Err(e @ LlmError::Auth { .. }) => Check::fail(
            slot.check,
            format!("{at}: the key was refused: {e}"),
            format!("check {key_env} ([llm] {}api_key)", slot.prefix),
        ),
        Err(LlmError::Rejected { status: 404, .. }) => Check::warn(
            slot.check,
            format!(
                "{at}: answers, but lists no models (404), so the key and the model are unproven"
            ),
            format!(
                "check {base_env} ([llm] {}base_url) is the API root",
                slot.prefix
            ),
        ),
        Err(e @ (LlmError::Connect { .. } | LlmError::Timeout { .. })) => Check::fail(
            slot.check,
            format!("unreachable: {e}"),
            format!(
                "is the server running? check {base_env} ([llm] {}base_url)",
                slot.prefix
            ),
        ),
        Err(e) => Check::fail(
            slot.check,
            e.to_string(),
            format!(
                "check {base_env} ([llm] {p}base_url) and {key_env} ([llm] {p}api_key)",
                p = slot.prefix
            ),
        ),
    }
}

/// Whether `model` is listed: exactly, or as an alias ending in `-latest`
/// whose dated snapshots are what Anthropic lists.
fn lists(ids: &[String], model: &str) -> bool {
    let stem = model.strip_suffix("latest");
    ids.iter()
        .any(|id| id == model || stem.is_some_and(|s| id.starts_with(s)))
}

/// `, e.g. a, b, c` from the list, or nothing when it is empty.
fn sample(ids: &[String]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let first: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = if ids.len() > first.len() { ", …" } else { "" };
    format!(", e.g. {}{more}", first.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_match_their_snapshots_only() {
        let ids = vec![
            "claude-3-5-haiku-20241022".to_string(),
            "gpt-4o-mini".into(),
        ];
        assert!(lists(&ids, "gpt-4o-mini"));
        assert!(lists(&ids, "claude-3-5-haiku-latest"));
        assert!(!lists(&ids, "claude-3-7-sonnet-latest"));
        assert!(!lists(&ids, "gpt-4o"));
    }

    fn migrations(applied: &[i64], pending: &[i64]) -> Migrations {
        Migrations {
            known: (1..=7).collect(),
            applied: applied.to_vec(),
            pending: pending.to_vec(),
            ..Migrations::default()
        }
    }

    #[test]
    fn migration_states_fail_where_the_orchestrator_would_refuse_to_start() {
        let all: Vec<i64> = (1..=7).collect();
        assert_eq!(migration_state(&migrations(&all, &[])).0 .0, Status::Ok);
        assert_eq!(migration_state(&migrations(&[], &all)).0 .0, Status::Ok);
        let upgrade = migration_state(&migrations(&[1, 2, 3, 4, 5], &[6, 7]));
        assert_eq!(upgrade.0 .0, Status::Warn);
        assert!(upgrade.0 .1.contains("6, 7"), "{}", upgrade.0 .1);
        let newer = Migrations {
            unknown: vec![8],
            ..migrations(&all, &[])
        };
        assert_eq!(migration_state(&newer).0 .0, Status::Fail);
        let edited = Migrations {
            modified: vec![3],
            ..migrations(&[1, 2, 4, 5, 6, 7], &[])
        };
        assert_eq!(migration_state(&edited).0 .0, Status::Fail);
    }
}
