//! Human approval of steps (SPEC §9.1) over HTTP, on SQLite and
//! PostgreSQL: a step the policy names waits, parked, until a person
//! approves or rejects it or the request lapses; independent steps run
//! meanwhile; a restart loses nothing; only approver keys may decide.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use octollm_orchestrator::OrchestratorConfig;
use octollm_planner::LlmConfig;
use octollm_server::ApiKeys;
use octollm_testkit::http::send_json_or_null;
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

/// Arms planning through the fake LLM, and an orchestrator whose policy
/// puts `python_exec` behind approval, edited by `edit`.
async fn setup(kind: Kind, edit: impl FnOnce(&mut OrchestratorConfig)) -> (Db, Arms, Orch) {
    let db = Db::new(kind).await;
    let arms = approval_arms().await;
    let mut cfg = approval_config(&arms, &db);
    edit(&mut cfg);
    let o = start_orch(cfg).await;
    (db, arms, o)
}

/// Arms planning through the fake LLM, with capability tokens on.
async fn approval_arms() -> Arms {
    start_arms(ArmsOptions {
        llm_planner: true,
        token_secret: format!("approval-secret-{}", tag()),
        executor: None,
    })
    .await
}

fn approval_config(arms: &Arms, db: &Db) -> OrchestratorConfig {
    OrchestratorConfig {
        approval_required: vec!["python_exec".into()],
        // A rejection ends the task here; revising the plan is tested on its own.
        max_replans: 0,
        ..arms.config(db)
    }
}

/// The next plan: one step running `code` with Python.
fn one_python(fake: &octollm_fake_llm::FakeLlm, code: &str) {
    fake.push_reply(plan(vec![shell(
        1,
        "Run Python",
        "python3",
        &["-c", code],
        &[],
    )]));
}

async fn decide(base: &str, id: &str, step: u32, verb: &str, reason: &str) -> (u16, Value) {
    post(
        &format!("{base}/api/v1/tasks/{id}/steps/{step}/{verb}"),
        json!({ "reason": reason }),
    )
    .await
}

