//! Orchestrator processes: killed with SIGKILL mid-task and restarted; two
//! of them sharing one PostgreSQL queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use octollm_orchestrator::OrchestratorConfig;
use octollm_testkit::http::send_text;
use serde_json::json;

struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn spawn(cfg: &OrchestratorConfig) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_octollm-orchestrator-node"))
            .env("OCTOLLM_NODE_CONFIG", serde_json::to_string(cfg).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("LISTENING ")
            .expect(&line)
            .to_string();
        Node {
            child,
            url: format!("http://{addr}"),
        }
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn crash(kind: Kind) {
    let db = Db::new(kind).await;
    let arms = start_arms(ArmsOptions::llm_planner()).await;
    let mut cfg = arms.config(&db);
    cfg.lease_seconds = 2;
    let goal = format!("SLOW 3 crash-{}", tag());
    let mut first = Node::spawn(&cfg);
    let id = submit(&first.url, json!({"goal": goal})).await;
    wait_until(&first.url, &id, Duration::from_secs(30), |v| {
        v["steps"][0]["status"] == "completed" && v["steps"][1]["status"] == "running"
    })
    .await;
    first.sigkill();

    let second = Node::spawn(&cfg);
    let v = wait_done(&second.url, &id, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert!(v["result"]["output"].as_str().unwrap().contains("slept"));
    assert_eq!(
        v["steps"][0]["attempts"], 1,
        "step 1 must not run again: {v:#}"
    );
    assert_eq!(v["steps"][1]["attempts"], 2, "{v:#}");
    // The executor ran step 1 exactly once.
    let hash = octollm_executor::provenance::command_hash("echo", std::slice::from_ref(&goal));
    assert_eq!(arms.audit_runs(&hash), 1);
    // Nothing lost: the whole story is in the events, in order, once.
    let (_, text) = send_text(
        client()
            .get(format!("{}/api/v1/tasks/{id}/events", second.url))
            .timeout(Duration::from_secs(10)),
    )
    .await;
    assert_eq!(text.matches("event: task.plan").count(), 1, "{text}");
    assert_eq!(text.matches("event: step.completed").count(), 2, "{text}");
    assert_eq!(text.matches("event: task.completed").count(), 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_task_resumes_after_the_last_finished_step_sqlite() {
    crash(Kind::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_task_resumes_after_the_last_finished_step_postgres() {
    crash(Kind::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_postgres_queue() {
    let db = Db::new(Kind::Postgres).await;
    let arms = start_arms(ArmsOptions::default()).await;
    let cfg = arms.config(&db);
    let a = Node::spawn(&cfg);
    let b = Node::spawn(&cfg);
    let t = tag();
    let mut submits = Vec::new();
    for n in 0..50 {
        let url = if n % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let goal = format!("Echo task {n} {t}");
        submits.push(tokio::spawn(async move {
            submit(&url, json!({"goal": goal})).await
        }));
    }
    let mut ids = Vec::new();
    for s in submits {
        ids.push(s.await.unwrap());
    }
    for id in &ids {
        let v = wait_done(&a.url, id, Duration::from_secs(120)).await;
        assert_eq!(v["status"], "completed", "{v:#}");
        assert!(v["result"]["output"].as_str().unwrap().contains("task"));
    }
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM tasks WHERE status = 'completed'")
            .await,
        50
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM events WHERE kind = 'task.completed'")
            .await,
        50
    );
    let steps = db.scalar("SELECT COUNT(*) FROM steps").await;
    assert!(steps >= 50);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM steps WHERE attempts <> 1 OR status <> 'completed'")
            .await,
        0
    );
    // Every step ran exactly once on the executor.
    let log = std::fs::read_to_string(arms.executor_config.audit_path()).unwrap();
    let runs = log
        .lines()
        .filter(|l| l.contains("\"outcome\":\"success\""))
        .count();
    assert_eq!(runs as i64, steps);
    // Both processes did work.
    let owners = db
        .scalar("SELECT COUNT(DISTINCT split_part(run_by, '/', 1)) FROM steps")
        .await;
    assert_eq!(owners, 2);
}
