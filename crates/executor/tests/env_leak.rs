//! The server's own environment never reaches the sandbox. A separate test
//! binary, because it puts a canary into this process's environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{output, Server};
use octollm_testkit::http::send_json;

#[test]
fn server_environment_and_secrets_do_not_leak() {
    let canary = format!("canary-{}", std::process::id());
    // Only thread in this binary, before any runtime starts.
    std::env::set_var("OCTOLLM_TOKEN_SECRET", &canary);
    std::env::set_var("OCTOLLM_TEST_CANARY", &canary);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Server::start_with(|c| c.token_secret = canary.clone()).await;
        let token = octollm_types::token::issue_for(canary.as_bytes(), "t", &["python_exec", "shell_read"], 60).unwrap();
        let code = r#"
import os, glob
print("ENV", sorted(os.environ.items()))
for p in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        print(p, open(p, "rb").read())
    except OSError as e:
        print(p, "denied", e.errno)
"#;
        let (_, res) = send_json(
            s.client
                .post(s.url("/api/v1/execute"))
                .json(&serde_json::json!({"command": "python3", "args": ["-c", code], "capability_token": token})),
        )
        .await;
        assert_eq!(res["success"], true, "{res}");
        let out = output(&res);
        assert!(out.contains("ENV [('HOME', '/workspace'), ('LANG', 'C.UTF-8'), ('PATH', "), "{out}");
        assert!(!out.contains(&canary), "canary leaked: {out}");
        assert!(out.contains("/proc/1/environ denied"), "{out}");
        s.assert_clean().await;
    });
}