/// Step `n` of a task view; null while the task has no plan yet.
fn step(task: &Value, n: u64) -> &Value {
    static NONE: Value = Value::Null;
    task["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == n))
        .unwrap_or(&NONE)
}

fn output(task: &Value) -> &str {
    task["result"]["output"].as_str().unwrap_or_default().trim()
}

async fn parked(base: &str, id: &str) -> Value {
    wait_until(base, id, LONG, |v| v["status"] == "awaiting_approval").await
}

async fn approve_and_reject(kind: Kind) {
    let (db, arms, o) = setup(kind, |_| {}).await;
    let fake = arms.fake.as_ref().unwrap();

    // Step 1 needs nothing; step 2 runs Python on step 1's output and waits.
    fake.push_reply(plan(vec![
        shell(1, "Say a number", "echo", &["6"], &[]),
        json!({"step": 2, "action": "Multiply it", "required_arm": "executor",
               "tool_call": {"action_type": "shell", "command": "python3",
                             "args": ["-c", "print(int(input()) * 7)"], "stdin": "{{step_1.output}}"},
               "depends_on": [1]}),
    ]));
    // Two seconds to run in: the time parked must not count against it.
    let id = submit(
        &o.url,
        json!({"goal": "Multiply", "budget": {"max_time_seconds": 2}}),
    )
    .await;
    let v = parked(&o.url, &id).await;
    assert_eq!(step(&v, 1)["status"], "completed", "{v:#}");
    let waiting = step(&v, 2);
    assert_eq!(waiting["status"], "awaiting_approval", "{v:#}");
    let req = &waiting["approval"]["request"];
    assert_eq!(req["command"], "python3", "{req:#}");
    assert_eq!(req["args"], json!(["-c", "print(int(input()) * 7)"]));
    assert_eq!(req["capabilities"], json!(["python_exec"]));
    assert_eq!(req["because"], json!(["python_exec"]));
    assert_eq!(req["stdin"]["source"], "steps");
    assert_eq!(req["stdin"]["steps"], json!([1]));
    assert_eq!(req["stdin"]["preview"], "6\n");
    assert!(waiting["approval"].get("decision").is_none(), "{waiting:#}");
    // Parked: no worker holds it, nothing ran, the request is on the log.
    assert_eq!(
        db.scalar(&format!(
            "SELECT COUNT(*) FROM tasks WHERE id = '{id}' AND lease_owner = ''"
        ))
        .await,
        1
    );
    assert_eq!(arms.audit_runs("python3"), 0);
    assert_eq!(
        db.scalar(&format!(
            "SELECT COUNT(*) FROM events WHERE task_id = '{id}' AND kind = 'approval_requested'"
        ))
        .await,
        1
    );

    // Only a waiting step can be decided; a bad step is a 400 or 404.
    let (st, e) = decide(&o.url, &id, 1, "approve", "").await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("STEP_NOT_AWAITING_APPROVAL")),
        "{e}"
    );
    assert_eq!(decide(&o.url, &id, 9, "approve", "").await.0, 404);
    let (st, _) = post(
        &format!("{}/api/v1/tasks/{id}/steps/two/approve", o.url),
        json!({}),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = post(
        &format!("{}/api/v1/tasks/{id}/steps/2/approve", o.url),
        json!({"why": 1}),
    )
    .await;
    assert_eq!(st, 422);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (st, t) = decide(&o.url, &id, 2, "approve", "checked the script").await;
    assert_eq!(st, 200, "{t}");
    assert_eq!(t["task_id"], id.as_str());
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(output(&v), "42");
    let approval = &step(&v, 2)["provenance"]["approval"];
    assert_eq!(approval["decision"], "approved", "{v:#}");
    assert_eq!(approval["by"], "local");
    assert_eq!(approval["reason"], "checked the script");
    assert_eq!(step(&v, 2)["approval"]["decision"], *approval);
    // The decision is made once.
    assert_eq!(decide(&o.url, &id, 2, "reject", "").await.0, 409);

    // A rejected step never runs; the task fails saying who and why.
    one_python(fake, "print('never')");
    let id = submit(&o.url, json!({"goal": "Run it"})).await;
    parked(&o.url, &id).await;
    let (st, _) = decide(&o.url, &id, 1, "reject", "not on a Friday").await;
    assert_eq!(st, 200);
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "failed", "{v:#}");
    assert_eq!(v["error"]["code"], "APPROVAL_REJECTED", "{v:#}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("rejected by local: not on a Friday"), "{msg}");
    assert_eq!(step(&v, 1)["status"], "failed");
    assert_eq!(step(&v, 1)["approval"]["decision"]["decision"], "rejected");
    assert_eq!(arms.audit_runs("never"), 0);

    // A parked task is cancelled at once.
    one_python(fake, "print(1)");
    let id = submit(&o.url, json!({"goal": "Run it"})).await;
    parked(&o.url, &id).await;
    let (st, c) = post(&format!("{}/api/v1/tasks/{id}/cancel", o.url), json!({})).await;
    assert_eq!((st, c["status"].as_str()), (200, Some("cancelled")), "{c}");
    let v = get_task(&o.url, &id).await;
    assert_eq!(step(&v, 1)["status"], "cancelled", "{v:#}");
    assert_eq!(decide(&o.url, &id, 1, "approve", "").await.0, 409);
    o.handle.shutdown().await;
}

