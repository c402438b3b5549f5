//! The command-line pieces of `octollm run` and `octollm tasks`, as library
//! functions returning exit codes so the binary stays a thin shell.
//!
//! Exit codes: 0 the task completed (or the command succeeded), 1 the task
//! failed, was cancelled or was rejected, 2 the orchestrator could not be
//! reached or answered something unexpected. An API key, when the
//! orchestrator requires one, is read from `OCTOLLM_API_KEY`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use octollm_types::orchestrator::{StepStatus, TaskEvent, TaskList, TaskView};
use octollm_types::task::TaskStatus;
use serde_json::{json, Value};

/// Where `octollm run` looks for an orchestrator by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("cannot reach the orchestrator at {url}: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        body: Value,
    },
    #[error("unexpected answer from the orchestrator: {0}")]
    Unexpected(String),
}

impl CliError {
    fn exit_code(&self) -> i32 {
        match self {
            CliError::Api { status, .. } if *status < 500 => 1,
            _ => 2,
        }
    }
}

struct Api {
    base: String,
    http: reqwest::Client,
    key: String,
}

impl Api {
    fn new(url: &str) -> Result<Api, CliError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| CliError::Unexpected(e.to_string()))?;
        Ok(Api {
            base: url.trim_end_matches('/').to_string(),
            http,
            key: std::env::var("OCTOLLM_API_KEY").unwrap_or_default(),
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        if self.key.is_empty() {
            r
        } else {
            r.bearer_auth(&self.key)
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<Value, CliError> {
        let res = rb.send().await.map_err(|e| CliError::Unreachable {
            url: self.base.clone(),
            source: e,
        })?;
        let status = res.status().as_u16();
        let body: Value = res
            .json()
            .await
            .map_err(|e| CliError::Unexpected(e.to_string()))?;
        if status >= 400 {
            return Err(CliError::Api {
                status,
                code: body
                    .pointer("/error/code")
                    .and_then(Value::as_str)
                    .unwrap_or("ERROR")
                    .to_string(),
                message: body
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("request failed")
                    .to_string(),
                body,
            });
        }
        Ok(body)
    }

    async fn task(&self, id: &str) -> Result<TaskView, CliError> {
        let v = self
            .send(self.req(reqwest::Method::GET, &format!("/api/v1/tasks/{id}")))
            .await?;
        serde_json::from_value(v).map_err(|e| CliError::Unexpected(e.to_string()))
    }
}

/// Submits `goal`, follows its progress and prints the output; the exit code.
pub async fn run_goal(
    url: &str,
    goal: &str,
    criteria: &[String],
    max_time: Option<u64>,
    json_output: bool,
) -> i32 {
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let mut out = stdout.lock();
    run_goal_to(url, goal, criteria, max_time, json_output, tty, &mut out).await
}

/// [`run_goal`] writing to `out`; `tty` turns the spinner on.
pub async fn run_goal_to(
    url: &str,
    goal: &str,
    criteria: &[String],
    max_time: Option<u64>,
    json_output: bool,
    tty: bool,
    out: &mut dyn Write,
) -> i32 {
    match follow_goal(url, goal, criteria, max_time, json_output, tty, out).await {
        Ok(code) => code,
        Err(e) => {
            if json_output {
                let body = match &e {
                    CliError::Api { body, .. } => body.clone(),
                    other => json!({"error": {"code": "CLI_ERROR", "message": other.to_string()}}),
                };
                let _ = writeln!(out, "{body}");
            } else {
                let _ = writeln!(out, "✗ {e}");
                if let CliError::Api { body, .. } = &e {
                    if let Some(inj) = body
                        .pointer("/error/details/injections")
                        .and_then(Value::as_array)
                    {
                        for f in inj {
                            let _ = writeln!(
                                out,
                                "  - {} ({})",
                                f.get("category").and_then(Value::as_str).unwrap_or("?"),
                                f.get("severity").and_then(Value::as_str).unwrap_or("?")
                            );
                        }
                    }
                }
            }
            e.exit_code()
        }
    }
}

async fn follow_goal(
    url: &str,
    goal: &str,
    criteria: &[String],
    max_time: Option<u64>,
    json_output: bool,
    tty: bool,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let api = Api::new(url)?;
    let mut contract = json!({"goal": goal, "acceptance_criteria": criteria});
    if let Some(t) = max_time {
        contract["budget"] = json!({"max_time_seconds": t});
    }
    let accepted = api
        .send(
            api.req(reqwest::Method::POST, "/api/v1/tasks")
                .json(&contract),
        )
        .await?;
    let id = accepted
        .get("task_id")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::Unexpected("no task_id in the answer".into()))?
        .to_string();
    let mut render = Render::new(out, tty && !json_output, json_output);
    render.line(&format!("Task {id}"));
    let streamed = follow_events(&api, &id, &mut render).await;
    if streamed.is_err() {
        // The stream broke; poll until the task ends.
        loop {
            let t = api.task(&id).await?;
            if t.status.is_terminal() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let task = api.task(&id).await?;
    render.finish(&task);
    Ok(if task.status == TaskStatus::Completed {
        0
    } else {
        1
    })
}

async fn follow_events(api: &Api, id: &str, render: &mut Render<'_>) -> Result<(), CliError> {
    let mut res = api
        .req(reqwest::Method::GET, &format!("/api/v1/tasks/{id}/events"))
        .send()
        .await
        .map_err(|e| CliError::Unreachable {
            url: api.base.clone(),
            source: e,
        })?;
    if !res.status().is_success() {
        return Err(CliError::Unexpected(format!(
            "event stream answered {}",
            res.status()
        )));
    }
    let mut buf = String::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            chunk = res.chunk() => {
                let chunk = chunk.map_err(|e| CliError::Unexpected(e.to_string()))?;
                let Some(chunk) = chunk else { return Ok(()) };
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(pos) = buf.find("\n\n") {
                    let block: String = buf.drain(..pos + 2).collect();
                    if let Some(ev) = parse_sse_block(&block) {
                        let end = ev.is_terminal();
                        render.event(&ev);
                        if end {
                            return Ok(());
                        }
                    }
                }
            }
            _ = tick.tick() => render.spin(),
        }
    }
}

/// The `data:` of one SSE block as a task event; comments and keep-alives are `None`.
pub fn parse_sse_block(block: &str) -> Option<TaskEvent> {
    let data: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.strip_prefix(' ').unwrap_or(d))
        .collect();
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(&data.join("\n")).ok()
}

