//! `octollm doctor` as a user runs it: the real binary against this host,
//! real ports, the test PostgreSQL (a schema of its own) and Redis, and the
//! fake LLM server; and `octollm up` refusing a port that is taken.

// Helpers outside `#[test]` functions panic on purpose: a failure is the report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use octollm_fake_llm::FakeLlm;
use octollm_testkit::http::wait_for_success;
use octollm_testkit::ports::free_port;
use octollm_testkit::{postgres, redis, unique_name};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Every check a doctor run has, whatever is configured.
const ALWAYS: [&str; 15] = [
    "kernel.user_namespaces",
    "kernel.seccomp",
    "kernel.landlock",
    "kernel.cgroups",
    "sandbox",
    "port.orchestrator",
    "port.reflex",
    "port.planner",
    "port.executor",
    "port.gateway",
    "data_dir",
    "database",
    "redis",
    "llm",
    "token_secret",
];

/// A strong secret, so the token check does not decide the exit code.
const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

/// One doctor run.
struct Report {
    code: i32,
    doc: Value,
    stdout: String,
}

impl Report {
    fn check(&self, name: &str) -> &Value {
        self.doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name} in {}", self.stdout))
    }

    fn status(&self, name: &str) -> &str {
        self.check(name)["status"].as_str().unwrap()
    }

    fn detail(&self, name: &str) -> &str {
        self.check(name)["detail"].as_str().unwrap()
    }

    fn hint(&self, name: &str) -> &str {
        self.check(name)["hint"].as_str().unwrap_or("")
    }
}

/// A command of the binary with only `envs` (and PATH) in its environment:
/// free ports for every component and a data directory that does not exist
/// yet, unless `envs` says otherwise.
fn octollm(args: &[&str], envs: &[(&str, String)]) -> (Command, PathBuf) {
    let data_dir = std::env::temp_dir().join(unique_name("octollm-doctor"));
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OCTOLLM_DATA_DIR", data_dir.display().to_string());
    for c in ["ORCHESTRATOR", "REFLEX", "PLANNER", "EXECUTOR", "GATEWAY"] {
        cmd.env(format!("OCTOLLM_{c}_PORT"), free_port().to_string());
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    (cmd, data_dir)
}

/// `octollm doctor --json` with `envs`; checks the document's shape and
/// that the exit code and `ok` agree with the statuses.
fn doctor(envs: &[(&str, String)]) -> Report {
    let (mut cmd, data_dir) = octollm(&["doctor", "--json"], envs);
    let out = cmd.stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}): {stdout}"));
    let checks = doc["checks"].as_array().expect("a checks array");
    let mut failed = false;
    for c in checks {
        let status = c["status"].as_str().unwrap_or("");
        assert!(matches!(status, "ok" | "warn" | "fail"), "{c}");
        assert!(!c["detail"].as_str().unwrap_or("").is_empty(), "{c}");
        let hinted = c["hint"].as_str().is_some_and(|h| !h.is_empty());
        assert_eq!(hinted, status != "ok", "a hint exactly when not ok: {c}");
        failed |= status == "fail";
    }
    assert_eq!(doc["ok"], !failed, "{stdout}");
    let code = out.status.code().unwrap();
    assert_eq!(code, if failed { 1 } else { 0 }, "{stdout}");
    // The doctor only looks: the data directory it was given stays absent.
    assert!(!data_dir.exists(), "doctor created {}", data_dir.display());
    Report { code, doc, stdout }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let port = free_port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    port
}

