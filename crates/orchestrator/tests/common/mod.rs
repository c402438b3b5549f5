//! Shared harness: real reflex, planner and executor on 127.0.0.1:0, a
//! store on SQLite or on the real PostgreSQL, and the orchestrator, all
//! talking HTTP over loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use octollm_executor::ExecutorConfig;
use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_orchestrator::OrchestratorConfig;
use octollm_planner::{LlmConfig, PlannerConfig};
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use octollm_testkit::http::send_json_or_null;
use octollm_testkit::postgres as test_pg;
use serde_json::{json, Value};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Runs `$body(kind)` once on SQLite and once on PostgreSQL.
#[allow(unused_macros)]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $body(Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $body(Kind::Postgres).await
            }
        }
    };
}

/// A shell step of a scripted plan.
pub fn shell(step: u32, action: &str, command: &str, args: &[&str], deps: &[u32]) -> Value {
    json!({"step": step, "action": action, "required_arm": "executor",
           "tool_call": {"action_type": "shell", "command": command, "args": args},
           "depends_on": deps})
}

/// The fake LLM's answer with a plan of `steps`.
pub fn plan(steps: Vec<Value>) -> FakeReply {
    FakeReply::json(
        &json!({"plan": steps, "rationale": "scripted", "confidence": 0.8,
                            "complexity_score": 0.2}),
    )
    .usage(100, 20)
}

pub fn opts(name: &str) -> ServiceOptions {
    ServiceOptions {
        body_limit: 64 * 1024,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new(name),
    }
}

pub fn tag() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = octollm_server::serve(listener, router, std::future::pending()).await;
    });
    format!("http://{addr}")
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// One test's private database: an SQLite file in a fresh directory, or a
/// fresh schema on the real PostgreSQL (unreachable = test failure).
pub struct Db {
    pub kind: Kind,
    pub dir: PathBuf,
    pub schema: String,
}

impl Db {
    pub async fn new(kind: Kind) -> Db {
        let t = tag().replace('-', "_");
        let dir = std::env::temp_dir().join(format!("octollm-orch-test-{t}"));
        std::fs::create_dir_all(&dir).unwrap();
        let schema = format!("orch_test_{t}");
        if kind == Kind::Postgres {
            test_pg::create_schema(&schema).await;
        }
        Db { kind, dir, schema }
    }

    pub fn database_url(&self) -> String {
        match self.kind {
            Kind::Sqlite => String::new(),
            Kind::Postgres => test_pg::schema_url(&self.schema),
        }
    }

    pub fn data_dir(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    /// Runs a query on the test database directly, returning one i64.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite => {
                let url = format!("sqlite://{}/orchestrator.db", self.data_dir());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
            Kind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.database_url()).await.unwrap();
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.kind == Kind::Postgres {
            let schema = self.schema.clone();
            // Drop cannot await; a short-lived runtime on its own thread can.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(test_pg::drop_schema(&schema));
            })
            .join();
        }
    }
}

/// The three arms, in process, on loopback.
pub struct Arms {
    pub reflex: String,
    pub planner: String,
    pub executor: String,
    pub executor_config: ExecutorConfig,
    pub fake: Option<FakeLlm>,
}

#[derive(Default)]
pub struct ArmsOptions {
    /// Plan through the fake LLM (mode `llm`) instead of the built-in planner.
    pub llm_planner: bool,
    pub token_secret: String,
    /// Changes to the executor's settings (host lists, a test CA).
    pub executor: Option<fn(&mut ExecutorConfig)>,
}

impl ArmsOptions {
    /// Arms that plan through the fake LLM, otherwise the defaults.
    pub fn llm_planner() -> Self {
        ArmsOptions {
            llm_planner: true,
            ..Default::default()
        }
    }
}

/// The fake LLM's default plans: goals starting `SLOW` get an echo step
/// followed by a sleeping python step; anything else is echoed.
pub fn plan_responder(fake: &FakeLlm) {
    fake.set_responder(|req: &octollm_fake_llm::RecordedRequest| {
        let text = req.last_user_text().unwrap_or_default();
        let goal = text
            .lines()
            .find_map(|l| l.strip_prefix("Goal: "))
            .unwrap_or("hello")
            .trim()
            .to_string();
        let plan = if let Some(rest) = goal.strip_prefix("SLOW") {
            let secs: f64 = rest.split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
            json!({"plan": [
                {"step": 1, "action": "Say the goal", "required_arm": "executor",
                 "tool_call": {"action_type": "shell", "command": "echo", "args": [goal.clone()]}, "depends_on": []},
                {"step": 2, "action": "Think slowly", "required_arm": "executor",
                 "tool_call": {"action_type": "shell", "command": "python3", "args": ["-c", format!("import time; time.sleep({secs}); print('slept')")]},
                 "depends_on": [1]}],
                "rationale": "scripted", "confidence": 0.9, "complexity_score": 0.2})
        } else {
            json!({"plan": [{"step": 1, "action": "Say it", "required_arm": "executor",
                "tool_call": {"action_type": "shell", "command": "echo", "args": [goal]}, "depends_on": []}],
                "rationale": "scripted", "confidence": 0.9, "complexity_score": 0.1})
        };
        Some(FakeReply::json(&plan).usage(100, 20))
    });
}

