//! Functional behaviour of the executor API: FC-006/FC-007, tokens, error
//! shapes, provenance, audit log, capabilities, metrics, concurrency and the
//! http action against a local HTTPS server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{output, Server};
use octollm_testkit::http::{assert_metric_families, send_json, send_text};
use octollm_testkit::tls::{self, HttpsServer, Reply};
use octollm_types::token::{self, caps};
use serde_json::json;

#[tokio::test]
async fn fc006_echo_runs_in_the_sandbox_with_provenance() {
    let s = Server::start().await;
    let (status, v) = s
        .post(json!({"action_type": "shell", "command": "echo", "args": ["Hello from Executor"], "timeout_seconds": 10}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["output"], "Hello from Executor\n");
    assert_eq!(v["exit_code"], 0);
    assert!(v["error"].is_null());
    let p = &v["provenance"];
    assert_eq!(
        p["command_hash"],
        octollm_executor::provenance::command_hash("echo", &["Hello from Executor".into()])
    );
    assert_eq!(p["command_hash"].as_str().unwrap().len(), 64);
    assert_eq!(p["capabilities_used"], json!(["shell_read"]));
    let layers: Vec<&str> = p["sandbox"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for l in [
        "userns",
        "mountns",
        "pidns",
        "netns",
        "ipcns",
        "utsns",
        "seccomp",
        "landlock",
        "rlimits",
        "no_new_privs",
        "cgroup_memory",
        "cgroup_pids",
        "pivot_root",
        "readonly_root",
    ] {
        assert!(layers.contains(&l), "{l} missing from {layers:?}");
    }
    assert!(p["sandbox"].get("missing").is_none());
    assert!(p["resource_usage"]["max_memory_bytes"].as_u64().unwrap() > 0);
    assert!(p["timestamp"].as_str().unwrap().contains('T'));
    // The same record is in the audit log.
    let log = std::fs::read_to_string(s.audit_path()).unwrap();
    let rec: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(rec["provenance"]["command_hash"], p["command_hash"]);
    assert_eq!(rec["outcome"], "success");
    // The /execute alias behaves the same.
    let res = s
        .client
        .post(s.url("/execute"))
        .json(&json!({"command": "echo", "args": ["alias"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    s.assert_clean().await;
}

#[tokio::test]
async fn fc007_rm_is_refused_with_the_spec_message() {
    let s = Server::start().await;
    let (status, v) = s.shell("rm", &["-rf", "/"]).await;
    assert_eq!(status, 403);
    assert_eq!(v["success"], false);
    assert_eq!(
        v["error"],
        "Command 'rm' is not in the allowlist. Allowed commands: echo, cat, ls, grep, head, tail, wc, sort, uniq, find, date, python3"
    );
    assert_eq!(v["error_code"], "COMMAND_NOT_ALLOWED");
    let log = std::fs::read_to_string(s.audit_path()).unwrap();
    assert!(log.contains("\"outcome\":\"denied\""));
}

#[tokio::test]
async fn non_zero_exit_is_200_with_success_false_and_stdin_is_fed() {
    let s = Server::start().await;
    let (status, v) = s.shell("ls", &["/does-not-exist"]).await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], false);
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["error_code"], "NON_ZERO_EXIT");
    assert!(v["stderr"].as_str().unwrap().contains("does-not-exist"));
    let (status, v) = s
        .post(json!({"command": "sort", "stdin": "b\na\nc\n"}))
        .await;
    assert_eq!((status, output(&v)), (200, "a\nb\nc\n"));
    let (_, v) = s
        .post(json!({"command": "wc", "args": ["-c"], "stdin": "x".repeat(200_000)}))
        .await;
    assert_eq!(output(&v).trim(), "200000");
    s.assert_clean().await;
}

#[tokio::test]
async fn malformed_oversized_and_invalid_requests_get_4xx() {
    let s = Server::start().await;
    let post_raw = |body: Vec<u8>| {
        send_json(
            s.client
                .post(s.url("/api/v1/execute"))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let (st, v) = post_raw(b"{\"command\": ".to_vec()).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (400, Some("MALFORMED_JSON"))
    );
    assert_eq!(v["success"], false);
    let (st, _) = post_raw(b"\xff\xfe".to_vec()).await;
    assert_eq!(st, 400);
    let (st, v) = post_raw(br#"{"command": 5}"#.to_vec()).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (422, Some("VALIDATION_ERROR"))
    );
    let (st, _) = post_raw(
        format!(
            "{{\"command\":\"echo\",\"args\":[\"{}\"]}}",
            "a".repeat(300_000)
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(st, 413);
    let (st, _) = s
        .post(json!({"command": "echo", "timeout_seconds": -1}))
        .await;
    assert_eq!(st, 422);
    let (st, _) = s
        .post(json!({"command": "echo", "timeout_seconds": 1e9}))
        .await;
    assert_eq!(st, 422);
    let (st, _) = s
        .post(json!({"action_type": "teleport", "command": "echo"}))
        .await;
    assert_eq!(st, 422);
    let (st, _) = s.post(json!({"command": ""})).await;
    assert_eq!(st, 422);
    let (st, _) = s
        .post(json!({"command": "echo", "args": ["a\u{0}b"]}))
        .await;
    assert_eq!(st, 400);
    s.assert_clean().await;
}

#[tokio::test]
async fn capability_tokens_are_enforced_when_a_secret_is_set() {
    let s = Server::start_with(|c| c.token_secret = "test-secret".into()).await;
    let (st, v) = s.shell("echo", &["hi"]).await;
    assert_eq!((st, v["error_code"].as_str()), (401, Some("TOKEN_MISSING")));
    let forged = token::issue_for(b"other-secret", "t", &[caps::SHELL_READ], 60).unwrap();
    let (st, v) = s
        .post(json!({"command": "echo", "capability_token": forged}))
        .await;
    assert_eq!((st, v["error_code"].as_str()), (401, Some("TOKEN_INVALID")));
    let expired = token::issue(
        b"test-secret",
        &token::Claims {
            sub: "t".into(),
            caps: vec![caps::SHELL_READ.into()],
            iat: 0,
            exp: 1,
            hosts: None,
            ws: None,
        },
    )
    .unwrap();
    let (st, v) = s
        .post(json!({"command": "echo", "capability_token": expired}))
        .await;
    assert_eq!((st, v["error_code"].as_str()), (401, Some("TOKEN_EXPIRED")));
    let read_only = token::issue_for(b"test-secret", "t", &[caps::SHELL_READ], 60).unwrap();
    let (st, v) = s.post(json!({"command": "python3", "args": ["-c", "print(1)"], "capability_token": read_only})).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (403, Some("CAPABILITY_MISSING"))
    );
    let (st, v) = s.post(json!({"action_type": "http", "url": "https://example.org/", "capability_token": read_only})).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (403, Some("CAPABILITY_MISSING"))
    );
    let (st, v) = s
        .post(json!({"command": "echo", "args": ["ok"], "capability_token": read_only}))
        .await;
    assert_eq!((st, output(&v)), (200, "ok\n"));
    let py = token::issue_for(b"test-secret", "t", &[caps::PYTHON_EXEC], 60).unwrap();
    let (st, v) = s
        .post(json!({"command": "python3", "args": ["-c", "print(6*7)"], "capability_token": py}))
        .await;
    assert_eq!((st, output(&v)), (200, "42\n"));
    assert_eq!(v["provenance"]["capabilities_used"], json!(["python_exec"]));
    s.assert_clean().await;
}

#[tokio::test]
async fn capabilities_health_ready_and_metrics() {
    let s = Server::start_with(|c| c.http_allowed_hosts = vec!["docs.example".into()]).await;
    let (_, v) = send_json(s.client.get(s.url("/api/v1/capabilities"))).await;
    assert_eq!(v["allowed_commands"].as_array().unwrap().len(), 12);
    assert_eq!(v["allowed_hosts"], json!(["docs.example"]));
    assert_eq!(v["sandbox"]["available"], true);
    assert!(v["sandbox"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "seccomp"));
    assert_eq!(v["capabilities_required"]["python3"], "python_exec");
    let (_, h) = send_json(s.client.get(s.url("/health"))).await;
    assert_eq!(h["status"], "healthy");
    assert_eq!(h["sandbox"], "ready");
    assert_eq!(
        s.client.get(s.url("/ready")).send().await.unwrap().status(),
        200
    );
    s.shell("echo", &["x"]).await;
    s.shell("rm", &["x"]).await;
    let (_, m) = send_text(s.client.get(s.url("/metrics"))).await;
    assert_metric_families(&m, 10);
    assert!(
        m.contains("octollm_executor_executions_total{action=\"shell\",outcome=\"success\"} 1"),
        "{m}"
    );
    assert!(m.contains("octollm_executor_policy_denials_total{reason=\"command_not_allowed\"} 1"));
    s.assert_clean().await;
}

#[tokio::test]
async fn a_hundred_concurrent_executions_all_succeed_and_leave_nothing() {
    let s = Arc::new(Server::start().await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.post(json!({"command": "echo", "args": [format!("run-{i}")], "timeout_seconds": 60}))
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["success"], true);
        assert_eq!(output(&v), format!("run-{i}\n"));
    }
    s.assert_clean().await;
}

/// A sink as the blocking local entry takes it.
type Sink = Box<dyn FnMut(octollm_executor::Stream, &[u8]) + Send>;

#[tokio::test]
async fn local_cli_path_uses_the_same_sandbox() {
    let s = Server::start().await;
    let ex = Arc::new(
        octollm_executor::Executor::start(s.config.clone())
            .await
            .unwrap(),
    );
    // The blocking entry `octollm exec` uses, off the async test's thread.
    let run = |command: &'static str, args: Vec<String>, timeout, sink: Sink| {
        let ex = ex.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                ex.run_local_blocking(command, &args, timeout, sink)
            })
            .await
            .unwrap()
        }
    };
    let code = run(
        "python3",
        vec![
            "-c".into(),
            "import sys; sys.exit(open('/proc/self/status').read().count('Seccomp:\\t2') + 6)"
                .into(),
        ],
        Duration::from_secs(10),
        Box::new(|_, _| {}),
    )
    .await
    .unwrap();
    assert_eq!(code, 7);
    let t = run(
        "python3",
        vec!["-c".into(), "while True: pass".into()],
        Duration::from_millis(500),
        Box::new(|_, _| {}),
    )
    .await
    .unwrap();
    assert_eq!(t, octollm_executor::TIMEOUT_EXIT);
    assert!(
        run("rm", vec![], Duration::from_secs(1), Box::new(|_, _| {}))
            .await
            .is_err()
    );
    // Output reaches the caller's sink, stream by stream; nothing is printed.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let code = run(
        "python3",
        vec![
            "-c".into(),
            "import sys; print('out'); sys.stdout.flush(); print('err', file=sys.stderr)".into(),
        ],
        Duration::from_secs(10),
        Box::new(move |stream, chunk| sink.lock().unwrap().push((stream, chunk.to_vec()))),
    )
    .await
    .unwrap();
    assert_eq!(code, 0);
    let seen = seen.lock().unwrap().clone();
    let of = |want| {
        seen.iter()
            .filter(|(s, _)| *s == want)
            .flat_map(|(_, c)| c.clone())
            .collect::<Vec<u8>>()
    };
    assert_eq!(of(octollm_executor::Stream::Stdout), b"out\n");
    assert_eq!(of(octollm_executor::Stream::Stderr), b"err\n");
    drop(ex);
    s.assert_clean().await;
}