struct Running {
    action: String,
    started: Instant,
}

/// Live progress: plain lines, plus a spinner line redrawn in place on a terminal.
struct Render<'a> {
    out: &'a mut dyn Write,
    tty: bool,
    quiet: bool,
    frame: usize,
    running: BTreeMap<u32, Running>,
    actions: BTreeMap<u32, String>,
    planning: Option<Instant>,
    spinner_shown: bool,
}

impl<'a> Render<'a> {
    fn new(out: &'a mut dyn Write, tty: bool, quiet: bool) -> Self {
        Render {
            out,
            tty,
            quiet,
            frame: 0,
            running: BTreeMap::new(),
            actions: BTreeMap::new(),
            planning: None,
            spinner_shown: false,
        }
    }

    fn clear_spinner(&mut self) {
        if self.spinner_shown {
            let _ = write!(self.out, "\r\x1b[2K");
            self.spinner_shown = false;
        }
    }

    fn line(&mut self, s: &str) {
        if self.quiet {
            return;
        }
        self.clear_spinner();
        let _ = writeln!(self.out, "{s}");
        self.spin();
    }

    fn spin(&mut self) {
        if !self.tty || self.quiet {
            return;
        }
        let label = if let Some((n, r)) = self.running.iter().next() {
            let more = if self.running.len() > 1 {
                format!(" (+{} more)", self.running.len() - 1)
            } else {
                String::new()
            };
            format!(
                "[{n}] {}{more}  {:.1}s",
                r.action,
                r.started.elapsed().as_secs_f64()
            )
        } else if let Some(p) = self.planning {
            format!("planning…  {:.1}s", p.elapsed().as_secs_f64())
        } else {
            return;
        };
        self.frame = (self.frame + 1) % SPINNER.len();
        let _ = write!(self.out, "\r\x1b[2K{} {label}", SPINNER[self.frame]);
        let _ = self.out.flush();
        self.spinner_shown = true;
    }

