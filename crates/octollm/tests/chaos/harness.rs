//! What the chaos scenarios share: the processes they start and kill, a
//! private PostgreSQL cluster and a private Redis of their own, a small
//! tmpfs, and HTTP shorthands. Everything here cleans up on drop, also
//! when the scenario panics half-way.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use octollm_fake_llm::{FakeLlm, FakeReply, RecordedRequest};
use octollm_testkit::http::send_json_or_null;
use octollm_testkit::ports::free_port;
use octollm_testkit::{run_ok, unique_name};
use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// Runs one scenario within `limit`; a scenario that hangs fails, naming
/// itself, instead of holding the whole run.
pub async fn bounded<F: Future<Output = ()>>(name: &str, limit: Duration, scenario: F) {
    let started = Instant::now();
    if tokio::time::timeout(limit, scenario).await.is_err() {
        panic!("chaos scenario {name} did not finish within {limit:?}");
    }
    eprintln!(
        "chaos scenario {name}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A directory of its own under the system's temp dir, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A killed executor leaves its task workspaces (tmpfs) mounted.
        for at in mounts_under(&self.0) {
            let _ = Command::new("umount").arg("-l").arg(at).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Mount points at or below `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut found: Vec<PathBuf> = table
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// A child process, killed on drop; its stderr goes to a log file whose
/// tail is shown when the scenario fails.
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, and reaped: nothing of it runs when this returns.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Resident memory in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_else(|e| panic!("{} is gone: {e}", self.name));
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS for {}", self.name))
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!(
                "---- {} (last lines of its log) ----\n{}",
                self.name,
                self.log_tail(40)
            );
        }
    }
}

/// Settings giving a system its own data directory and a sandbox of its
/// own (uid range, cgroup parent, root directory), so scenarios running at
/// once never share a slot. `slot` tells the scenarios apart.
pub struct Sandbox {
    pub uid_base: u32,
    pub cgroup_parent: String,
}

impl Sandbox {
    pub fn new(slot: u32) -> Sandbox {
        Sandbox {
            uid_base: 7_000_000 + (std::process::id() % 500) * 1000 + slot * 100,
            cgroup_parent: unique_name("octollm-chaos"),
        }
    }

    pub fn env(&self, root_dir: &Path) -> Vec<(String, String)> {
        vec![
            (
                "OCTOLLM_EXECUTOR_SANDBOX_UID_BASE".into(),
                self.uid_base.to_string(),
            ),
            (
                "OCTOLLM_EXECUTOR_SANDBOX_CGROUP_PARENT".into(),
                self.cgroup_parent.clone(),
            ),
            (
                "OCTOLLM_EXECUTOR_SANDBOX_ROOT_DIR".into(),
                root_dir.display().to_string(),
            ),
            ("OCTOLLM_EXECUTOR_MAX_CONCURRENCY".into(), "16".into()),
        ]
    }

    /// Processes running as one of this sandbox's uids. A zombie runs
    /// nothing: it only waits for whoever inherited it to reap it.
    pub fn live_processes(&self) -> Vec<u32> {
        octollm_testkit::procs::with_uid_in(self.uid_base..self.uid_base + 16)
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .map(|s| {
                        !s.lines()
                            .any(|l| l.starts_with("State:") && l.contains('Z'))
                    })
                    .unwrap_or(false)
            })
            .collect()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Slot groups outlive the executor (killed or not); they go with
        // their parents.
        if let Ok(cg) = octollm_testkit::cgroup::SandboxCgroups::try_locate(&self.cgroup_parent) {
            cg.remove_parents();
        }
    }
}

/// Environment every system here starts from: quiet logs, nothing taken
/// from the caller's DATABASE_URL or REDIS_URL.
fn clean(cmd: &mut Command) {
    cmd.env("OCTOLLM_LOG_LEVEL", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("OCTOLLM_CONFIG");
}

/// `octollm up` with its five ports: one process, arms in-process.
pub struct Up {
    pub proc: Proc,
    ports: [u16; 5],
}

impl Up {
    /// Starts `octollm up` with `env` and waits until its orchestrator is
    /// ready (the store and every arm answer).
    pub async fn start(dir: &Path, env: &[(String, String)]) -> Up {
        let ports = [(); 5].map(|_| free_port());
        let mut cmd = Command::new(BIN);
        cmd.arg("up");
        clean(&mut cmd);
        for (name, port) in ["ORCHESTRATOR", "REFLEX", "PLANNER", "EXECUTOR", "GATEWAY"]
            .iter()
            .zip(ports)
        {
            cmd.env(format!("OCTOLLM_{name}_PORT"), port.to_string());
        }
        cmd.envs(env.iter().cloned());
        let proc = Proc::spawn("octollm up", cmd, dir.join(unique_name("up") + ".log"));
        let up = Up { proc, ports };
        wait_ready(&up.orchestrator(), Duration::from_secs(60)).await;
        up
    }

    pub fn orchestrator(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    pub fn reflex(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[1])
    }

    pub fn planner(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[2])
    }
}

/// `octollm serve <component>` on `port`.
pub fn serve(component: &str, port: u16, dir: &Path, env: &[(String, String)]) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", component, "--port", &port.to_string()]);
    clean(&mut cmd);
    cmd.envs(env.iter().cloned());
    Proc::spawn(
        &format!("octollm serve {component}"),
        cmd,
        dir.join(unique_name(component) + ".log"),
    )
}

pub async fn wait_ready(url: &str, within: Duration) {
    octollm_testkit::http::wait_for_success(&format!("{url}/ready"), within).await;
}

// ------------------------------------------------------------------ HTTP --

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn get(url: &str) -> (u16, Value) {
    send_json_or_null(client().get(url)).await
}

pub async fn post(url: &str, body: Value) -> (u16, Value) {
    send_json_or_null(client().post(url).json(&body)).await
}

pub async fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Submits a task that must be accepted; its id.
pub async fn submit(orchestrator: &str, goal: &str, max_time_seconds: u64) -> String {
    let (status, v) = post(
        &format!("{orchestrator}/api/v1/tasks"),
        json!({"goal": goal, "budget": {"max_time_seconds": max_time_seconds}}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    v["task_id"].as_str().unwrap().to_string()
}

/// Polls task `id` until `pred` holds; panics with its last view after `within`.
pub async fn wait_task_until(
    orchestrator: &str,
    id: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, task) = get(&format!("{orchestrator}/api/v1/tasks/{id}")).await;
        if pred(&task) {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "task {id}: condition not reached within {within:?}; last view: {task:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn ended(task: &Value) -> bool {
    matches!(
        task["status"].as_str(),
        Some("completed" | "failed" | "cancelled")
    )
}

/// The sum of the samples of `metric` whose line contains every one of `labels`.
pub fn metric(text: &str, metric: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' '])
                .next()
                .is_some_and(|n| n == metric || n == format!("{metric}_total"))
        })
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ------------------------------------------------------------ planning --

/// Points the planner at the fake LLM, which plans goals of the form
/// `CHAOS <tag> <seconds>,<seconds>,…` as a chain of python3 steps, step
/// `n` sleeping its seconds and then printing `<tag>-step-<n>` (so the
/// executor's audit log tells how often each step ran).
pub fn llm_planner(fake: &FakeLlm) -> Vec<(String, String)> {
    fake.set_responder(|req: &RecordedRequest| {
        let text = req.last_user_text().unwrap_or_default();
        let goal = text
            .lines()
            .find_map(|l| l.strip_prefix("Goal: "))
            .unwrap_or("")
            .trim()
            .to_string();
        let mut words = goal.split_whitespace().skip(1);
        let tag = words.next().unwrap_or("none").to_string();
        let secs: Vec<f64> = words
            .next()
            .unwrap_or("0")
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect();
        let steps: Vec<Value> = secs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = i + 1;
                json!({"step": n, "action": format!("Step {n}"), "required_arm": "executor",
                       "tool_call": {"action_type": "shell", "command": "python3",
                                     "args": ["-c", format!("import time; time.sleep({s}); print('{tag}-step-{n}')")]},
                       "depends_on": if n > 1 { vec![n - 1] } else { vec![] }})
            })
            .collect();
        Some(
            FakeReply::json(&json!({"plan": steps, "rationale": "scripted",
                                    "confidence": 0.9, "complexity_score": 0.2}))
            .usage(100, 20),
        )
    });
    [
        ("OCTOLLM_LLM_PROVIDER", "openai".to_string()),
        ("OCTOLLM_LLM_BASE_URL", fake.openai_base_url()),
        ("OCTOLLM_LLM_MODEL", "gpt-4o-mini".into()),
        ("OCTOLLM_LLM_API_KEY", "test-key".into()),
        ("OCTOLLM_PLANNER_MODE", "llm".into()),
        ("OCTOLLM_PLANNER_CACHE_ENABLED", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// How many executions in the executor's audit log under `data_dir`
/// printed `marker` (ran to the end or not).
pub fn audit_runs(data_dir: &Path, marker: &str) -> usize {
    std::fs::read_to_string(data_dir.join("executor-audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(marker))
        .count()
}

// ---------------------------------------------------------- PostgreSQL --

/// A PostgreSQL cluster of the test's own: `initdb` in a temp dir, its own
/// port, stopped and started at will. PostgreSQL refuses to run as root,
/// so under root every server command runs as the `postgres` user.
pub struct PrivatePg {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePg {
    pub fn start(dir: PathBuf) -> PrivatePg {
        let bin = pg_bin_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = effective_uid() == 0;
        if as_postgres {
            run_ok(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
                "handing the cluster directory to the postgres user",
            );
        }
        let pg = PrivatePg {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        run_ok(
            &mut pg.server_cmd("initdb", |c| {
                c.arg("-D").arg(pg.data()).args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]);
            }),
            "initdb",
        );
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn server_cmd(&self, tool: &str, args: impl FnOnce(&mut Command)) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        args(&mut cmd);
        cmd
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.display()
        );
        run_ok(
            &mut self.server_cmd("pg_ctl", |c| {
                c.arg("-D")
                    .arg(self.data())
                    .arg("-l")
                    .arg(self.dir.join("server.log"))
                    .args(["-o", &opts, "-w", "-t", "30", "start"]);
            }),
            "pg_ctl start",
        );
    }

    /// A fast shutdown: open sessions are ended, running transactions rolled back.
    pub fn stop(&self) {
        run_ok(
            &mut self.server_cmd("pg_ctl", |c| {
                c.arg("-D")
                    .arg(self.data())
                    .args(["-m", "fast", "-w", "-t", "30", "stop"]);
            }),
            "pg_ctl stop",
        );
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// One query through psql, rows as `a|b` lines.
    pub fn query(&self, sql: &str) -> String {
        let out = run_ok(Command::new("psql").args([&self.url(), "-Atqc", sql]), sql);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self
            .server_cmd("pg_ctl", |c| {
                c.arg("-D")
                    .arg(self.data())
                    .args(["-m", "immediate", "-w", "stop"]);
            })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            eprintln!("---- private PostgreSQL log ----\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn effective_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The directory of the newest installed PostgreSQL server binaries.
fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(dir) = found.pop() {
        return dir;
    }
    let out = Command::new("pg_config").arg("--bindir").output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => panic!(
            "no PostgreSQL server binaries (initdb, pg_ctl) found under /usr/lib/postgresql \
             or by pg_config; scripts/services installs them"
        ),
    }
}

// --------------------------------------------------------------- Redis --

/// A redis-server of the test's own on its own port, killed and started
/// again on the same port at will.
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    proc: Option<Proc>,
}

impl PrivateRedis {
    pub fn start(dir: PathBuf) -> PrivateRedis {
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = PrivateRedis {
            port: free_port(),
            dir,
            proc: None,
        };
        r.start_again();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn start_again(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir);
        self.proc = Some(Proc::spawn(
            "redis-server",
            cmd,
            self.dir.join(unique_name("redis") + ".log"),
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the private redis-server did not answer on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }
}

// --------------------------------------------------------------- tmpfs --

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop (also
/// when the scenario fails). Mounting needs root; failing to mount fails
/// the scenario, it is never skipped.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    pub fn mount(at: PathBuf, size: &str) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        run_ok(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
                .arg("tmpfs")
                .arg(&at),
            "mounting a tmpfs for the disk-full scenario (needs root)",
        );
        Tmpfs(at)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process still holding a file must not keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}
