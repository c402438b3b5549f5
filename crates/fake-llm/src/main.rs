//! Standalone fake LLM server: `octollm-fake-llm [--listen ADDR] [--script FILE]`.
//!
//! The script is JSON: `{"replies": [FakeReply…], "default": FakeReply,
//! "models": ["id", …]}`.
//! More replies can be queued at run time with `POST /_fake/replies`, and
//! the requests received read back from `GET /_fake/requests`.

use std::net::SocketAddr;
use std::process::ExitCode;

use octollm_fake_llm::{FakeLlm, Script};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("octollm-fake-llm: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut script = Script::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let v = args.next().ok_or("--listen needs an address")?;
                listen = v.parse().map_err(|e| format!("bad --listen {v}: {e}"))?;
            }
            "--script" => {
                let path = args.next().ok_or("--script needs a file")?;
                let text =
                    std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
                script = serde_json::from_str(&text).map_err(|e| format!("parsing {path}: {e}"))?;
            }
            "-h" | "--help" => {
                println!(
                    "usage: octollm-fake-llm [--listen 127.0.0.1:PORT] [--script replies.json]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let fake = FakeLlm::start_on(listen)
        .await
        .map_err(|e| format!("binding {listen}: {e}"))?;
    fake.push_replies(script.replies);
    fake.set_default_reply(script.default);
    if let Some(models) = script.models {
        fake.set_models(models);
    }
    println!("listening on {}", fake.url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for ctrl-c: {e}"))?;
    Ok(())
}
