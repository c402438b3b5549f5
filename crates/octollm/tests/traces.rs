//! OpenTelemetry traces as a collector sees them: an OTLP/HTTP receiver in
//! this test decodes what the `octollm serve` processes export, and one
//! task's spans, from every service, must share one trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use octollm_fake_llm::{FakeLlm, FakeReply};
use octollm_testkit::http::{send_json_or_null, wait_for_success};
use octollm_testkit::ports::free_port;
use octollm_testkit::unique_name;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_octollm");

/// One decoded span, with its service.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_id: String,
    attrs: BTreeMap<String, String>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

#[derive(Default)]
struct Received {
    posts: usize,
    spans: Vec<Span>,
}

/// An OTLP/HTTP receiver on loopback: `POST /v1/traces`, protobuf.
struct Collector {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
}

fn text(kv: &[KeyValue]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                Some(Any::IntValue(i)) => i.to_string(),
                Some(Any::BoolValue(b)) => b.to_string(),
                Some(Any::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

async fn receive(State(r): State<Arc<Mutex<Received>>>, body: Bytes) -> &'static str {
    let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut r = r.lock().unwrap();
    r.posts += 1;
    for rs in req.resource_spans {
        let resource = text(&rs.resource.map(|r| r.attributes).unwrap_or_default());
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                r.spans.push(Span {
                    service: service.clone(),
                    name: s.name,
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent_id: hex(&s.parent_span_id),
                    attrs: text(&s.attributes),
                });
            }
        }
    }
    ""
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Collector {
    async fn start_on(addr: &str) -> Collector {
        let received = Arc::new(Mutex::new(Received::default()));
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Collector { addr, received }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn posts(&self) -> usize {
        self.received.lock().unwrap().posts
    }

    fn spans(&self) -> Vec<Span> {
        self.received.lock().unwrap().spans.clone()
    }

    /// Waits until `done` holds for the spans received so far.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "never received {what}; got: {:#?}",
                spans
                    .iter()
                    .map(|s| (&s.service, &s.name, &s.trace_id))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Stops a child the way an operator does (SIGTERM) and waits for it: a
/// graceful stop is when the last spans are flushed.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the process did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Export on, batches sent every 200 ms.
fn otel_env(collector: &Collector) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), collector.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY".into(), "200".into()),
    ]
}

