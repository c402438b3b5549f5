//! The data directory's disk full (a small tmpfs): submissions are refused
//! with a clear 503, nothing stored is damaged, and once space is freed
//! the system takes work again.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::harness::*;

/// Fills the filesystem holding `dir` with one file; its path.
fn fill(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // Whatever is left below a chunk, byte by byte.
    while f.write(&[0u8]).is_ok_and(|n| n == 1) {}
    let _ = f.sync_all();
    path
}

async fn integrity(db: &Path) -> String {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_then_freed() {
    bounded("disk_full_then_freed", Duration::from_secs(120), async {
        let scratch = Scratch::new("chaos-disk");
        let store = Tmpfs::mount(scratch.join("store"), "4M");
        let sandbox = Sandbox::new(4);
        let mut env = vec![
            (
                "OCTOLLM_DATA_DIR".to_string(),
                scratch.join("data").display().to_string(),
            ),
            (
                "OCTOLLM_ORCHESTRATOR_DATA_DIR".into(),
                store.path().display().to_string(),
            ),
        ];
        env.extend(sandbox.env(&scratch.join("sandbox-root")));
        let up = Up::start(scratch.path(), &env).await;
        let o = up.orchestrator();

        let before = submit(&o, "Echo written before the disk filled", 30).await;
        let done = wait_task_until(&o, &before, Duration::from_secs(30), ended).await;
        assert_eq!(done["status"], "completed", "{done:#}");

        let filler = fill(store.path());

        // Refused, clearly and quickly; nothing half-written.
        let mut accepted = Vec::new();
        let mut refused = 0;
        for i in 0..5 {
            let asked = Instant::now();
            let res = client()
                .post(format!("{o}/api/v1/tasks"))
                .json(&serde_json::json!({"goal": format!("Echo while full {i}"),
                                         "budget": {"max_time_seconds": 60}}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let retry_after = res.headers().get("retry-after").cloned();
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(
                asked.elapsed() < Duration::from_secs(5),
                "a submission took {:?} with the disk full",
                asked.elapsed()
            );
            match status {
                503 => {
                    assert_eq!(body["error"]["code"], "STORE_FULL", "{body}");
                    assert!(retry_after.is_some(), "503 without Retry-After: {body}");
                    refused += 1;
                }
                // SQLite may still find room in pages it already owns.
                202 => accepted.push(body["task_id"].as_str().unwrap().to_string()),
                s => panic!("unexpected {s} with the disk full: {body}"),
            }
        }
        eprintln!("disk full: {refused} of 5 submissions refused with STORE_FULL");
        assert!(
            refused >= 3,
            "only {refused} of 5 submissions refused with the disk full"
        );
        // What was written before is still there and readable.
        let (status, v) = get(&format!("{o}/api/v1/tasks/{before}")).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["status"], "completed", "{v}");

        std::fs::remove_file(&filler).unwrap();

        // Space again: new work is taken, and whatever was accepted
        // meanwhile runs to the end.
        let after = submit(&o, "Echo written after space was freed", 30).await;
        accepted.push(after);
        for id in &accepted {
            let t = wait_task_until(&o, id, Duration::from_secs(60), ended).await;
            assert_eq!(t["status"], "completed", "{t:#}");
        }
        let (status, v) = get(&format!("{o}/api/v1/tasks/{before}")).await;
        assert_eq!(
            (status, v["status"].as_str()),
            (200, Some("completed")),
            "{v}"
        );
        assert_eq!(integrity(&store.path().join("orchestrator.db")).await, "ok");
        drop(up);
        assert_eq!(integrity(&store.path().join("orchestrator.db")).await, "ok");
    })
    .await;
}