async fn others_run_while_one_waits(kind: Kind) {
    let (_db, arms, o) = setup(kind, |_| {}).await;
    let fake = arms.fake.as_ref().unwrap();
    // Step 1 waits; step 2 does not depend on it and runs; step 3 needs both.
    fake.push_reply(plan(vec![
        shell(
            1,
            "Compute",
            "python3",
            &["-c", "print(2 + 2, end='')"],
            &[],
        ),
        shell(2, "Say hello", "echo", &["hello"], &[]),
        shell(
            3,
            "Join",
            "echo",
            &["{{step_1.output}}", "{{step_2.output}}"],
            &[1, 2],
        ),
    ]));
    let id = submit(&o.url, json!({"goal": "Both"})).await;
    let v = wait_until(&o.url, &id, LONG, |v| {
        step(v, 2)["status"] == "completed" && step(v, 1)["status"] == "awaiting_approval"
    })
    .await;
    assert_eq!(step(&v, 3)["status"], "pending", "{v:#}");
    let v = parked(&o.url, &id).await;
    assert_eq!(step(&v, 1)["status"], "awaiting_approval");
    decide(&o.url, &id, 1, "approve", "").await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(output(&v), "4 hello");

    // "approval": "always" puts even an echo behind approval; the request
    // says why.
    fake.push_reply(plan(vec![shell(1, "Say it", "echo", &["hi"], &[])]));
    let id = submit(&o.url, json!({"goal": "Say hi", "approval": "always"})).await;
    let v = parked(&o.url, &id).await;
    assert_eq!(
        step(&v, 1)["approval"]["request"]["because"],
        json!(["always"])
    );
    decide(&o.url, &id, 1, "approve", "").await;
    assert_eq!(wait_done(&o.url, &id, LONG).await["status"], "completed");
    // Anything else there is refused before it is stored.
    let (st, _) = post_task(&o.url, json!({"goal": "x", "approval": "never"})).await;
    assert_eq!(st, 422);
    o.handle.shutdown().await;
}

async fn a_request_lapses(kind: Kind) {
    let (_db, arms, o) = setup(kind, |c| c.approval_timeout_seconds = 1).await;
    let fake = arms.fake.as_ref().unwrap();
    one_python(fake, "print(1)");
    let id = submit(&o.url, json!({"goal": "Run it"})).await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "failed", "{v:#}");
    assert_eq!(v["error"]["code"], "APPROVAL_TIMEOUT", "{v:#}");
    assert_eq!(step(&v, 1)["approval"]["decision"]["decision"], "expired");
    assert_eq!(arms.audit_runs("print(1)"), 0);
    o.handle.shutdown().await;
}

async fn a_restart_loses_nothing(kind: Kind) {
    let (db, arms, o) = setup(kind, |_| {}).await;
    let fake = arms.fake.as_ref().unwrap();
    one_python(fake, "print(3 * 3)");
    let id = submit(&o.url, json!({"goal": "Compute"})).await;
    parked(&o.url, &id).await;
    o.handle.shutdown().await;
    let o = start_orch(approval_config(&arms, &db)).await;
    assert_eq!(get_task(&o.url, &id).await["status"], "awaiting_approval");
    let (st, _) = decide(&o.url, &id, 1, "approve", "after the restart").await;
    assert_eq!(st, 200);
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(output(&v), "9");
    o.handle.shutdown().await;
}

