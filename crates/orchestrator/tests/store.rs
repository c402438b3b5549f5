//! The store's queue protocol on SQLite and on the real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Db, Kind};
use octollm_orchestrator::store::{now_ms, CancelOutcome, NewStep, NewTask, StepFinish, Store};
use octollm_orchestrator::OrchestratorConfig;
use octollm_types::orchestrator::StepStatus;
use octollm_types::task::TaskStatus;

async fn open(db: &Db) -> Store {
    let cfg = OrchestratorConfig {
        database_url: db.database_url(),
        data_dir: db.data_dir(),
        ..OrchestratorConfig::default()
    };
    // Twice: migrations are idempotent.
    Store::connect(&cfg).await.unwrap();
    Store::connect(&cfg).await.unwrap()
}

fn task(id: &str, priority: i64, created_at: i64) -> NewTask {
    NewTask {
        id: id.into(),
        goal: "g".into(),
        screened_goal: "g".into(),
        constraints: "[]".into(),
        context: "{}".into(),
        acceptance_criteria: "[]".into(),
        priority,
        max_tokens: 100,
        max_cost_usd: 1.0,
        max_time_seconds: 60,
        cache_key: String::new(),
        created_at,
        cached_result: None,
        allowed_hosts: None,
        approval: None,
        files: Vec::new(),
        vault_id: None,
        traceparent: None,
    }
}

async fn queue(kind: Kind) {
    let db = Db::new(kind).await;
    let s = open(&db).await;
    let now = now_ms();
    s.insert_task(&task("a", 5, now)).await.unwrap();
    s.insert_task(&task("b", 9, now + 1)).await.unwrap();
    let lease = Duration::from_millis(300);
    // Priority first; a held task is not handed out twice.
    let first = s.claim("w1", lease).await.unwrap().unwrap();
    assert_eq!(first.id, "b");
    let second = s.claim("w2", lease).await.unwrap().unwrap();
    assert_eq!(second.id, "a");
    assert!(s.claim("w3", lease).await.unwrap().is_none());
    // Steps: a finished step is never started again.
    let step = NewStep {
        step: 1,
        action: "x".into(),
        required_arm: "executor".into(),
        tool_call: None,
        depends_on: "[]".into(),
    };
    s.save_plan("b", "{}", "builtin", std::slice::from_ref(&step))
        .await
        .unwrap();
    s.save_plan("b", "{}", "builtin", &[step]).await.unwrap();
    assert_eq!(s.get_steps("b").await.unwrap().len(), 1);
    assert_eq!(s.start_step("b", 1, "w1").await.unwrap(), Some(1));
    assert_eq!(
        s.start_step("b", 1, "w2").await.unwrap(),
        None,
        "not the lease owner"
    );
    let done = StepFinish {
        status: StepStatus::Completed,
        output: Some("o".into()),
        display_output: Some("o".into()),
        stderr: Some("e".into()),
        error: None,
        provenance: None,
        finished_at: now_ms(),
        duration_ms: 1,
    };
    assert!(s.finish_step("b", 1, "w1", &done).await.unwrap());
    let steps = s.get_steps("b").await.unwrap();
    assert_eq!(steps[0].stderr.as_deref(), Some("e"), "stderr is kept");
    assert_eq!(
        s.start_step("b", 1, "w1").await.unwrap(),
        None,
        "finished steps never rerun"
    );
    // Renewal keeps the lease; expiry lets another worker take over, and
    // the old owner's writes are refused from then on.
    assert_eq!(s.renew("b", "w1", lease).await.unwrap(), Some(false));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = s.claim("w9", lease).await.unwrap().unwrap();
    assert!(["a", "b"].contains(&taken.id.as_str()));
    let again = s.claim("w9", lease).await.unwrap().unwrap();
    assert_ne!(again.id, taken.id);
    assert_eq!(s.renew("b", "w1", lease).await.unwrap(), None);
    assert!(!s
        .set_status("b", "w1", TaskStatus::Executing)
        .await
        .unwrap());
    assert!(s
        .set_status("b", "w9", TaskStatus::Executing)
        .await
        .unwrap());
    // Cancel: flagged while claimed (seen at renewal), direct when unclaimed.
    assert_eq!(
        s.request_cancel("b", "{}").await.unwrap(),
        CancelOutcome::Requested
    );
    assert_eq!(s.renew("b", "w9", lease).await.unwrap(), Some(true));
    s.insert_task(&task("c", 1, now + 2)).await.unwrap();
    assert_eq!(
        s.request_cancel("c", "{}").await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        s.request_cancel("c", "{}").await.unwrap(),
        CancelOutcome::AlreadyFinished(TaskStatus::Cancelled)
    );
    assert_eq!(
        s.request_cancel("zz", "{}").await.unwrap(),
        CancelOutcome::NotFound
    );
    // Events number themselves per task.
    assert_eq!(
        s.append_event("b", "k", "executing", None, "null")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.append_event("b", "k", "executing", Some(1), "null")
            .await
            .unwrap(),
        3
    );
    assert_eq!(s.events_after("b", 1).await.unwrap().len(), 2);
    assert_eq!(s.open_tasks().await.unwrap(), 2);
    s.close().await;
}

#[tokio::test]
async fn queue_protocol_sqlite() {
    queue(Kind::Sqlite).await
}

#[tokio::test]
async fn queue_protocol_postgres() {
    queue(Kind::Postgres).await
}

#[tokio::test]
async fn unreachable_postgres_is_an_error_not_a_fallback() {
    let cfg = OrchestratorConfig {
        database_url: "postgres://postgres@127.0.0.1:9/none".into(),
        ..OrchestratorConfig::default()
    };
    assert!(Store::connect(&cfg).await.is_err());
    let cfg = OrchestratorConfig {
        database_url: "mysql://x".into(),
        ..OrchestratorConfig::default()
    };
    assert!(Store::connect(&cfg).await.is_err());
}

#[tokio::test]
async fn inspect_reads_the_embedded_store_without_creating_or_migrating_it() {
    let dir = std::env::temp_dir().join(octollm_testkit::unique_name("octollm-inspect"));
    let cfg = OrchestratorConfig {
        data_dir: dir.display().to_string(),
        ..OrchestratorConfig::default()
    };
    let wait = Duration::from_secs(5);
    let before = Store::inspect(&cfg, wait).await.unwrap();
    assert_eq!(before.backend, "sqlite");
    assert!(!before.exists);
    assert!(!dir.exists(), "inspect created the data directory");
    let m = &before.migrations;
    assert!(!m.known.is_empty());
    assert_eq!(m.pending, m.known);
    assert!(!m.current());

    Store::connect(&cfg).await.unwrap().close().await;
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let closed = files();
    let after = Store::inspect(&cfg, wait).await.unwrap();
    assert!(after.exists);
    assert!(!after.server_version.is_empty());
    assert!(after.migrations.current(), "{:?}", after.migrations);
    assert_eq!(after.migrations.applied, after.migrations.known);
    assert_eq!(files(), closed, "inspect left files behind");
    std::fs::remove_dir_all(&dir).unwrap();
}