/// The four services as separate processes on the embedded store, the
/// planner asking the fake LLM. Each process's log goes to `<name>.log`.
async fn start_system(
    data_dir: &Path,
    fake: &FakeLlm,
    extra: &[(String, String)],
) -> (String, common::Running) {
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let env: Vec<(String, String)> = [
        ("OCTOLLM_DATA_DIR", data_dir.display().to_string()),
        ("OCTOLLM_TOKEN_SECRET", "traces-capability-secret".into()),
        ("OCTOLLM_LOG_LEVEL", "info".into()),
        ("OCTOLLM_ORCHESTRATOR_REFLEX_URL", url(ports[1])),
        ("OCTOLLM_ORCHESTRATOR_PLANNER_URL", url(ports[2])),
        ("OCTOLLM_ORCHESTRATOR_EXECUTOR_URL", url(ports[3])),
        ("OCTOLLM_PLANNER_EXECUTOR_URL", url(ports[3])),
        ("OCTOLLM_LLM_PROVIDER", "openai".into()),
        ("OCTOLLM_LLM_BASE_URL", fake.openai_base_url()),
        ("OCTOLLM_LLM_MODEL", "gpt-4o-mini".into()),
        ("OCTOLLM_LLM_API_KEY", "test-key".into()),
        ("OCTOLLM_PLANNER_MODE", "llm".into()),
        (
            "OCTOLLM_EXECUTOR_SANDBOX_ROOT_DIR",
            data_dir.join("sandbox-root").display().to_string(),
        ),
        (
            "OCTOLLM_EXECUTOR_SANDBOX_CGROUP_PARENT",
            unique_name("octollm-traces"),
        ),
        ("OCTOLLM_EXECUTOR_SANDBOX_UID_BASE", "1511000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain(extra.iter().cloned())
    .collect();
    let mut procs = common::Running::default();
    // Arms first: the planner reads the executor's allowlist at start.
    for (component, port) in [
        ("executor", ports[3]),
        ("reflex", ports[1]),
        ("planner", ports[2]),
        ("orchestrator", ports[0]),
    ] {
        let log = std::fs::File::create(data_dir.join(format!("{component}.log"))).unwrap();
        let child = Command::new(BIN)
            .args(["serve", component, "--port", &port.to_string()])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        procs.children.push(child);
        wait_for_success(&format!("{}/ready", url(port)), Duration::from_secs(30)).await;
    }
    (url(ports[0]), procs)
}

fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique_name(name));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const PLAN: &str = r#"{"plan": [{"step": 1, "action": "Echo the greeting", "required_arm": "executor",
  "tool_call": {"action_type": "shell", "command": "echo", "args": ["hello from the sandbox"]},
  "depends_on": []}], "rationale": "one echo", "confidence": 0.9}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_task_is_one_trace_across_the_services() {
    let collector = Collector::start_on("127.0.0.1:0").await;
    let fake = FakeLlm::start().await.unwrap();
    fake.set_default_reply(Some(
        FakeReply::json(&serde_json::from_str(PLAN).unwrap()).usage(1200, 300),
    ));
    let dir = data_dir("octollm-traces");
    let (orchestrator, _procs) = start_system(&dir, &fake, &otel_env(&collector)).await;

    let client = reqwest::Client::new();
    let (status, accepted) = send_json_or_null(
        client
            .post(format!("{orchestrator}/api/v1/tasks"))
            .json(&json!({"goal": "Greet the user warmly"})),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["task_id"].as_str().unwrap().to_string();
    let task =
        octollm_testkit::http::wait_task(&client, &orchestrator, &id, Duration::from_secs(60))
            .await;
    assert_eq!(task["status"], "completed", "{task}");

    // The submission opens the trace; every later span of the task is in it.
    let submitted =
        |s: &Span| s.name == "POST /api/v1/tasks" && s.service == "octollm-orchestrator";
    let spans = collector
        .wait_for("the task's spans from all four services", |spans| {
            let Some(trace) = spans.iter().find(|s| submitted(s)).map(|s| &s.trace_id) else {
                return false;
            };
            let named = |service: &str, name: &str| {
                spans
                    .iter()
                    .any(|s| &s.trace_id == trace && s.service == service && s.name == name)
            };
            named("octollm-orchestrator", "step")
                && named("octollm-reflex", "reflex.process")
                && named("octollm-planner", "chat gpt-4o-mini")
                && named("octollm-executor", "sandbox.run")
                && spans.iter().any(|s| {
                    s.name == "store.write" && s.attr("db.operation.name") == Some("finish_task")
                })
        })
        .await;
    let trace = spans
        .iter()
        .find(|s| submitted(s))
        .unwrap()
        .trace_id
        .clone();
    let in_trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace).collect();
    let find = |service: &str, name: &str| -> &Span {
        in_trace
            .iter()
            .find(|s| s.service == service && s.name == name)
            .unwrap_or_else(|| panic!("no {name} span from {service} in trace {trace}"))
    };

    // Every span that names the task is in the one trace.
    let of_task: Vec<&Span> = spans
        .iter()
        .filter(|s| s.attr("task_id") == Some(id.as_str()))
        .collect();
    assert!(of_task.iter().any(|s| s.name == "task"), "{of_task:#?}");
    for s in &of_task {
        assert_eq!(s.trace_id, trace, "{s:#?}");
    }

    // Screening, planning, the LLM call, the step, the sandbox run and the
    // store writes, each from its own service.
    let screen = find("octollm-reflex", "POST /api/v1/reflex/batch");
    assert_eq!(screen.attr("octollm.component"), Some("reflex"));
    let process = find("octollm-reflex", "reflex.process");
    assert_eq!(process.attr("reflex.decision"), Some("allowed"));
    assert_eq!(process.parent_id, screen.span_id);
    let plan = find("octollm-planner", "planner.plan");
    assert_eq!(plan.attr("planner.steps"), Some("1"), "{plan:#?}");
    let chat = find("octollm-planner", "chat gpt-4o-mini");
    assert_eq!(chat.parent_id, plan.span_id);
    for (k, v) in [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.usage.input_tokens", "1200"),
        ("gen_ai.usage.output_tokens", "300"),
    ] {
        assert_eq!(chat.attr(k), Some(v), "{k} on {chat:#?}");
    }
    assert!(chat.attr("gen_ai.response.model").is_some(), "{chat:#?}");

    let step = find("octollm-orchestrator", "step");
    assert_eq!(step.attr("step"), Some("1"));
    assert_eq!(step.attr("action"), Some("Echo the greeting"));
    // The executor's request continues the step's span over HTTP.
    let execute = find("octollm-executor", "POST /api/v1/execute");
    assert_eq!(execute.parent_id, step.span_id, "{execute:#?}");
    let run = find("octollm-executor", "sandbox.run");
    assert_eq!(run.parent_id, execute.span_id);
    assert_eq!(run.attr("process.executable.name"), Some("echo"));
    assert_eq!(run.attr("process.exit.code"), Some("0"));
    let layers = run.attr("sandbox.layers").unwrap();
    for layer in ["userns", "pidns", "netns", "seccomp"] {
        assert!(layers.split(',').any(|l| l == layer), "{layers}");
        assert_eq!(
            run.attr(&format!("sandbox.layer.{layer}")),
            Some("true"),
            "{run:#?}"
        );
    }

    let writes: Vec<&str> = in_trace
        .iter()
        .filter(|s| s.name == "store.write")
        .filter_map(|s| s.attr("db.operation.name"))
        .collect();
    for op in [
        "insert_task",
        "save_plan",
        "start_step",
        "finish_step",
        "finish_task",
    ] {
        assert!(writes.contains(&op), "no {op} write in {writes:?}");
    }
    assert!(in_trace
        .iter()
        .filter(|s| s.name == "store.write")
        .all(|s| s.attr("db.system") == Some("sqlite")));

    // Probes (`/ready` was polled at start) are not sampled.
    assert!(
        !spans
            .iter()
            .any(|s| s.name.ends_with(" /ready") || s.name.ends_with(" /health")),
        "probe requests were exported"
    );

    // The logs name the trace: the task's lines carry its trace id.
    let log = std::fs::read_to_string(dir.join("orchestrator.log")).unwrap();
    let finished = log
        .lines()
        .find(|l| l.contains("task finished") && l.contains(&id))
        .unwrap_or_else(|| panic!("no 'task finished' line for {id}:\n{log}"));
    assert!(
        finished.contains(&format!("trace_id={trace}")),
        "{finished}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve reflex` with `env`, screened twice (a caller's `traceparent`
/// included), then stopped gracefully; returns its log.
async fn screen_and_stop(dir: &Path, env: &[(&str, String)]) -> String {
    let port = free_port();
    let log_path = dir.join(format!("reflex-{port}.log"));
    let mut child = Command::new(BIN)
        .args(["serve", "reflex", "--port", &port.to_string()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OCTOLLM_LOG_LEVEL", "info")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_SERVICE_NAME", "octollm-traces-off")
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    wait_for_success(&format!("{url}/health"), Duration::from_secs(20)).await;
    let client = reqwest::Client::new();
    for text in ["hello there", "My SSN is 123-45-6789"] {
        let (status, _) = send_json_or_null(
            client
                .post(format!("{url}/api/v1/reflex/process"))
                .header(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                )
                .json(&json!({"text": text})),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Several batch delays for a processor that should not be there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    terminate(&mut child);
    std::fs::read_to_string(&log_path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_unless_configured_and_nothing_is_sent() {
    let dir = data_dir("octollm-traces-off");
    // Where an exporter with no endpoint configured would send: the OTLP
    // default, http://localhost:4318.
    let default = Collector::start_on("127.0.0.1:4318").await;
    let log = screen_and_stop(&dir, &[]).await;
    assert_eq!(default.posts(), 0, "nothing is sent without an endpoint");
    assert!(!log.contains("exporting traces"), "{log}");
    assert!(!log.contains("trace_id"), "{log}");

    // The standard switches turn an configured endpoint off again.
    let collector = Collector::start_on("127.0.0.1:0").await;
    for switch in [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ] {
        let log = screen_and_stop(
            &dir,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
                (switch.0, switch.1.to_string()),
            ],
        )
        .await;
        assert_eq!(collector.posts(), 0, "{switch:?} must keep export off");
        assert!(!log.contains("exporting traces"), "{log}");
    }

    // The same process with the endpoint exports, under its service name,
    // in the caller's trace; the last batch goes out as it stops.
    let log = screen_and_stop(
        &dir,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())],
    )
    .await;
    assert!(log.contains("exporting traces"), "{log}");
    let spans = collector.spans();
    let screened: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "reflex.process")
        .collect();
    assert_eq!(screened.len(), 2, "{spans:#?}");
    for s in &screened {
        assert_eq!(s.service, "octollm-traces-off");
        assert_eq!(s.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    let request = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/reflex/process")
        .unwrap();
    assert_eq!(request.parent_id, "00f067aa0ba902b7");
    assert_eq!(default.posts(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_is_one_service_whose_spans_name_their_component() {
    let collector = Collector::start_on("127.0.0.1:0").await;
    let dir = data_dir("octollm-traces-up");
    let ports: [u16; 4] = std::array::from_fn(|_| free_port());
    let _up = common::Running {
        children: vec![common::up_command(BIN, &dir, &ports, 1_512_000)
            .envs(otel_env(&collector))
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("OTEL_RESOURCE_ATTRIBUTES")
            .stderr(Stdio::null())
            .spawn()
            .unwrap()],
        dir: None,
    };
    for p in &ports {
        wait_for_success(
            &format!("http://127.0.0.1:{p}/ready"),
            Duration::from_secs(30),
        )
        .await;
    }
    let o = format!("http://127.0.0.1:{}", ports[0]);
    let client = reqwest::Client::new();
    let (status, accepted) = send_json_or_null(
        client
            .post(format!("{o}/api/v1/tasks"))
            .json(&json!({"goal": "List files in /tmp and count them"})),
    )
    .await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["task_id"].as_str().unwrap();
    let task = octollm_testkit::http::wait_task(&client, &o, id, Duration::from_secs(60)).await;
    assert_eq!(task["status"], "completed", "{task}");

    let spans = collector
        .wait_for("the task's last write", |spans| {
            spans
                .iter()
                .any(|s| s.attr("db.operation.name") == Some("finish_task"))
        })
        .await;
    // One process, one service name.
    assert!(spans.iter().all(|s| s.service == "octollm"), "{spans:#?}");
    let submit = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/tasks")
        .unwrap();
    assert_eq!(submit.attr("octollm.component"), Some("orchestrator"));
    // The arms are called in process: their spans are in the task's trace
    // with no request of their own in between.
    for name in [
        "task",
        "step",
        "reflex.process",
        "planner.plan",
        "sandbox.run",
    ] {
        assert!(
            spans
                .iter()
                .any(|s| s.name == name && s.trace_id == submit.trace_id),
            "no {name} span in the task's trace: {spans:#?}"
        );
    }
    assert!(!spans.iter().any(|s| s.name == "POST /api/v1/execute"));
    let _ = std::fs::remove_dir_all(&dir);
}
