//! Configuration: built-in defaults, then an optional TOML file, then
//! `OCTOLLM_*` environment variables. Every setting has exactly one env
//! name, derived from its place in the file: `[reflex] cache_capacity` is
//! `OCTOLLM_REFLEX_CACHE_CAPACITY`; `[server]` settings drop the section
//! (`OCTOLLM_API_KEYS`). `REDIS_URL` and `DATABASE_URL` are honoured as the
//! conventional aliases.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use octollm_executor::ExecutorConfig;
use octollm_gateway::GatewayConfig;
use octollm_llm::LlmConfig;
use octollm_orchestrator::OrchestratorConfig;
use octollm_planner::PlannerConfig;
use octollm_reflex::ReflexConfig;
use serde::{Deserialize, Serialize};
use toml::Value;

/// Settings shared by every component.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerConfig {
    /// Address services bind to.
    pub bind: String,
    /// Port of the orchestrator.
    pub orchestrator_port: u16,
    /// Port of the reflex layer.
    pub reflex_port: u16,
    /// Port of the planner arm.
    pub planner_port: u16,
    /// Port of the executor arm.
    pub executor_port: u16,
    /// Port of the screening gateway (OpenAI- and Anthropic-compatible).
    pub gateway_port: u16,
    /// Comma-separated API keys; when set, every `/api/v1` call needs one.
    pub api_keys: String,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Log filter, e.g. `info` or `octollm_reflex=debug`.
    pub log_level: String,
    /// Where embedded state (SQLite database, audit log) lives.
    pub data_dir: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1".into(),
            orchestrator_port: 8000,
            reflex_port: 8001,
            planner_port: 8002,
            executor_port: 8003,
            gateway_port: 8004,
            api_keys: String::new(),
            body_limit_bytes: 1024 * 1024,
            log_format: "text".into(),
            log_level: "info".into(),
            data_dir: "./data".into(),
        }
    }
}

/// The whole configuration, one table per component.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub orchestrator: OrchestratorConfig,
    pub reflex: ReflexConfig,
    pub planner: PlannerConfig,
    pub executor: ExecutorConfig,
    pub gateway: GatewayConfig,
    pub llm: LlmConfig,
}

/// One setting as documented: file key, env name, default.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub env: String,
    pub default: String,
}

/// One setting as in force: its value (secrets hidden) and where it came
/// from: `default`, `file`, or the environment variable that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub key: String,
    pub value: String,
    pub source: String,
}

/// Where each setting that is not a default came from, by `section.key`.
type Sources = std::collections::BTreeMap<String, String>;

/// `[section] key` → its environment variable name.
pub fn env_name(section: &str, key: &str) -> String {
    if section == "server" {
        format!("OCTOLLM_{}", key.to_ascii_uppercase())
    } else {
        format!(
            "OCTOLLM_{}_{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        )
    }
}

/// Conventional variables that fill a setting when its own env var is unset.
const ALIASES: &[(&str, &str, &str)] = &[
    ("REDIS_URL", "reflex", "redis_url"),
    ("REDIS_URL", "planner", "redis_url"),
    ("REDIS_URL", "gateway", "redis_url"),
    ("OCTOLLM_TOKEN_SECRET", "executor", "token_secret"),
    ("OCTOLLM_TOKEN_SECRET", "orchestrator", "token_secret"),
    ("DATABASE_URL", "orchestrator", "database_url"),
];

impl Config {
    /// Loads defaults < file < environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Self> {
        Self::load_tracked(file, env).map(|(config, _)| config)
    }

    /// The configuration and where each non-default setting came from.
    fn load_tracked(file: Option<&Path>, env: &[(String, String)]) -> Result<(Self, Sources)> {
        let mut sources = Sources::new();
        let mut tree = Value::try_from(Config::default()).context("encoding defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let file_tree: Value = toml::from_str(&text)
                .with_context(|| format!("parsing config file {}", path.display()))?;
            merge_file(
                &mut tree,
                file_tree,
                &mut sources,
                &path.display().to_string(),
            )?;
        }
        apply_env(&mut tree, env, &mut sources)?;
        let mut config: Config = tree.try_into().context("invalid configuration")?;
        // Components keep their state under the one data directory unless
        // told otherwise.
        if config.executor.data_dir == ExecutorConfig::default().data_dir {
            config.executor.data_dir = config.server.data_dir.clone();
            sources.insert("executor.data_dir".into(), "server.data_dir".into());
        }
        if config.gateway.audit_log_path.is_empty() {
            config.gateway.audit_log_path = Path::new(&config.server.data_dir)
                .join("gateway-audit.jsonl")
                .display()
                .to_string();
            sources.insert("gateway.audit_log_path".into(), "server.data_dir".into());
        }
        if config.orchestrator.data_dir == OrchestratorConfig::default().data_dir {
            config.orchestrator.data_dir = config.server.data_dir.clone();
            sources.insert("orchestrator.data_dir".into(), "server.data_dir".into());
        }
        Ok((config, sources))
    }

    /// Every setting as `file` and `env` make it, in file order.
    pub fn effective(file: Option<&Path>, env: &[(String, String)]) -> Result<Vec<Effective>> {
        let (config, sources) = Self::load_tracked(file, env)?;
        let Value::Table(tree) = Value::try_from(&config).context("encoding configuration")? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (section, table) in tree {
            let Value::Table(t) = table else { continue };
            for (key, v) in t {
                let key = format!("{section}.{key}");
                out.push(Effective {
                    value: shown(&key, &render(&v)),
                    source: sources
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| "default".into()),
                    key,
                });
            }
        }
        Ok(out)
    }

    /// Every setting with its env name and default, in file order.
    pub fn settings() -> Vec<Setting> {
        let Ok(Value::Table(tree)) = Value::try_from(Config::default()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (section, table) in tree {
            if let Value::Table(t) = table {
                for (key, v) in t {
                    out.push(Setting {
                        env: env_name(&section, &key),
                        key: format!("{section}.{key}"),
                        default: render(&v),
                    });
                }
            }
        }
        out
    }
}

