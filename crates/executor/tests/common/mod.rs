//! Shared harness: a real executor on 127.0.0.1:0, called over HTTP, plus
//! the "nothing left behind" checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use octollm_executor::ExecutorConfig;
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
use octollm_testkit::cgroup::SandboxCgroups;
use octollm_testkit::http::send_json;
use octollm_testkit::procs;
use serde_json::{json, Value};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Server {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub dir: PathBuf,
    pub config: ExecutorConfig,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(|_| {}).await
    }

    /// Each server gets its own uid range, cgroup parent, sandbox mount point
    /// and data directory, so parallel tests can check for leaks precisely.
    pub async fn start_with(edit: impl FnOnce(&mut ExecutorConfig)) -> Server {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("octollm-executor-test-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = ExecutorConfig {
            data_dir: dir.join("data").to_string_lossy().into_owned(),
            sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
            sandbox_cgroup_parent: format!("octollm-test-{tag}"),
            sandbox_uid_base: 3_000_000 + u64::from(n) * 200,
            max_concurrency: 8,
            ..ExecutorConfig::default()
        };
        edit(&mut config);
        let opts = ServiceOptions {
            body_limit: 256 * 1024,
            api_keys: ApiKeys::default(),
            metrics: MetricsRegistry::new("executor"),
        };
        let router = octollm_executor::app(config.clone(), opts).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = octollm_server::serve(listener, router, std::future::pending()).await;
        });
        Server {
            addr,
            client: octollm_testkit::http::client(),
            dir,
            config,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, body: Value) -> (u16, Value) {
        send_json(self.client.post(self.url("/api/v1/execute")).json(&body)).await
    }

    pub async fn shell(&self, command: &str, args: &[&str]) -> (u16, Value) {
        self.post(json!({"action_type": "shell", "command": command, "args": args, "timeout_seconds": 20}))
            .await
    }

    /// Runs a Python program inside the sandbox.
    pub async fn python(&self, code: &str) -> (u16, Value) {
        self.shell("python3", &["-c", code]).await
    }

    /// Runs a Python program inside the sandbox: the answer and its output.
    pub async fn python_out(&self, code: &str) -> (Value, String) {
        let (_, v) = self.python(code).await;
        let out = output(&v).to_string();
        (v, out)
    }

    pub fn audit_path(&self) -> PathBuf {
        self.config.audit_path()
    }

    /// No process of our uid range, no per-execution cgroup, nothing but
    /// our own slot worker threads in the slot cgroups, no mount at or under
    /// the sandbox mount point, nothing inside the mount point.
    pub async fn assert_clean(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let problems = self.leaks();
            if problems.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                panic!("left behind: {problems:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn leaks(&self) -> Vec<String> {
        let mut out = Vec::new();
        let lo = self.config.sandbox_uid_base as u32;
        let hi = lo + self.config.max_concurrency as u32;
        for pid in procs::with_uid_in(lo..hi) {
            out.push(format!("process {pid}"));
        }
        out.extend(SandboxCgroups::locate(&self.config.sandbox_cgroup_parent).leaks());
        let root = &self.config.sandbox_root_dir;
        let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        for line in mi.lines().filter(|l| l.contains(root.as_str())) {
            out.push(format!("mount {line}"));
        }
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                out.push(format!("file {}", e.path().display()));
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        // A workspace a test left behind is a mount; unmount it before the
        // directory goes.
        let workspaces = self.dir.join("data").join("workspaces");
        for ws in std::fs::read_dir(workspaces)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = octollm_sandbox::workspace::unmount(&ws.path().join("files"));
        }
        if let Ok(cgroups) = SandboxCgroups::try_locate(&self.config.sandbox_cgroup_parent) {
            cgroups.remove_parents();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn output(v: &Value) -> &str {
    v["output"].as_str().unwrap_or("")
}

/// Python defining `try_sockets(cases)`: for each `(family, type, proto,
/// name)` it prints `<name> OPENED` or `<name> refused <errno>`.
pub const SOCKET_PROBE: &str = r#"
import socket
def try_sockets(cases):
    for fam, typ, proto, name in cases:
        try:
            socket.socket(fam, typ, proto); print(name, "OPENED")
        except OSError as e:
            print(name, "refused", e.errno)
"#;

/// Each probe in `names` printed `<name> -1 1`: the call failed with EPERM.
pub fn assert_eperm(out: &str, names: &[&str]) {
    for name in names {
        assert!(out.contains(&format!("{name} -1 1\n")), "{name}: {out}");
    }
}

/// Each probe in `names` printed `<prefix><name> refused 1`: the socket
/// could not be made, with EPERM.
pub fn assert_refused(out: &str, prefix: &str, names: &[&str]) {
    for name in names {
        assert!(
            out.contains(&format!("{prefix}{name} refused 1\n")),
            "{name}: {out}"
        );
    }
}
