//! The reflex layer's rules file through the binary: `octollm scan --rules`
//! applies it, and `octollm serve reflex` reloads it on SIGHUP without a
//! restart, keeping the old rules when the new file does not load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use octollm_testkit::ports::free_port;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// The types the running layer reports in `text`.
async fn types(port: u16, text: &str) -> Option<Vec<String>> {
    // Not up yet is not an error here: the caller waits.
    let res = octollm_testkit::http::client()
        .post(format!("http://127.0.0.1:{port}/api/v1/reflex/process"))
        .json(&json!({"text": text, "use_cache": false}))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let st = res.status().as_u16();
    let v: Value = res.json().await.ok()?;
    (st == 200).then(|| {
        v["pii_detected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["name"]
                    .as_str()
                    .unwrap_or(f["type"].as_str().unwrap())
                    .to_string()
            })
            .collect()
    })
}

async fn eventually(port: u16, text: &str, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = types(port, text).await;
        if got
            .as_deref()
            .is_some_and(|g| g.iter().map(String::as_str).eq(want.iter().copied()))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{text}: still {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_apply_to_scan_and_reload_on_sighup() {
    let dir = std::env::temp_dir().join(format!("octollm-cli-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = dir.join("rules.toml");
    std::fs::write(
        &rules,
        "[[pii]]\nname = \"employee_id\"\npattern = 'EMP-\\d{6}'\n",
    )
    .unwrap();

    // Findings make scan exit 1; the verdict is what matters here.
    let out = Command::new(BIN)
        .args([
            "scan",
            "--json",
            "--rules",
            rules.to_str().unwrap(),
            "badge EMP-123456",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pii_detected"][0]["name"], "employee_id", "{v}");

    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "reflex"])
        .env("OCTOLLM_REFLEX_PORT", port.to_string())
        .env("OCTOLLM_REFLEX_RULES_FILE", &rules)
        .env("OCTOLLM_DATA_DIR", dir.join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually(port, "badge EMP-123456 and STAFF-9876", &["employee_id"]).await;

    // A new file, then SIGHUP: the new type is found, the old one is not.
    std::fs::write(
        &rules,
        "[[pii]]\nname = \"staff_no\"\npattern = 'STAFF-\\d{4}'\n",
    )
    .unwrap();
    let hup = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    hup(child.id());
    eventually(port, "badge EMP-123456 and STAFF-9876", &["staff_no"]).await;

    // A file that does not load: the rules in force stay.
    std::fs::write(&rules, "[[pii]]\nname = \"broken\"\npattern = '('\n").unwrap();
    hup(child.id());
    tokio::time::sleep(Duration::from_millis(500)).await;
    eventually(port, "badge EMP-123456 and STAFF-9876", &["staff_no"]).await;

    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