/// The one-shot start (`octollm exec`): no self-test and no runtime, yet
/// every layer is in force, refusals and exit statuses are the same, and
/// each run is audited with its layers.
#[tokio::test]
async fn one_shot_local_start_keeps_every_layer() {
    let s = Server::start().await;
    let config = s.config.clone();
    let (code, timed_out, denied, http) = tokio::task::spawn_blocking(move || {
        let ex = octollm_executor::Executor::start_local(config).unwrap();
        let code = ex.run_local_blocking(
            "python3",
            &[
                "-c".into(),
                "import sys; sys.exit(open('/proc/self/status').read().count('Seccomp:\\t2') + 6)"
                    .into(),
            ],
            Duration::from_secs(10),
            |_, _| {},
        );
        let timed_out = ex.run_local_blocking(
            "python3",
            &["-c".into(), "while True: pass".into()],
            Duration::from_millis(500),
            |_, _| {},
        );
        let denied = ex.run_local_blocking("rm", &[], Duration::from_secs(1), |_, _| {});
        (
            code.unwrap(),
            timed_out.unwrap(),
            denied.is_err(),
            ex.health().http_action_ready,
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 7);
    assert_eq!(timed_out, octollm_executor::TIMEOUT_EXIT);
    assert!(denied);
    assert!(!http, "a one-shot run sets up no http fetcher");
    let log = std::fs::read_to_string(s.audit_path()).unwrap();
    let local: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["action"] == "local")
        .collect();
    assert_eq!(local.len(), 2, "{log}");
    for r in &local {
        let layers = r["layers"].as_array().unwrap();
        for want in [
            "seccomp",
            "landlock",
            "cgroup_memory",
            "cgroup_pids",
            "netns",
        ] {
            assert!(layers.iter().any(|l| l == want), "{want} missing: {r}");
        }
        assert_eq!(r["missing"], json!([]));
    }
    s.assert_clean().await;
}

// ---- http action against a local HTTPS server ----

/// A tiny HTTPS server on 127.0.0.1 with canned answers per path.
async fn https_server() -> HttpsServer {
    HttpsServer::start(|req| match req.path.as_str() {
        "/hello" => Reply::ok("hello over tls"),
        "/big" => Reply::ok("b".repeat(300_000)),
        "/to-outside" => {
            Reply::new("302 Found", "").header("Location", "https://not-allowed.example/")
        }
        "/to-plain" => Reply::new("302 Found", "")
            .header("Location", format!("http://localhost:{}/hello", req.port)),
        "/to-hello" => Reply::new("301 Moved", "").header("Location", "/hello"),
        "/loop" => Reply::new("302 Found", "").header("Location", "/loop"),
        _ => Reply::new("404 Not Found", "nope"),
    })
    .await
}

fn https_config(c: &mut octollm_executor::ExecutorConfig) {
    c.http_allowed_hosts = vec!["localhost".into()];
    c.http_private_hosts = vec!["localhost".into()];
    c.http_extra_root_ca_pem = tls::ca_pem().display().to_string();
    c.http_max_response_bytes = 100_000;
}

#[tokio::test]
async fn http_action_fetches_from_an_allowlisted_https_host() {
    let https = https_server().await;
    let port = https.port();
    let s = Server::start_with(https_config).await;
    let (st, v) = s.post(json!({"action_type": "http", "method": "GET", "url": format!("https://localhost:{port}/hello")})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["output"], "hello over tls");
    assert_eq!(v["http_status"], 200);
    assert_eq!(v["provenance"]["capabilities_used"], json!(["http_get"]));
    // A same-host redirect is followed after being re-checked.
    let (_, v) = s
        .post(json!({"action_type": "http", "url": format!("https://localhost:{port}/to-hello")}))
        .await;
    assert_eq!(v["output"], "hello over tls");
    // The size cap stops the download.
    let (_, v) = s
        .post(json!({"action_type": "http", "url": format!("https://localhost:{port}/big")}))
        .await;
    assert_eq!(v["truncated"], true);
    assert_eq!(output(&v).len(), 100_000);
    let (_, v) = s
        .post(json!({"action_type": "http", "url": format!("https://localhost:{port}/missing")}))
        .await;
    assert_eq!(
        (v["success"].as_bool(), v["http_status"].as_u64()),
        (Some(false), Some(404))
    );
}

/// A task's narrowed hosts travel in its token: a token for `localhost`
/// fetches there, and replayed against another host the executor allows
/// it is refused; the narrowing cannot be widened without the secret.
#[tokio::test]
async fn a_tokens_narrowed_hosts_bind_its_fetches() {
    let https = https_server().await;
    let port = https.port();
    let s = Server::start_with(|c| {
        https_config(c);
        c.http_allowed_hosts = vec!["localhost".into(), "127.0.0.1".into()];
        c.http_private_hosts = vec!["localhost".into(), "127.0.0.1".into()];
        c.token_secret = "test-secret".into();
    })
    .await;
    let scoped = |hosts: &[&str]| {
        token::issue_scoped(
            b"test-secret",
            "task-a",
            &[caps::HTTP_GET],
            Some(hosts.iter().map(|h| h.to_string()).collect()),
            60,
        )
        .unwrap()
    };
    let fetch = |url: String, tok: String| json!({"action_type": "http", "url": url, "capability_token": tok});
    let for_a = scoped(&["localhost"]);
    let (st, v) = s
        .post(fetch(
            format!("https://localhost:{port}/hello"),
            for_a.clone(),
        ))
        .await;
    assert_eq!(
        (st, v["output"].as_str()),
        (200, Some("hello over tls")),
        "{v}"
    );
    let before = https.connections();
    let (st, v) = s
        .post(fetch(format!("https://127.0.0.1:{port}/hello"), for_a))
        .await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (403, Some("HOST_NOT_ALLOWED")),
        "{v}"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("this task may reach (localhost)"),
        "{v}"
    );
    assert_eq!(https.connections(), before, "the refused fetch connected");
    // The task allowed 127.0.0.1 gets there; a token without narrowing gets
    // the executor's whole list.
    let (st, _) = s
        .post(fetch(
            format!("https://127.0.0.1:{port}/hello"),
            scoped(&["127.0.0.1"]),
        ))
        .await;
    assert_eq!(st, 200);
    let open = token::issue_for(b"test-secret", "t", &[caps::HTTP_GET], 60).unwrap();
    let (st, _) = s
        .post(fetch(format!("https://127.0.0.1:{port}/hello"), open))
        .await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn http_action_rechecks_redirects_and_refuses_plain_http() {
    let https = https_server().await;
    let port = https.port();
    let s = Server::start_with(https_config).await;
    for (method, path, status, code) in [
        (None, "/to-outside", 403, "HOST_NOT_ALLOWED"),
        (None, "/to-plain", 403, "SCHEME_NOT_ALLOWED"),
        (None, "/loop", 502, "TOO_MANY_REDIRECTS"),
        (Some("POST"), "/hello", 403, "METHOD_NOT_ALLOWED"),
    ] {
        let url = format!("https://localhost:{port}{path}");
        let (st, v) = s
            .post(json!({"action_type": "http", "method": method, "url": url}))
            .await;
        assert_eq!(
            (st, v["error_code"].as_str()),
            (status, Some(code)),
            "{path}: {v}"
        );
    }
    let before = https.connections();
    let (st, _) = s
        .post(json!({"action_type": "http", "url": format!("http://localhost:{port}/hello")}))
        .await;
    assert_eq!(st, 403);
    assert_eq!(https.connections(), before, "plain http reached the server");
}

#[tokio::test]
async fn http_action_ssrf_guard_applies_to_allowlisted_names_resolving_to_loopback() {
    let https = https_server().await;
    let port = https.port();
    let s = Server::start_with(|c| {
        https_config(c);
        c.http_private_hosts = Vec::new();
    })
    .await;
    let (st, v) = s
        .post(json!({"action_type": "http", "url": format!("https://localhost:{port}/hello")}))
        .await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (403, Some("ADDRESS_NOT_ALLOWED")),
        "{v}"
    );
    assert_eq!(https.connections(), 0);
}