pub async fn start_arms(o: ArmsOptions) -> Arms {
    let t = tag();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("octollm-orch-arms-{t}"));
    std::fs::create_dir_all(&dir).unwrap();
    let reflex = serve(
        octollm_reflex::app(octollm_reflex::ReflexConfig::default(), opts("reflex"))
            .await
            .unwrap(),
    )
    .await;
    let executor_config = ExecutorConfig {
        data_dir: dir.join("data").to_string_lossy().into_owned(),
        sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
        sandbox_cgroup_parent: format!("octollm-orch-test-{t}"),
        sandbox_uid_base: 5_000_000
            + u64::from(n % 500) * 64
            + u64::from(std::process::id() % 64) * 40_000,
        max_concurrency: 16,
        token_secret: o.token_secret.clone(),
        ..ExecutorConfig::default()
    };
    let mut executor_config = executor_config;
    if let Some(edit) = o.executor {
        edit(&mut executor_config);
    }
    let executor = serve(
        octollm_executor::app(executor_config.clone(), opts("executor"))
            .await
            .unwrap(),
    )
    .await;
    let (llm, fake, mode) = if o.llm_planner {
        let fake = FakeLlm::start().await.unwrap();
        plan_responder(&fake);
        (openai_on(&fake), Some(fake), "llm")
    } else {
        (LlmConfig::default(), None, "builtin")
    };
    let planner_cfg = PlannerConfig {
        executor_url: executor.clone(),
        mode: mode.into(),
        cache_enabled: false,
        ..PlannerConfig::default()
    };
    let planner = serve(
        octollm_planner::app(planner_cfg, llm, opts("planner"))
            .await
            .unwrap(),
    )
    .await;
    Arms {
        reflex,
        planner,
        executor,
        executor_config,
        fake,
    }
}

impl Arms {
    pub fn config(&self, db: &Db) -> OrchestratorConfig {
        OrchestratorConfig {
            database_url: db.database_url(),
            data_dir: db.data_dir(),
            reflex_url: self.reflex.clone(),
            planner_url: self.planner.clone(),
            executor_url: self.executor.clone(),
            token_secret: self.executor_config.token_secret.clone(),
            workers: 8,
            lease_seconds: 5,
            poll_interval_ms: 50,
            max_retries: 2,
            retry_backoff_ms: 20,
            retry_backoff_max_ms: 200,
            result_cache_enabled: false,
            ..OrchestratorConfig::default()
        }
    }

    /// Lines of the executor's audit log whose command line contains `needle`
    /// and that ran to completion.
    pub fn audit_runs(&self, needle: &str) -> usize {
        let log = std::fs::read_to_string(self.executor_config.audit_path()).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains(needle))
            .filter(|l| l.contains("\"outcome\":\"success\""))
            .count()
    }
}

pub struct Orch {
    pub url: String,
    pub handle: octollm_orchestrator::Handle,
}

pub async fn start_orch(cfg: OrchestratorConfig) -> Orch {
    start_orch_with_llm(cfg, LlmConfig::default()).await
}

pub async fn start_orch_with_llm(cfg: OrchestratorConfig, llm: LlmConfig) -> Orch {
    start_orch_with_keys(cfg, llm, ApiKeys::default()).await
}

/// The orchestrator behind API keys (`NAME:KEY` entries).
pub async fn start_orch_with_keys(cfg: OrchestratorConfig, llm: LlmConfig, keys: ApiKeys) -> Orch {
    let mut o = opts("orchestrator");
    o.api_keys = keys;
    let (router, handle) = octollm_orchestrator::app_with(cfg, llm, Default::default(), o)
        .await
        .unwrap();
    Orch {
        url: serve(router).await,
        handle,
    }
}

pub fn client() -> reqwest::Client {
    octollm_testkit::http::client()
}

pub async fn post(url: &str, body: Value) -> (u16, Value) {
    send_json_or_null(client().post(url).json(&body)).await
}

pub async fn post_raw(url: &str, body: &'static [u8]) -> (u16, Value) {
    send_json_or_null(
        client()
            .post(url)
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

/// Posts a body the server refuses without reading it: its answer, or
/// `None` when the refusal closed the connection while the body was still
/// being sent (the client then never sees the status).
pub async fn post_unread(url: &str, body: Value) -> Option<(u16, Value)> {
    match client().post(url).json(&body).send().await {
        Ok(res) => {
            let st = res.status().as_u16();
            Some((st, res.json().await.unwrap_or(Value::Null)))
        }
        Err(e) => {
            assert!(e.is_request(), "{e}");
            None
        }
    }
}

pub async fn get(url: &str) -> (u16, Value) {
    send_json_or_null(client().get(url)).await
}

/// The answer to a task submission, whatever it is.
pub async fn post_task(base: &str, body: Value) -> (u16, Value) {
    post(&format!("{base}/api/v1/tasks"), body).await
}

/// A task's current view, which must exist.
pub async fn get_task(base: &str, id: &str) -> Value {
    let (status, v) = get(&format!("{base}/api/v1/tasks/{id}")).await;
    assert_eq!(status, 200, "{v}");
    v
}

pub async fn submit(base: &str, body: Value) -> String {
    let (status, v) = post_task(base, body).await;
    assert_eq!(status, 202, "{v}");
    v["task_id"].as_str().unwrap().to_string()
}

pub async fn wait_until(
    base: &str,
    id: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let v = get_task(base, id).await;
        if pred(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting; last state: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn wait_done(base: &str, id: &str, timeout: Duration) -> Value {
    wait_until(base, id, timeout, |v| {
        matches!(
            v["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        )
    })
    .await
}

/// An OpenAI-compatible provider pointed at `fake`, without retries.
pub fn openai_on(fake: &FakeLlm) -> LlmConfig {
    LlmConfig {
        provider: "openai".into(),
        base_url: fake.openai_base_url(),
        model: "gpt-4o-mini".into(),
        max_retries: 0,
        ..LlmConfig::default()
    }
}

/// A fresh SQLite store and arms that plan through the fake LLM.
pub async fn llm_planned() -> (Db, Arms) {
    let db = Db::new(Kind::Sqlite).await;
    let arms = start_arms(ArmsOptions::llm_planner()).await;
    (db, arms)
}
