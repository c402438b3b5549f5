//! Files and a workspace per task (SPEC §9.2) over HTTP, on SQLite and
//! PostgreSQL, with the real sandbox: input files read-only at
//! `/workspace/in`, one workspace shared by a task's steps and by no other
//! task, what the steps leave in `/workspace/out/` kept as artifacts
//! (text screened for secrets), the workspace removed at the end, and bad
//! files refused before anything is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use octollm_types::task::InputFile;
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

fn file(name: &str, bytes: &[u8]) -> Value {
    serde_json::to_value(InputFile::new(name, bytes)).unwrap()
}

async fn setup(kind: Kind) -> (Db, Arms, Orch) {
    let db = Db::new(kind).await;
    let arms = start_arms(ArmsOptions {
        llm_planner: true,
        token_secret: format!("files-secret-{}", tag()),
        executor: None,
    })
    .await;
    let o = start_orch(arms.config(&db)).await;
    (db, arms, o)
}

fn python(step: u32, action: &str, code: &str, deps: &[u32]) -> Value {
    shell(step, action, "python3", &["-c", code], deps)
}

/// The workspace directories the executor holds right now.
fn workspaces(arms: &Arms) -> usize {
    let dir = std::path::Path::new(&arms.executor_config.data_dir).join("workspaces");
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

async fn download(base: &str, id: &str, name: &str) -> (u16, Vec<u8>, String) {
    let res = client()
        .get(format!("{base}/api/v1/tasks/{id}/artifacts/{name}"))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let media = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, res.bytes().await.unwrap().to_vec(), media)
}

async fn round_trip(kind: Kind) {
    let (_db, arms, o) = setup(kind).await;
    let fake = arms.fake.as_ref().unwrap();
    // Step 1 reads the input and writes a file; step 2 sees it and writes
    // the artifacts: text, text with a secret in it, and binary.
    fake.push_reply(plan(vec![
        python(1, "Sum the numbers", "import pathlib, sys; n = sum(int(l) for l in open('/workspace/in/numbers.txt')); pathlib.Path('/workspace/sum.txt').write_text(str(n)); sys.stderr.write('warning: used key AKIAIOSFODNN7EXAMPLE')", &[]),
        python(2, "Report", "import pathlib, os\n\
o = pathlib.Path('/workspace/out')\n\
(o / 'report.txt').write_text('sum=' + open('/workspace/sum.txt').read())\n\
(o / 'leak.txt').write_text('key AKIAIOSFODNN7EXAMPLE here')\n\
(o / 'blob.bin').write_bytes(bytes(range(256)))\n\
try:\n    open('/workspace/in/numbers.txt', 'w')\nexcept OSError as e:\n    print('read-only', e.errno)\n", &[1]),
    ]));
    let id = submit(
        &o.url,
        json!({"goal": "Sum the numbers", "files": [file("numbers.txt", b"1\n2\n39\n")]}),
    )
    .await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert!(
        v["result"]["output"]
            .as_str()
            .unwrap()
            .starts_with("read-only 30"),
        "{v:#}"
    );
    // A completed step keeps its stderr, redacted like its output.
    let stderr = v["steps"][0]["stderr"].as_str().unwrap_or_default();
    assert!(stderr.starts_with("warning: used key"), "{v:#}");
    assert!(!stderr.contains("AKIAIOSFODNN7EXAMPLE"), "{stderr}");
    assert!(v["steps"][1].get("stderr").is_none(), "{v:#}");
    let names: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["blob.bin", "leak.txt", "report.txt"], "{v:#}");

    let (st, body, media) = download(&o.url, &id, "report.txt").await;
    assert_eq!((st, body.as_slice()), (200, b"sum=42".as_slice()));
    assert_eq!(media, "text/plain; charset=utf-8");
    let (st, body, media) = download(&o.url, &id, "blob.bin").await;
    assert_eq!((st, media.as_str()), (200, "application/octet-stream"));
    assert_eq!(body, (0u8..=255).collect::<Vec<u8>>());
    let (_, body, _) = download(&o.url, &id, "leak.txt").await;
    let leak = String::from_utf8(body).unwrap();
    assert!(!leak.contains("AKIAIOSFODNN7EXAMPLE"), "{leak}");
    let listed = &v["artifacts"][1];
    assert_eq!(listed["redacted"], true, "{listed}");
    assert_eq!(download(&o.url, &id, "missing.txt").await.0, 404);
    let (st, list) = get(&format!("{}/api/v1/tasks/{id}/artifacts", o.url)).await;
    assert_eq!((st, list["artifacts"].as_array().unwrap().len()), (200, 3));
    // The workspace is gone once the task ended.
    assert_eq!(workspaces(&arms), 0);
    o.handle.shutdown().await;
}