/// A token bound to one task's workspace runs, reads and removes that
/// workspace only; a token replayed against another's is refused, and a
/// step cannot write past the workspace's quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_binds_its_workspace() {
    let s = Server::start_with(|c| {
        c.token_secret = "test-secret".into();
        c.workspace_size_bytes = 1 << 20;
    })
    .await;
    let (a, b) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let bound = |ws: &str| {
        let now = chrono::Utc::now().timestamp();
        token::issue(
            b"test-secret",
            &token::Claims {
                sub: ws.to_string(),
                caps: vec![caps::PYTHON_EXEC.into()],
                iat: now,
                exp: now + 60,
                hosts: None,
                ws: Some(ws.to_string()),
            },
        )
        .unwrap()
    };
    let run = |ws: &str, tok: String, code: &str| {
        json!({"action_type": "shell", "command": "python3", "args": ["-c", code],
               "timeout_seconds": 20, "capability_token": tok, "workspace": ws})
    };
    let inputs = |ws: &str, tok: &str| {
        s.client
            .post(s.url(&format!("/api/v1/workspaces/{ws}/inputs")))
            .header(token::HEADER, tok)
            .json(&json!({"files": [{"name": "in.txt", "content_base64": "aGk="}]}))
    };
    let (st, v) = send_json(inputs(&a, &bound(&a))).await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s
        .post(run(&a, bound(&a), "print(open('/workspace/in/in.txt').read()); open('/workspace/out/x', 'w').write('mine')"))
        .await;
    assert_eq!((st, v["output"].as_str()), (200, Some("hi\n")), "{v}");

    // Task B's token, replayed against A's workspace: every door is shut.
    let (st, v) = s.post(run(&a, bound(&b), "print(1)")).await;
    assert_eq!(
        (st, v["error_code"].as_str()),
        (403, Some("WORKSPACE_NOT_GRANTED")),
        "{v}"
    );
    let (st, v) = send_json(inputs(&a, &bound(&b))).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (403, Some("WORKSPACE_NOT_GRANTED")),
        "{v}"
    );
    let artifacts = |ws: &str, tok: String| {
        s.client
            .get(s.url(&format!("/api/v1/workspaces/{ws}/artifacts")))
            .header(token::HEADER, tok)
    };
    let (st, _) = send_json(artifacts(&a, bound(&b))).await;
    assert_eq!(st, 403);
    let (st, _) = send_json(
        s.client
            .get(s.url(&format!("/api/v1/workspaces/{a}/artifacts"))),
    )
    .await;
    assert_eq!(st, 401);
    // In its own workspace B sees nothing of A's.
    let (st, v) = s
        .post(run(
            &b,
            bound(&b),
            "import os; print(sorted(os.listdir('/workspace')))",
        ))
        .await;
    assert_eq!(
        (st, v["output"].as_str()),
        (200, Some("['in', 'out']\n")),
        "{v}"
    );

    // The quota holds at the write that would cross it.
    let (st, v) = s
        .post(run(
            &a,
            bound(&a),
            "open('/workspace/big', 'wb').write(b'x' * (2 << 20))",
        ))
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["stderr"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{v}"
    );

    let (st, v) = send_json(artifacts(&a, bound(&a))).await;
    assert_eq!(
        (st, v["files"][0]["name"].as_str()),
        (200, Some("x")),
        "{v}"
    );
    assert_eq!(v["files"][0]["content_base64"], "bWluZQ==");
    let (st, _) = send_text(
        s.client
            .delete(s.url(&format!("/api/v1/workspaces/{a}")))
            .header(token::HEADER, bound(&a)),
    )
    .await;
    assert_eq!(st, 204);
    assert!(!s.dir.join("data/workspaces").join(&a).exists());
    assert!(s.dir.join("data/workspaces").join(&b).exists());
}