#[test]
fn every_check_is_reported_and_the_exit_code_follows_the_statuses() {
    let r = doctor(&[("OCTOLLM_TOKEN_SECRET", SECRET.into())]);
    let names: Vec<&str> = r.doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ALWAYS, "{}", r.stdout);
    for port in ["orchestrator", "reflex", "planner", "executor", "gateway"] {
        let name = format!("port.{port}");
        assert_eq!(r.status(&name), "ok", "{}", r.stdout);
        assert!(r.detail(&name).ends_with("is free"), "{}", r.stdout);
    }
    assert_eq!(r.status("data_dir"), "ok", "{}", r.stdout);
    assert!(
        r.detail("data_dir").contains("will be created"),
        "{}",
        r.stdout
    );
    assert!(r.detail("database").contains("SQLite"), "{}", r.stdout);
    assert!(r.detail("redis").contains("not configured"), "{}", r.stdout);
    assert!(r.detail("llm").contains("none configured"), "{}", r.stdout);
    assert_eq!(r.status("token_secret"), "ok", "{}", r.stdout);
    // The kernel rows say what the executor will do: with every layer, the
    // sandbox is ok, and without one it is not.
    let kernel_ok = ALWAYS[..4].iter().all(|k| r.status(k) == "ok");
    assert_eq!(r.status("sandbox") == "ok", kernel_ok, "{}", r.stdout);

    // The table says the same, one row per check.
    let (mut cmd, _) = octollm(&["doctor"], &[("OCTOLLM_TOKEN_SECRET", SECRET.into())]);
    let out = cmd.output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(r.code), "{table}");
    for name in ALWAYS {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing: {table}"
        );
    }
    assert!(table.contains(" ok, "), "{table}");

    // Without a secret the token check warns, and says how to make one.
    let r = doctor(&[]);
    assert_eq!(r.status("token_secret"), "warn", "{}", r.stdout);
    assert!(r.hint("token_secret").contains("OCTOLLM_TOKEN_SECRET"));
    let r = doctor(&[
        ("OCTOLLM_ORCHESTRATOR_TOKEN_SECRET", SECRET.into()),
        ("OCTOLLM_EXECUTOR_TOKEN_SECRET", format!("{SECRET}x")),
    ]);
    assert_eq!(r.status("token_secret"), "fail", "{}", r.stdout);
    assert_eq!(r.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_fails_and_stops_up_while_a_running_component_only_warns() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let envs = [
        ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
        ("OCTOLLM_REFLEX_PORT", port.to_string()),
    ];
    let r = tokio::task::spawn_blocking(move || doctor(&envs))
        .await
        .unwrap();
    assert_eq!(r.status("port.reflex"), "fail", "{}", r.stdout);
    assert!(r.detail("port.reflex").contains(&port.to_string()));
    assert!(r.hint("port.reflex").contains("OCTOLLM_REFLEX_PORT"));
    assert_eq!(r.code, 1);

    // `octollm up` checks the same before it starts, and stops.
    let (mut up, data_dir) = octollm(&["up"], &[("OCTOLLM_REFLEX_PORT", port.to_string())]);
    let out = tokio::task::spawn_blocking(move || up.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("fail  port.reflex"), "{stderr}");
    assert!(stderr.contains("OCTOLLM_REFLEX_PORT"), "{stderr}");
    assert!(stderr.contains("not starting"), "{stderr}");
    let _ = std::fs::remove_dir_all(&data_dir);
    drop(taken);

    // A port held by this configuration's own component, running, warns.
    let port = free_port();
    let mut reflex = Command::new(BIN)
        .args(["serve", "reflex", "--port", &port.to_string()])
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_success(
        &format!("http://127.0.0.1:{port}/health"),
        Duration::from_secs(20),
    )
    .await;
    let envs = [
        ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
        ("OCTOLLM_REFLEX_PORT", port.to_string()),
    ];
    let r = tokio::task::spawn_blocking(move || doctor(&envs))
        .await
        .unwrap();
    let _ = reflex.kill();
    let _ = reflex.wait();
    assert_eq!(r.status("port.reflex"), "warn", "{}", r.stdout);
    assert!(
        r.detail("port.reflex").contains("running OctoLLM reflex"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_and_redis_report_version_and_migrations_and_closed_ports_fail() {
    let schema = unique_name("doctor");
    postgres::create_schema(&schema).await;
    let url = postgres::schema_url(&schema);
    let run =
        |envs: Vec<(&'static str, String)>| tokio::task::spawn_blocking(move || doctor(&envs));
    let base = vec![
        ("DATABASE_URL", url.clone()),
        ("REDIS_URL", redis::url()),
        ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
    ];

    // A fresh schema: reachable, no migrations yet; Redis answers.
    let r = run(base.clone()).await.unwrap();
    assert_eq!(r.status("database"), "ok", "{}", r.stdout);
    let detail = r.detail("database");
    assert!(detail.starts_with("PostgreSQL "), "{detail}");
    assert!(detail.contains("empty"), "{detail}");
    assert_eq!(r.status("redis"), "ok", "{}", r.stdout);
    assert!(r.detail("redis").contains("Redis "), "{}", r.stdout);
    assert!(
        r.detail("redis").contains("reflex and planner"),
        "{}",
        r.stdout
    );

    // Migrated by the orchestrator's own store: all applied.
    let store =
        octollm_orchestrator::store::Store::connect(&octollm_orchestrator::OrchestratorConfig {
            database_url: url.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    let r = run(base.clone()).await.unwrap();
    assert_eq!(r.status("database"), "ok", "{}", r.stdout);
    let detail = r.detail("database").to_string();
    assert!(detail.contains("migrations applied"), "{detail}");
    let known: usize = detail
        .split("all ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count of migrations in {detail}"));
    assert!(known >= 7, "{detail}");

    // The last one undone: pending, a warning to back up first.
    let table = format!("{schema}._sqlx_migrations");
    postgres::execute(&format!(
        "DELETE FROM {table} WHERE version = (SELECT max(version) FROM {table})"
    ))
    .await;
    let r = run(base.clone()).await.unwrap();
    assert_eq!(r.status("database"), "warn", "{}", r.stdout);
    assert!(r.detail("database").contains("pending"), "{}", r.stdout);
    assert!(r.hint("database").contains("back"), "{}", r.stdout);

    // A version this build does not know: the orchestrator would refuse it.
    postgres::execute(&format!(
        "INSERT INTO {table} (version, description, success, checksum, execution_time) \
         VALUES (99999, 'from the future', true, '\\x00', 0)"
    ))
    .await;
    let r = run(base.clone()).await.unwrap();
    postgres::drop_schema(&schema).await;
    assert_eq!(r.status("database"), "fail", "{}", r.stdout);
    assert!(r.detail("database").contains("99999"), "{}", r.stdout);
    assert_eq!(r.code, 1);

    // A server that answers, without the database named: create it first.
    let base_url = postgres::url();
    let (server, _) = base_url.rsplit_once('/').unwrap();
    let r = run(vec![
        (
            "DATABASE_URL",
            format!("{server}/{}", unique_name("absent")),
        ),
        ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status("database"), "fail", "{}", r.stdout);
    assert!(
        r.hint("database").contains("create the database"),
        "{}",
        r.stdout
    );

    // Nothing listening: both fail, each with a hint naming its setting.
    let r = run(vec![
        (
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{}/test", closed_port()),
        ),
        ("REDIS_URL", format!("redis://127.0.0.1:{}", closed_port())),
        ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status("database"), "fail", "{}", r.stdout);
    assert!(r.hint("database").contains("DATABASE_URL"), "{}", r.stdout);
    assert_eq!(r.status("redis"), "fail", "{}", r.stdout);
    assert!(r.hint("redis").contains("REDIS_URL"), "{}", r.stdout);
    assert_eq!(r.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn llm_providers_are_asked_for_their_models_with_the_configured_key() {
    let fake = FakeLlm::start().await.unwrap();
    fake.require_api_key("sk-right");
    fake.set_models(["m-small", "claude-3-5-haiku-20241022"]);
    let run = |extra: &[(&'static str, &str)]| {
        let mut envs: BTreeMap<&'static str, String> = BTreeMap::from([
            ("OCTOLLM_TOKEN_SECRET", SECRET.to_string()),
            ("OCTOLLM_LLM_PROVIDER", "openai".to_string()),
            ("OCTOLLM_LLM_BASE_URL", fake.openai_base_url()),
            ("OCTOLLM_LLM_MODEL", "m-small".to_string()),
            ("OCTOLLM_LLM_API_KEY", "sk-right".to_string()),
        ]);
        for (k, v) in extra {
            envs.insert(*k, v.to_string());
        }
        let envs: Vec<(&str, String)> = envs.into_iter().collect();
        tokio::task::spawn_blocking(move || doctor(&envs))
    };

    let r = run(&[]).await.unwrap();
    assert_eq!(r.status("llm"), "ok", "{}", r.stdout);
    assert!(r.detail("llm").contains("key accepted"), "{}", r.stdout);
    assert!(r.detail("llm").contains("m-small listed"), "{}", r.stdout);
    let asked = fake.requests();
    assert_eq!(asked.len(), 1, "one models call, no chat");
    assert_eq!(asked[0].path, "/v1/models");
    assert_eq!(asked[0].header("authorization"), Some("Bearer sk-right"));

    // A wrong key fails, pointing at the key's setting.
    let r = run(&[("OCTOLLM_LLM_API_KEY", "sk-wrong")]).await.unwrap();
    assert_eq!(r.status("llm"), "fail", "{}", r.stdout);
    assert!(r.detail("llm").contains("refused"), "{}", r.stdout);
    assert!(
        r.hint("llm").contains("OCTOLLM_LLM_API_KEY"),
        "{}",
        r.stdout
    );
    assert_eq!(r.code, 1);

    // A model the provider does not list warns, naming ones it does.
    let r = run(&[("OCTOLLM_LLM_MODEL", "m-huge")]).await.unwrap();
    assert_eq!(r.status("llm"), "warn", "{}", r.stdout);
    assert!(r.hint("llm").contains("m-small"), "{}", r.stdout);

    // The fallback is checked on its own, in Anthropic's API; an alias
    // matches the dated snapshot the API lists.
    let base = fake.anthropic_base_url();
    let r = run(&[
        ("OCTOLLM_LLM_FALLBACK_PROVIDER", "anthropic"),
        ("OCTOLLM_LLM_FALLBACK_BASE_URL", &base),
        ("OCTOLLM_LLM_FALLBACK_MODEL", "claude-3-5-haiku-latest"),
        ("OCTOLLM_LLM_FALLBACK_API_KEY", "sk-right"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status("llm.fallback"), "ok", "{}", r.stdout);
    assert!(
        r.detail("llm.fallback").starts_with("anthropic"),
        "{}",
        r.stdout
    );
    // Without its key it is not even asked.
    fake.clear_requests();
    let r = run(&[
        ("OCTOLLM_LLM_FALLBACK_PROVIDER", "anthropic"),
        ("OCTOLLM_LLM_FALLBACK_BASE_URL", &base),
    ])
    .await
    .unwrap();
    assert_eq!(r.status("llm.fallback"), "fail", "{}", r.stdout);
    assert!(
        r.hint("llm.fallback")
            .contains("OCTOLLM_LLM_FALLBACK_API_KEY"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.requests().len(), 1, "only the primary was asked");
}