    fn event(&mut self, ev: &TaskEvent) {
        let d = &ev.data;
        let step = ev.step.unwrap_or(0);
        match ev.kind.as_str() {
            "task.status" if ev.status == TaskStatus::Planning => {
                self.planning = Some(Instant::now());
                self.line("Planning…");
            }
            "task.plan" => {
                self.planning = None;
                let steps = d
                    .pointer("/plan/plan")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let planner = d
                    .pointer("/plan/planner")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.line(&format!(
                    "Plan ({} step{}, {planner} planner):",
                    steps.len(),
                    if steps.len() == 1 { "" } else { "s" }
                ));
                for s in steps {
                    let n = s.get("step").and_then(Value::as_u64).unwrap_or(0) as u32;
                    let action = s
                        .get("action")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let deps = s
                        .get("depends_on")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_u64)
                                .map(|d| d.to_string())
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default();
                    let after = if deps.is_empty() {
                        String::new()
                    } else {
                        format!("  (after {})", deps.join(", "))
                    };
                    self.actions.insert(n, action.clone());
                    self.line(&format!("  {n}. {action}{after}"));
                }
            }
            "step.started" => {
                let action = d
                    .get("action")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let cmd = d.get("command").and_then(Value::as_str).unwrap_or("");
                self.running.insert(
                    step,
                    Running {
                        action: action.clone(),
                        started: Instant::now(),
                    },
                );
                if !self.tty {
                    self.line(&format!("… [{step}] {action}  $ {cmd}"));
                } else {
                    self.spin();
                }
            }
            "step.retrying" => {
                let err = d.get("error").and_then(Value::as_str).unwrap_or("");
                let attempt = d.get("attempt").and_then(Value::as_u64).unwrap_or(0);
                self.line(&format!("  ↻ [{step}] retry {attempt}: {err}"));
            }
            "step.completed" | "step.failed" => {
                self.running.remove(&step);
                let action = d
                    .get("action")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| self.actions.get(&step).cloned())
                    .unwrap_or_default();
                let ms = d.get("duration_ms").and_then(Value::as_u64).unwrap_or(0);
                if ev.kind == "step.completed" {
                    self.line(&format!("✓ [{step}] {action}  ({})", human_ms(ms)));
                } else {
                    let msg = d
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("failed");
                    self.line(&format!("✗ [{step}] {action}  ({}) — {msg}", human_ms(ms)));
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, task: &TaskView) {
        self.running.clear();
        self.planning = None;
        self.clear_spinner();
        if self.quiet {
            let _ = writeln!(
                self.out,
                "{}",
                serde_json::to_string_pretty(task).unwrap_or_default()
            );
            return;
        }
        if let Some(r) = &task.result {
            if !r.output.is_empty() {
                let _ = writeln!(self.out, "\nOutput:\n{}", r.output.trim_end());
            }
            let m = &r.metadata;
            let _ = writeln!(
                self.out,
                "\n{} {} in {} · {} step(s) · {} tokens · ${:.4}{}",
                if task.status == TaskStatus::Completed {
                    "✓"
                } else {
                    "✗"
                },
                task.status.as_str(),
                human_ms(m.total_duration_ms),
                m.steps_executed,
                m.tokens_used,
                m.cost_usd,
                if m.cached { " · cached" } else { "" }
            );
        } else {
            let _ = writeln!(self.out, "\n✗ {}", task.status.as_str());
        }
        if let Some(e) = &task.error {
            let _ = writeln!(self.out, "{}: {}", e.code, e.message);
        }
    }
}

fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

fn write_or(out: &mut dyn Write, s: &str) {
    let _ = writeln!(out, "{s}");
}

/// `octollm tasks list`.
pub async fn tasks_list(url: &str, status: Option<&str>, limit: u32, json_output: bool) -> i32 {
    let mut out = std::io::stdout().lock();
    tasks_list_to(url, status, limit, json_output, &mut out).await
}

pub async fn tasks_list_to(
    url: &str,
    status: Option<&str>,
    limit: u32,
    json_output: bool,
    out: &mut dyn Write,
) -> i32 {
    let res = async {
        let api = Api::new(url)?;
        let mut q = vec![("limit", limit.to_string())];
        if let Some(s) = status {
            q.push(("status", s.to_string()));
        }
        let v = api
            .send(api.req(reqwest::Method::GET, "/api/v1/tasks").query(&q))
            .await?;
        Ok::<Value, CliError>(v)
    }
    .await;
    match res {
        Ok(v) if json_output => {
            write_or(out, &v.to_string());
            0
        }
        Ok(v) => {
            let list: TaskList = match serde_json::from_value(v) {
                Ok(l) => l,
                Err(e) => {
                    write_or(out, &format!("✗ unexpected answer: {e}"));
                    return 2;
                }
            };
            write_or(
                out,
                &format!("{:<36}  {:<10}  {:<24}  GOAL", "ID", "STATUS", "CREATED"),
            );
            for t in &list.tasks {
                let goal: String = t.goal.chars().take(60).collect();
                write_or(
                    out,
                    &format!(
                        "{:<36}  {:<10}  {:<24}  {goal}",
                        t.task_id,
                        t.status.as_str(),
                        t.created_at
                    ),
                );
            }
            if list.tasks.is_empty() {
                write_or(out, "(no tasks)");
            }
            0
        }
        Err(e) => {
            write_or(out, &format!("✗ {e}"));
            e.exit_code()
        }
    }
}

/// `octollm tasks show ID`.
pub async fn tasks_show(url: &str, id: &str, json_output: bool) -> i32 {
    let mut out = std::io::stdout().lock();
    tasks_show_to(url, id, json_output, &mut out).await
}

pub async fn tasks_show_to(url: &str, id: &str, json_output: bool, out: &mut dyn Write) -> i32 {
    let res = async { Api::new(url)?.task(id).await }.await;
    match res {
        Ok(t) if json_output => {
            write_or(out, &serde_json::to_string_pretty(&t).unwrap_or_default());
            0
        }
        Ok(t) => {
            write_or(
                out,
                &format!(
                    "Task    {}\nStatus  {}\nGoal    {}\nCreated {}",
                    t.task_id,
                    t.status.as_str(),
                    t.goal,
                    t.created_at
                ),
            );
            for s in &t.steps {
                let mark = match s.status {
                    StepStatus::Completed => "✓",
                    StepStatus::Failed | StepStatus::Cancelled => "✗",
                    StepStatus::Running => "…",
                    _ => "·",
                };
                let dur = s
                    .duration_ms
                    .map(|d| format!("  ({})", human_ms(d)))
                    .unwrap_or_default();
                write_or(
                    out,
                    &format!(
                        "  {mark} [{}] {} — {}{dur}",
                        s.step,
                        s.action,
                        s.status.as_str()
                    ),
                );
                if let Some(e) = &s.error {
                    write_or(out, &format!("      {e}"));
                }
            }
            let mut render = Render::new(out, false, false);
            render.finish(&t);
            if t.status.is_terminal() && t.status != TaskStatus::Completed {
                1
            } else {
                0
            }
        }
        Err(e) => {
            write_or(out, &format!("✗ {e}"));
            e.exit_code()
        }
    }
}

/// `octollm tasks cancel ID`.
pub async fn tasks_cancel(url: &str, id: &str, json_output: bool) -> i32 {
    let mut out = std::io::stdout().lock();
    tasks_cancel_to(url, id, json_output, &mut out).await
}

pub async fn tasks_cancel_to(url: &str, id: &str, json_output: bool, out: &mut dyn Write) -> i32 {
    let res = async {
        let api = Api::new(url)?;
        api.send(api.req(reqwest::Method::POST, &format!("/api/v1/tasks/{id}/cancel")))
            .await
    }
    .await;
    match res {
        Ok(v) if json_output => {
            write_or(out, &v.to_string());
            0
        }
        Ok(v) => {
            write_or(
                out,
                &format!(
                    "{} {}",
                    v.get("status").and_then(Value::as_str).unwrap_or("?"),
                    v.get("message").and_then(Value::as_str).unwrap_or("")
                ),
            );
            0
        }
        Err(e) => {
            write_or(out, &format!("✗ {e}"));
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sse_blocks() {
        let block = "event: step.started\nid: 3\ndata: {\"seq\":3,\"task_id\":\"t\",\"kind\":\"step.started\",\"status\":\"executing\",\"step\":1,\"data\":{\"action\":\"x\"},\"at\":\"now\"}\n\n";
        let ev = parse_sse_block(block).unwrap();
        assert_eq!(ev.kind, "step.started");
        assert_eq!(ev.step, Some(1));
        assert!(parse_sse_block(": keep-alive\n\n").is_none());
    }
}
