//! PC-002-shaped benchmark: 100 concurrent "Echo task N" tasks through
//! reflex → orchestrator → planner (built-in) → executor, each component a
//! separate process on loopback.
//!
//! ```text
//! cargo run --release -p octollm-orchestrator --example pc002 -- [sqlite|postgres] [TASKS] [GOAL with {i}]
//! ```
//! PostgreSQL comes from `OCTOLLM_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); the run uses a scratch schema
//! and drops it afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use octollm_testkit::http::send_json;
use octollm_testkit::postgres as test_pg;
use serde_json::json;

fn opts(name: &str) -> ServiceOptions {
    ServiceOptions {
        body_limit: 1 << 20,
        api_keys: ApiKeys::default(),
        metrics: MetricsRegistry::new(name),
    }
}

/// Child mode: serve one component, print `LISTENING <addr>`, run until killed.
async fn serve_component(name: &str, arg: &str) {
    let router = match name {
        "reflex" => octollm_reflex::app(Default::default(), opts("reflex"))
            .await
            .unwrap(),
        "executor" => {
            let cfg: octollm_executor::ExecutorConfig = serde_json::from_str(arg).unwrap();
            octollm_executor::app(cfg, opts("executor")).await.unwrap()
        }
        "planner" => {
            let cfg = octollm_planner::PlannerConfig {
                executor_url: arg.to_string(),
                mode: "builtin".into(),
                ..Default::default()
            };
            octollm_planner::app(cfg, Default::default(), opts("planner"))
                .await
                .unwrap()
        }
        "orchestrator" => {
            let cfg: octollm_orchestrator::OrchestratorConfig = serde_json::from_str(arg).unwrap();
            let (router, handle) = octollm_orchestrator::app(cfg, opts("orchestrator"))
                .await
                .unwrap();
            // Dropping the handle would stop the workers; this process runs until killed.
            std::mem::forget(handle);
            router
        }
        other => panic!("unknown component {other}"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap());
    octollm_server::serve(listener, router, std::future::pending())
        .await
        .unwrap();
}

struct Proc(Child, String);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(component: &str, arg: &str) -> Proc {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["serve", component, arg])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep draining: a child writing to a closed pipe would die.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .expect(&line)
        .to_string();
    Proc(child, format!("http://{addr}"))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        serve_component(&args[2], args.get(3).map(String::as_str).unwrap_or("")).await;
        return;
    }
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    // The goal of task i; "{i}" is replaced by the task number.
    let template = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "Echo task {i}".into());
    let dir = std::env::temp_dir().join(format!("octollm-pc002-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = format!("pc002_{}", std::process::id());
    let database_url = if backend == "postgres" {
        test_pg::create_schema(&schema).await;
        test_pg::schema_url(&schema)
    } else {
        String::new()
    };
    let exec_cfg = octollm_executor::ExecutorConfig {
        data_dir: dir.join("exec").to_string_lossy().into_owned(),
        sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
        sandbox_cgroup_parent: format!("octollm-pc002-{}", std::process::id()),
        sandbox_uid_base: 6_000_000,
        max_concurrency: 16,
        ..Default::default()
    };
    let reflex = spawn("reflex", "");
    let executor = spawn("executor", &serde_json::to_string(&exec_cfg).unwrap());
    let planner = spawn("planner", &executor.1);
    let orch_cfg = octollm_orchestrator::OrchestratorConfig {
        database_url: database_url.clone(),
        data_dir: dir.join("orch").to_string_lossy().into_owned(),
        reflex_url: reflex.1.clone(),
        planner_url: planner.1.clone(),
        executor_url: executor.1.clone(),
        workers: 32,
        database_max_connections: 32,
        poll_interval_ms: 100,
        result_cache_enabled: false,
        ..Default::default()
    };
    let orch = spawn("orchestrator", &serde_json::to_string(&orch_cfg).unwrap());
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    // Warm-up: one task end to end.
    let (_, warm) = send_json(
        http.post(format!("{}/api/v1/tasks", orch.1))
            .json(&json!({"goal": "Echo warm up"})),
    )
    .await;
    wait(&http, &orch.1, warm["task_id"].as_str().unwrap()).await;

    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..n {
        let http = http.clone();
        let base = orch.1.clone();
        let goal = template.replace("{i}", &i.to_string());
        handles.push(tokio::spawn(async move {
            let t0 = Instant::now();
            let (_, v) = send_json(
                http.post(format!("{base}/api/v1/tasks"))
                    .json(&json!({"goal": goal})),
            )
            .await;
            let id = v["task_id"].as_str().unwrap().to_string();
            let status = wait(&http, &base, &id).await;
            (t0.elapsed().as_secs_f64(), status)
        }));
    }
    let mut times = Vec::new();
    let mut completed = 0;
    for h in handles {
        let (t, status) = h.await.unwrap();
        if status == "completed" {
            completed += 1;
        }
        times.push(t);
    }
    let wall = started.elapsed().as_secs_f64();
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "backend={backend} tasks={n} completed={completed} p50={:.3}s p95={:.3}s p99={:.3}s max={:.3}s wall={wall:.2}s throughput={:.1} tasks/s",
        pct(&times, 0.50), pct(&times, 0.95), pct(&times, 0.99), times[times.len() - 1], n as f64 / wall
    );
    drop(orch);
    if backend == "postgres" {
        test_pg::drop_schema(&schema).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls until the task ends; its final status.
async fn wait(http: &reqwest::Client, base: &str, id: &str) -> String {
    loop {
        let (_, v) = send_json(http.get(format!("{base}/api/v1/tasks/{id}"))).await;
        let s = v["status"].as_str().unwrap_or("").to_string();
        if matches!(s.as_str(), "completed" | "failed" | "cancelled") {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
