//! `octollm mcp` spoken to in raw JSON-RPC over its stdio: the handshake,
//! the tool list with each tool's input schema, one tool call, and nothing
//! on standard output but protocol messages. (scripts/mcp-test drives every
//! tool with the official Python SDK; this needs neither Python nor root.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use octollm_testkit::unique_name;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

#[test]
fn handshake_tools_and_a_call_over_stdio() {
    let data = std::env::temp_dir().join(unique_name("octollm-mcp-stdio"));
    let mut child = Command::new(BIN)
        .args(["mcp", "--data-dir", &data.display().to_string()])
        // Nothing answers on this port, and no tool here needs an orchestrator.
        .env("OCTOLLM_ORCHESTRATOR_PORT", "1")
        .env("OCTOLLM_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let send = |stdin: &mut std::process::ChildStdin, v: Value| writeln!(stdin, "{v}").unwrap();
    let answer = |id: u64| -> Value {
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("an answer within 20 s");
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            assert_eq!(v["jsonrpc"], "2.0", "{line}");
            if v["id"] == json!(id) {
                return v;
            }
        }
    };

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}}),
    );
    let init = answer(1);
    assert_eq!(init["result"]["serverInfo"]["name"], "octollm", "{init}");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    let list = answer(2);
    let tools = list["result"]["tools"].as_array().expect("a tool list");
    let mut names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "get_task",
            "plan_goal",
            "run_command",
            "run_task",
            "screen_text"
        ]
    );
    for (name, required) in [
        ("screen_text", "text"),
        ("run_command", "command"),
        ("plan_goal", "goal"),
        ("run_task", "goal"),
        ("get_task", "task_id"),
    ] {
        let tool = tools.iter().find(|t| t["name"] == name).unwrap();
        let schema = &tool["inputSchema"];
        assert_eq!(schema["type"], "object", "{name}: {schema}");
        assert_eq!(schema["required"], json!([required]), "{name}: {schema}");
        assert!(
            tool["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "screen_text", "arguments": {"text": "Write to ana@example.org"}}}),
    );
    let call = answer(3);
    let result = &call["result"];
    assert_eq!(result["isError"], false, "{call}");
    assert_eq!(
        result["structuredContent"]["pii_detected"][0]["type"], "email",
        "{call}"
    );
    assert_eq!(
        result["structuredContent"]["redacted_text"], "Write to [EMAIL]",
        "{call}"
    );

    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
        "name": "screen_text", "arguments": {"text": ""}}}),
    );
    let empty = answer(4);
    assert_eq!(empty["result"]["isError"], true, "{empty}");
    assert_eq!(
        empty["result"]["structuredContent"]["error"]["code"], "EMPTY_TEXT",
        "{empty}"
    );

    // End of input ends the server.
    drop(stdin);
    let mut status = None;
    for _ in 0..200 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("octollm mcp did not end within 20 s of its input closing");
    };
    assert!(status.success(), "{status}");
    reader.join().unwrap();
    for line in rx.try_iter() {
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
    }
    let _ = std::fs::remove_dir_all(&data);
}