async fn bad_files(kind: Kind) {
    let (db, _arms, o) = setup(kind).await;
    let big = vec![b'x'; (1 << 20) + 1];
    let nine = vec![b'y'; 1 << 20];
    // Eight files at the per-file cap and one more byte: over the total.
    let mut over: Vec<Value> = (0..8).map(|i| file(&format!("f{i}"), &nine)).collect();
    over.push(file("one-more", b"z"));
    let far_over: Vec<Value> = (0..10).map(|i| file(&format!("f{i}"), &nine)).collect();
    for (files, code) in [
        (json!([file("../etc/passwd", b"x")]), "INVALID_FILE_NAME"),
        (json!([file("a/b", b"x")]), "INVALID_FILE_NAME"),
        (json!([file("bell\u{7}", b"x")]), "INVALID_FILE_NAME"),
        (json!([file("..", b"x")]), "INVALID_FILE_NAME"),
        (
            json!([file("same", b"x"), file("same", b"y")]),
            "DUPLICATE_FILE_NAME",
        ),
        (
            json!([{"name": "x", "content_base64": "not base64!"}]),
            "INVALID_FILE",
        ),
        (json!([file("big", &big)]), "FILE_TOO_LARGE"),
        (json!(over), "FILES_TOO_LARGE"),
    ] {
        let (st, v) = post_task(&o.url, json!({"goal": "x", "files": files})).await;
        assert_eq!((st, v["error"]["code"].as_str()), (400, Some(code)), "{v}");
    }
    // A body far past what the caps allow is not even read: the answer is
    // a 413, or, when it comes while the client is still sending, the
    // connection closed under the rest of the body.
    let refused = post_unread(
        &format!("{}/api/v1/tasks", o.url),
        json!({"goal": "x", "files": far_over}),
    )
    .await;
    if let Some((st, v)) = refused {
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (413, Some("PAYLOAD_TOO_LARGE")),
            "{v}"
        );
    }
    assert_eq!(db.scalar("SELECT COUNT(*) FROM tasks").await, 0);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM task_files").await, 0);
    o.handle.shutdown().await;
}

/// Two tasks at once: each sees its own workspace and never the other's.
/// Both get the same plan (the fake model's replies may be taken in either
/// order): each task marks its workspace with the name of its own input,
/// waits while the other runs, and reads the mark back.
async fn isolation(kind: Kind) {
    let (_db, arms, o) = setup(kind).await;
    let fake = arms.fake.as_ref().unwrap();
    let probe = || {
        plan(vec![
            python(1, "Mark", "import os, time; open('/workspace/mark', 'w').write(os.listdir('/workspace/in')[0]); time.sleep(1)", &[]),
            python(2, "Look", "import os; print(sorted(os.listdir('/workspace')), open('/workspace/mark').read(), sorted(os.listdir('/workspace/in')))", &[1]),
        ])
    };
    fake.push_reply(probe());
    fake.push_reply(probe());
    let a = submit(&o.url, json!({"goal": "A", "files": [file("a.txt", b"A")]})).await;
    let b = submit(&o.url, json!({"goal": "B", "files": [file("b.txt", b"B")]})).await;
    let va = wait_done(&o.url, &a, LONG).await;
    let vb = wait_done(&o.url, &b, LONG).await;
    assert_eq!(
        va["result"]["output"].as_str().unwrap().trim(),
        "['in', 'mark', 'out'] a.txt ['a.txt']",
        "{va:#}"
    );
    assert_eq!(
        vb["result"]["output"].as_str().unwrap().trim(),
        "['in', 'mark', 'out'] b.txt ['b.txt']",
        "{vb:#}"
    );
    o.handle.shutdown().await;
}

both!(files_go_in_and_artifacts_come_out, round_trip);
both!(bad_files_are_refused_and_nothing_is_stored, bad_files);
both!(two_tasks_never_share_a_workspace, isolation);

/// Personal data in a goal: the planner sees a placeholder, the executor
/// gets the value back, so the count is of the user's own address; the
/// stored plan never holds it. Opting out leaves the label for good.
async fn placeholders(kind: Kind) {
    let db = Db::new(kind).await;
    let arms = start_arms(ArmsOptions::default()).await;
    let o = start_orch(arms.config(&db)).await;
    let ledger = file(
        "pay.txt",
        b"jane@example.com paid\nbob@example.com paid\njane@example.com refunded\n",
    );
    let goal = "Count the lines in pay.txt that contain jane@example.com";
    let id = submit(&o.url, json!({"goal": goal, "files": [ledger.clone()]})).await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(v["result"]["output"].as_str().unwrap().trim(), "2", "{v:#}");
    assert!(
        v["screened_goal"].as_str().unwrap().contains("[EMAIL_1]"),
        "{v:#}"
    );
    let plan = v["plan"].to_string();
    assert!(
        plan.contains("[EMAIL_1]") && !plan.contains("jane@"),
        "{plan}"
    );

    // What the user is shown: their own address as they wrote it, anyone
    // else's labelled.
    let meeting = file(
        "meet.txt",
        b"jane@example.com and bob@example.com met\nnobody else\n",
    );
    let id = submit(
        &o.url,
        json!({"goal": "Show the lines in meet.txt that contain jane@example.com", "files": [meeting]}),
    )
    .await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert_eq!(
        v["result"]["output"].as_str().unwrap().trim(),
        "jane@example.com and [EMAIL] met",
        "{v:#}"
    );

    let id = submit(
        &o.url,
        json!({"goal": goal, "files": [ledger], "tokenize_pii": false}),
    )
    .await;
    let v = wait_done(&o.url, &id, LONG).await;
    assert!(
        v["screened_goal"].as_str().unwrap().contains("[EMAIL]"),
        "{v:#}"
    );
    assert_ne!(v["status"], "completed", "{v:#}");
    o.handle.shutdown().await;
}

both!(
    a_goals_personal_data_reaches_the_executor_not_the_planner,
    placeholders
);