/// A value as `octollm config` may print it: keys, secrets and tokens are
/// never shown, only whether they are set; a URL's password is hidden.
pub fn shown(key: &str, value: &str) -> String {
    let name = key.rsplit('.').next().unwrap_or(key);
    let secret = ["key", "keys", "secret", "password", "token"]
        .iter()
        .any(|w| name.split('_').any(|part| part == *w));
    if secret {
        return if value.is_empty() {
            String::new()
        } else {
            "(set, hidden)".into()
        };
    }
    match reqwest::Url::parse(value) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => value.to_string(),
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(render).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn merge_file(tree: &mut Value, file: Value, sources: &mut Sources, origin: &str) -> Result<()> {
    let (Value::Table(base), Value::Table(file)) = (tree, file) else {
        bail!("config file must be a TOML table");
    };
    for (section, table) in file {
        let Some(Value::Table(dst)) = base.get_mut(&section) else {
            bail!("unknown config section [{section}]");
        };
        let Value::Table(src) = table else {
            bail!("[{section}] must be a table");
        };
        for (key, v) in src {
            let Some(slot) = dst.get_mut(&key) else {
                bail!("unknown setting {section}.{key}");
            };
            if std::mem::discriminant(slot) != std::mem::discriminant(&v)
                && !(slot.is_float() && v.is_integer())
            {
                bail!("{section}.{key} must be a {}", slot.type_str());
            }
            *slot = match (slot.is_float(), v) {
                (true, Value::Integer(i)) => Value::Float(i as f64),
                (_, v) => v,
            };
            sources.insert(format!("{section}.{key}"), format!("file {origin}"));
        }
    }
    Ok(())
}

fn apply_env(tree: &mut Value, env: &[(String, String)], sources: &mut Sources) -> Result<()> {
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Value::Table(base) = tree else {
        return Ok(());
    };
    for (section, table) in base.iter_mut() {
        let Value::Table(t) = table else { continue };
        for (key, slot) in t.iter_mut() {
            let name = env_name(section, key);
            let alias = ALIASES
                .iter()
                .find(|(_, s, k)| s == section && k == key)
                .and_then(|(alias, _, _)| lookup(alias).map(|v| (*alias, v)));
            let Some((from, raw)) = lookup(&name).map(|v| (name.as_str(), v)).or(alias) else {
                continue;
            };
            *slot = parse_like(slot, &raw).map_err(|e| anyhow!("{from}={raw:?}: {e}"))?;
            sources.insert(format!("{section}.{key}"), format!("env {from}"));
        }
    }
    Ok(())
}

fn parse_like(slot: &Value, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    Ok(match slot {
        Value::String(_) => Value::String(raw.to_string()),
        Value::Integer(_) => Value::Integer(
            raw.parse()
                .map_err(|_| "expected a whole number".to_string())?,
        ),
        Value::Float(_) => Value::Float(raw.parse().map_err(|_| "expected a number".to_string())?),
        Value::Boolean(_) => Value::Boolean(match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => return Err("expected true or false (also yes/no, on/off, 1/0)".into()),
        }),
        Value::Array(_) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        other => {
            return Err(format!(
                "cannot set a {} from the environment",
                other.type_str()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_defaults() {
        let c = Config::load_from(
            None,
            &env(&[
                ("OCTOLLM_REFLEX_CACHE_CAPACITY", "7"),
                ("OCTOLLM_API_KEYS", "a,b"),
                ("REDIS_URL", "redis://x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.reflex.cache_capacity, 7);
        assert_eq!(c.server.api_keys, "a,b");
        assert_eq!(c.reflex.redis_url, "redis://x");
    }

    #[test]
    fn own_env_name_beats_alias() {
        let c = Config::load_from(
            None,
            &env(&[
                ("REDIS_URL", "redis://a"),
                ("OCTOLLM_REFLEX_REDIS_URL", "redis://b"),
            ]),
        )
        .unwrap();
        assert_eq!(c.reflex.redis_url, "redis://b");
    }

    #[test]
    fn file_then_env() {
        let dir = std::env::temp_dir().join(format!("octollm-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "[reflex]\ncache_capacity = 3\nrate_limit_per_second = 5\n[server]\nlog_format = \"json\"\n").unwrap();
        let c = Config::load_from(Some(&path), &env(&[("OCTOLLM_REFLEX_CACHE_CAPACITY", "9")]))
            .unwrap();
        assert_eq!(c.reflex.cache_capacity, 9);
        assert_eq!(c.reflex.rate_limit_per_second, 5.0);
        assert_eq!(c.server.log_format, "json");
        std::fs::write(&path, "[reflex]\nno_such = 1\n").unwrap();
        let err = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
        assert!(err.contains("unknown setting reflex.no_such"), "{err}");
        std::fs::write(&path, "[reflex]\ncache_capacity = \"big\"\n").unwrap();
        assert!(Config::load_from(Some(&path), &[]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn effective_settings_say_where_they_came_from_and_hide_secrets() {
        let dir = std::env::temp_dir().join(format!("octollm-eff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "[reflex]\ncache_capacity = 3\n").unwrap();
        let got = Config::effective(
            Some(&path),
            &env(&[
                ("OCTOLLM_REFLEX_BLOCK_SEVERITY", "medium"),
                ("OCTOLLM_TOKEN_SECRET", "s3cret-value"),
                ("DATABASE_URL", "postgres://app:hunter2@db/octo"),
            ]),
        )
        .unwrap();
        let of = |k: &str| got.iter().find(|s| s.key == k).unwrap().clone();
        assert_eq!(of("reflex.block_severity").value, "medium");
        assert_eq!(
            of("reflex.block_severity").source,
            "env OCTOLLM_REFLEX_BLOCK_SEVERITY"
        );
        assert_eq!(of("reflex.cache_capacity").value, "3");
        assert!(of("reflex.cache_capacity").source.starts_with("file "));
        assert_eq!(of("planner.max_steps").source, "default");
        // Secrets: only whether they are set; a URL keeps all but its password.
        assert_eq!(of("executor.token_secret").value, "(set, hidden)");
        assert_eq!(
            of("executor.token_secret").source,
            "env OCTOLLM_TOKEN_SECRET"
        );
        assert_eq!(of("server.api_keys").value, "");
        let db = of("orchestrator.database_url").value;
        assert!(db.contains("app:***@db") && !db.contains("hunter2"), "{db}");
        assert!(got.iter().all(|s| !s.value.contains("s3cret")));
        assert_eq!(got.len(), Config::settings().len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_env_value_is_an_error_naming_the_variable() {
        let err = Config::load_from(None, &env(&[("OCTOLLM_REFLEX_CACHE_ENABLED", "maybe")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("OCTOLLM_REFLEX_CACHE_ENABLED"), "{err}");
    }

    #[test]
    fn every_setting_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/configuration.md"
        ))
        .unwrap();
        let missing: Vec<String> = Config::settings()
            .into_iter()
            .filter(|s| !doc.contains(&s.env))
            .map(|s| s.env)
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md does not mention: {missing:?}"
        );
    }
}