async fn only_approvers_decide(kind: Kind) {
    let db = Db::new(kind).await;
    let arms = approval_arms().await;
    let cfg = OrchestratorConfig {
        approver_keys: vec!["alice".into()],
        ..approval_config(&arms, &db)
    };
    let keys = ApiKeys::from_csv("alice:alice-secret,bob:bob-secret");
    let o = start_orch_with_keys(cfg, LlmConfig::default(), keys).await;
    let with = |key: &str, rb: reqwest::RequestBuilder| rb.bearer_auth(key.to_string());
    let fake = arms.fake.as_ref().unwrap();
    one_python(fake, "print(5)");
    let (st, v) = send_json_or_null(with(
        "bob-secret",
        client()
            .post(format!("{}/api/v1/tasks", o.url))
            .json(&json!({"goal": "Compute"})),
    ))
    .await;
    assert_eq!(st, 202, "{v}");
    let id = v["task_id"].as_str().unwrap().to_string();
    let show = || {
        with(
            "bob-secret",
            client().get(format!("{}/api/v1/tasks/{id}", o.url)),
        )
    };
    let deadline = std::time::Instant::now() + LONG;
    while send_json_or_null(show()).await.1["status"] != "awaiting_approval" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let approve = format!("{}/api/v1/tasks/{id}/steps/1/approve", o.url);
    let (st, _) = send_json_or_null(client().post(&approve).json(&json!({}))).await;
    assert_eq!(st, 401);
    let (st, e) =
        send_json_or_null(with("bob-secret", client().post(&approve).json(&json!({})))).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (403, Some("NOT_AN_APPROVER")),
        "{e}"
    );
    let (st, _) = send_json_or_null(with(
        "alice-secret",
        client().post(&approve).json(&json!({})),
    ))
    .await;
    assert_eq!(st, 200);
    loop {
        let v = send_json_or_null(show()).await.1;
        if v["status"] == "completed" {
            assert_eq!(
                v["steps"][0]["provenance"]["approval"]["by"], "alice",
                "{v:#}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{v:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    o.handle.shutdown().await;
}

/// With a planner that revises plans, a rejected step is planned around:
/// the planner is told who rejected it and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_step_is_planned_around() {
    let (_db, arms, o) = setup(Kind::Sqlite, |c| c.max_replans = 1).await;
    let fake = arms.fake.as_ref().unwrap();
    one_python(fake, "print(3)");
    fake.push_reply(plan(vec![shell(1, "Say the count", "echo", &["3"], &[])]));
    let id = submit(&o.url, json!({"goal": "Count"})).await;
    parked(&o.url, &id).await;
    decide(&o.url, &id, 1, "reject", "no Python here").await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(output(&v), "3");
    assert_eq!(
        v["plan_history"][1]["reason"]["code"], "APPROVAL_REJECTED",
        "{v:#}"
    );
    let asked = fake
        .requests()
        .last()
        .unwrap()
        .last_user_text()
        .unwrap_or_default();
    assert!(asked.contains("no Python here"), "{asked}");
    assert_eq!(arms.audit_runs("print(3)"), 0);
    o.handle.shutdown().await;
}

/// With personal data in the goal, the person approves the call as it will
/// run: the value, not the planner's placeholder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_shows_the_value_behind_a_placeholder() {
    let (_db, arms, o) = setup(Kind::Sqlite, |_| {}).await;
    let fake = arms.fake.as_ref().unwrap();
    fake.push_reply(plan(vec![shell(
        1,
        "Greet",
        "echo",
        &["hello [EMAIL_1]"],
        &[],
    )]));
    let id = submit(
        &o.url,
        json!({"goal": "Greet jane@example.com", "approval": "always"}),
    )
    .await;
    let v = parked(&o.url, &id).await;
    assert_eq!(
        step(&v, 1)["approval"]["request"]["args"],
        json!(["hello jane@example.com"]),
        "{v:#}"
    );
    assert!(!v["plan"].to_string().contains("jane@"), "{v:#}");
    decide(&o.url, &id, 1, "approve", "").await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(output(&v), "hello jane@example.com", "{v:#}");
    o.handle.shutdown().await;
}

#[tokio::test]
async fn a_bad_policy_entry_stops_the_start() {
    let db = Db::new(Kind::Sqlite).await;
    let cfg = OrchestratorConfig {
        database_url: db.database_url(),
        data_dir: db.data_dir(),
        approval_required: vec!["shell_write".into(), "sudo".into()],
        ..OrchestratorConfig::default()
    };
    let err = octollm_orchestrator::app(cfg, opts("orchestrator"))
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("'sudo'"), "{err}");
}

both!(a_step_waits_until_approved_or_rejected, approve_and_reject);
both!(
    independent_steps_run_while_one_waits,
    others_run_while_one_waits
);
both!(an_undecided_request_times_out, a_request_lapses);
both!(a_waiting_task_survives_a_restart, a_restart_loses_nothing);
both!(only_approver_keys_may_decide, only_approvers_decide);
