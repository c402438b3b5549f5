//! Shared harness: a real executor on 127.0.0.1:0, called over HTTP, plus
//! the "nothing left behind" checks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use octollm_executor::ExecutorConfig;
use octollm_server::{ApiKeys, MetricsRegistry, ServiceOptions};
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
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            dir,
            config,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(self.url("/api/v1/execute"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    pub async fn shell(&self, command: &str, args: &[&str]) -> (u16, Value) {
        self.post(json!({"action_type": "shell", "command": command, "args": args, "timeout_seconds": 20}))
            .await
    }

    /// Runs a Python program inside the sandbox.
    pub async fn python(&self, code: &str) -> (u16, Value) {
        self.shell("python3", &["-c", code]).await
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
        for pid in processes_with_uid_in(lo, hi) {
            out.push(format!("process {pid}"));
        }
        for dir in cgroup_parents(&self.config.sandbox_cgroup_parent) {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let path = e.path();
                    if !path.is_dir() {
                        continue;
                    }
                    // A slot's groups live as long as the sandbox (their
                    // worker thread, one of ours, sits in them); they must
                    // hold nothing else. Any other group is a leak.
                    let is_slot = e.file_name().to_string_lossy().starts_with("slot-");
                    let strays = foreign_tasks(&path);
                    if !is_slot || !strays.is_empty() {
                        out.push(format!("cgroup {} (tasks {strays:?})", path.display()));
                    }
                }
            }
        }
        let root = &self.config.sandbox_root_dir;
        if let Ok(mi) = std::fs::read_to_string("/proc/self/mountinfo") {
            for line in mi.lines().filter(|l| l.contains(root.as_str())) {
                out.push(format!("mount {line}"));
            }
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
        for dir in cgroup_parents(&self.config.sandbox_cgroup_parent) {
            let _ = std::fs::remove_dir(dir);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn processes_with_uid_in(lo: u32, hi: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u32>().ok());
        if uid.is_some_and(|u| (lo..hi).contains(&u)) {
            out.push(pid);
        }
    }
    out
}

/// Tasks in a v1 cgroup that are not threads of this test process.
pub fn foreign_tasks(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("tasks"))
        .unwrap_or_default()
        .lines()
        .filter_map(|t| t.trim().parse::<u32>().ok())
        .filter(|tid| !Path::new(&format!("/proc/self/task/{tid}")).exists())
        .collect()
}

/// Our v1 memory/pids cgroup directories joined with `name`.
pub fn cgroup_parents(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(cg) = std::fs::read_to_string("/proc/self/cgroup") else {
        return out;
    };
    for line in cg.lines() {
        let mut it = line.splitn(3, ':');
        let (_, ctrls, path) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or(""));
        for ctrl in ["memory", "pids"] {
            if ctrls.split(',').any(|c| c == ctrl) {
                let base = Path::new("/sys/fs/cgroup").join(ctrl);
                out.push(base.join(path.trim_start_matches('/')).join(name));
            }
        }
    }
    out
}

pub fn output(v: &Value) -> &str {
    v["output"].as_str().unwrap_or("")
}
