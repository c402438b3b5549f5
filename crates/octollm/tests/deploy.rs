//! The deployment artefacts (Dockerfile, deploy/compose.yaml, the Helm chart
//! in deploy/helm/octollm) validated without a container engine:
//!
//! - the compose file passes `docker compose config` (or `docker-compose
//!   config`); under CI a missing tool is a failure, not a skip;
//! - every Helm template renders (values, release and chart substituted) to
//!   YAML with a Deployment, Service and HPA per component, the right probes,
//!   a securityContext, and ConfigMap/Secret references;
//! - the Grafana dashboard and the alert rules ship as they are in the
//!   chart's files, each behind its `monitoring.*.enabled` switch (which
//!   metrics they read is tests/dashboards.rs's business);
//! - drift: every `OCTOLLM_*` name is a real setting (from `octollm config`),
//!   every port is the component's port setting, every health path is
//!   `/health` or `/ready`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use octollm_testkit::run_ok;
use serde_yaml::Value;

const COMPONENTS: [&str; 5] = ["orchestrator", "reflex", "planner", "executor", "gateway"];

/// Conventional names the binary honours besides its own settings.
const CONVENTIONAL: [&str; 2] = ["OCTOLLM_TOKEN_SECRET", "OCTOLLM_CONFIG"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn chart_dir() -> PathBuf {
    repo().join("deploy/helm/octollm")
}

/// (env name → default) for every setting, from the built binary itself.
fn settings() -> BTreeMap<String, String> {
    let out = run_ok(
        Command::new(env!("CARGO_BIN_EXE_octollm"))
            .args(["config", "--defaults"])
            .env_clear(),
        "octollm config --defaults",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let mut cols = line.split_whitespace();
        let (Some(_key), Some(env)) = (cols.next(), cols.next()) else {
            continue;
        };
        let default = cols.collect::<Vec<_>>().join(" ");
        map.insert(env.to_string(), default);
    }
    assert!(
        map.len() > 50,
        "octollm config listed too few settings: {text}"
    );
    map
}

/// Each component's port, as the binary's defaults define it.
fn ports() -> BTreeMap<&'static str, u16> {
    let s = settings();
    COMPONENTS
        .iter()
        .map(|c| {
            let name = format!("OCTOLLM_{}_PORT", c.to_ascii_uppercase());
            let port = s
                .get(&name)
                .unwrap_or_else(|| panic!("{name} is not a setting"))
                .parse()
                .unwrap();
            (*c, port)
        })
        .collect()
}

// ---------------------------------------------------------------- compose --

/// The compose command available here, if any: the v2 plugin first.
fn compose_command() -> Option<Vec<String>> {
    let works = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if works(&["docker", "compose", "version"]) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    if works(&["docker-compose", "version"]) {
        return Some(vec!["docker-compose".into()]);
    }
    None
}

#[test]
fn compose_file_passes_compose_config() {
    let Some(cmd) = compose_command() else {
        let ci = std::env::var("CI").map(|v| v == "true" || v == "1");
        assert!(
            !ci.unwrap_or(false),
            "CI: neither `docker compose` nor `docker-compose` is installed \
             (apt-get install -y docker-compose)"
        );
        eprintln!("skipping: neither `docker compose` nor `docker-compose` is installed");
        return;
    };
    let file = repo().join("deploy/compose.yaml");
    let out = run_ok(
        Command::new(&cmd[0])
            .args(&cmd[1..])
            .arg("-f")
            .arg(&file)
            .arg("config")
            .env("OCTOLLM_TOKEN_SECRET", "deploy-test-secret"),
        &format!("{} -f deploy/compose.yaml config", cmd.join(" ")),
    );
    // The normalised output still has every service.
    let rendered: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    for svc in COMPONENTS.iter().chain(&["postgres", "redis"]) {
        assert!(
            rendered["services"][*svc].is_mapping(),
            "service {svc} missing from the compose config output"
        );
    }
    // Without the token secret the file refuses to render.
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg("-f")
        .arg(&file)
        .arg("config")
        .env_remove("OCTOLLM_TOKEN_SECRET")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "compose config must insist on OCTOLLM_TOKEN_SECRET"
    );
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// (port, path) of an `http://127.0.0.1:PORT/PATH` or `localhost` URL.
fn local_url(s: &str) -> Option<(u16, String)> {
    let rest = s
        .split("http://127.0.0.1:")
        .nth(1)
        .or_else(|| s.split("http://localhost:").nth(1))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let path: String = rest[digits.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
        .collect();
    Some((digits.parse().ok()?, path))
}

#[test]
fn compose_services_match_the_code() {
    let ports = ports();
    let doc: Value = serde_yaml::from_str(&read("deploy/compose.yaml")).unwrap();
    let services = &doc["services"];
    for svc in ["postgres", "redis"] {
        assert!(
            services[svc]["healthcheck"]["test"].is_sequence(),
            "{svc} has no health check"
        );
    }
    for c in COMPONENTS {
        let s = &services[c];
        let port = ports[c];
        assert_eq!(
            str_list(&s["command"]),
            vec!["serve".to_string(), c.to_string()],
            "{c}: command"
        );
        let published = str_list(&s["ports"]);
        assert!(!published.is_empty(), "{c}: no published port");
        for p in &published {
            assert!(
                p.ends_with(&format!(":{port}")),
                "{c}: port mapping {p} does not target {port}"
            );
        }
        let test = str_list(&s["healthcheck"]["test"]).join(" ");
        let (hc_port, path) =
            local_url(&test).unwrap_or_else(|| panic!("{c}: health check has no URL: {test}"));
        assert_eq!(hc_port, port, "{c}: health check port");
        assert!(
            path == "/health" || path == "/ready",
            "{c}: health check path {path}"
        );
        assert!(
            str_list(&s["cap_drop"]).contains(&"ALL".to_string()),
            "{c}: cap_drop ALL"
        );
        assert!(
            str_list(&s["security_opt"]).contains(&"no-new-privileges:true".to_string()),
            "{c}: no-new-privileges"
        );
        assert_eq!(s["read_only"].as_bool(), Some(true), "{c}: read_only");
        assert_eq!(
            s["environment"]["OCTOLLM_BIND"].as_str(),
            Some("0.0.0.0"),
            "{c}: must bind 0.0.0.0 in a container"
        );
        if c == "executor" {
            let added: BTreeSet<String> = str_list(&s["cap_add"]).into_iter().collect();
            let allowed: BTreeSet<String> = ["SETUID", "SETGID"].map(String::from).into();
            assert_eq!(
                added, allowed,
                "executor: capabilities beyond the sandbox's needs"
            );
            assert!(
                s["privileged"].as_bool() != Some(true),
                "executor: privileged"
            );
        } else {
            assert!(s["cap_add"].is_null(), "{c}: needs no capabilities");
            assert_eq!(
                s["user"].as_str(),
                Some("10001:10001"),
                "{c}: non-root user"
            );
        }
        // Gated on healthy dependencies.
        if let Some(deps) = s["depends_on"].as_mapping() {
            for (name, cond) in deps {
                assert_eq!(
                    cond["condition"].as_str(),
                    Some("service_healthy"),
                    "{c}: depends_on {name:?}"
                );
            }
        }
    }
    let orch = &services["orchestrator"]["environment"];
    for (var, target) in [
        ("OCTOLLM_ORCHESTRATOR_REFLEX_URL", "reflex"),
        ("OCTOLLM_ORCHESTRATOR_PLANNER_URL", "planner"),
        ("OCTOLLM_ORCHESTRATOR_EXECUTOR_URL", "executor"),
    ] {
        assert_eq!(
            orch[var].as_str(),
            Some(format!("http://{target}:{}", ports[target]).as_str()),
            "orchestrator: {var}"
        );
    }
    assert!(orch["DATABASE_URL"]
        .as_str()
        .unwrap()
        .starts_with("postgres://"));
    assert_eq!(
        services["planner"]["environment"]["OCTOLLM_PLANNER_EXECUTOR_URL"].as_str(),
        Some(format!("http://executor:{}", ports["executor"]).as_str())
    );
    for c in ["reflex", "planner"] {
        assert_eq!(
            services[c]["environment"]["REDIS_URL"].as_str(),
            Some("redis://redis:6379"),
            "{c}: REDIS_URL"
        );
    }
}

// ------------------------------------------------------------------- helm --

/// Looks up `a.b.c` in a YAML tree.
fn lookup<'a>(root: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(root, |v, k| v.as_mapping().and_then(|m| m.get(k)))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Sequence(s) => !s.is_empty(),
        Value::Mapping(m) => !m.is_empty(),
        Value::Tagged(_) => true,
    }
}

/// `.Files.Get "PATH" | indent N`: the chart file, every line (the first,
/// and the empty one after a final newline, included) indented, as Helm's
/// `indent` does.
fn file_get(expr: &str, name: &str) -> String {
    let refuse =
        || -> ! { panic!("{name}: expected `.Files.Get \"PATH\" | indent N`, found {expr}") };
    let (get, pipe) = expr.split_once('|').unwrap_or_else(|| refuse());
    let path = get
        .trim()
        .strip_prefix(".Files.Get")
        .map(str::trim)
        .and_then(|p| p.strip_prefix('"')?.strip_suffix('"'))
        .unwrap_or_else(|| refuse());
    let n: usize = pipe
        .trim()
        .strip_prefix("indent ")
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| refuse());
    assert!(
        !path.starts_with("templates/") && !path.contains(".."),
        "{name}: .Files.Get of {path}"
    );
    let text = std::fs::read_to_string(chart_dir().join(path))
        .unwrap_or_else(|e| panic!("{name}: .Files.Get {path}: {e}"));
    let pad = " ".repeat(n);
    format!("{pad}{}", text.replace('\n', &format!("\n{pad}")))
}

/// Renders a template the way `helm template` would for the constructs
/// the chart uses, and fails on anything else, which keeps it simple:
/// value, release and chart substitutions, `{{ if .Values.… }}` …
/// `{{ end }}` (a value's truth as Go templates judge it), `.Files.Get
/// "PATH" | indent N`, and the `{{-`/`-}}` trimming of the text beside an
/// action.
fn render(template: &str, name: &str, values: &Value, chart: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    // One entry per open `if`: whether its body is rendered.
    let mut open: Vec<bool> = Vec::new();
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let text = if trim_next {
            rest[..start].trim_start()
        } else {
            &rest[..start]
        };
        let inner = &rest[start + 2..];
        let text = if inner.starts_with('-') {
            text.trim_end()
        } else {
            text
        };
        let live = open.iter().all(|b| *b);
        if live {
            out.push_str(text);
        }
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("{name}: unclosed {{{{"))
            + start;
        let raw = &rest[start + 2..end];
        trim_next = raw.ends_with('-');
        let expr = raw
            .trim_matches(|c: char| c == '-' || c.is_whitespace())
            .to_string();
        rest = &rest[end + 2..];
        if let Some(cond) = expr.strip_prefix("if ") {
            let path = cond.trim().strip_prefix(".Values.").unwrap_or_else(|| {
                panic!("{name}: only `if .Values.…` is allowed, found {{{{ {expr} }}}}")
            });
            let v = lookup(values, path)
                .unwrap_or_else(|| panic!("{name}: {{{{ {expr} }}}} is not in values.yaml"));
            open.push(truthy(v));
            continue;
        }
        if expr == "end" {
            assert!(open.pop().is_some(), "{name}: {{{{ end }}}} without if");
            continue;
        }
        let value = if expr.starts_with(".Files.Get") {
            file_get(&expr, name)
        } else if let Some(path) = expr.strip_prefix(".Values.") {
            lookup(values, path)
                .and_then(scalar)
                .unwrap_or_else(|| panic!("{name}: {{{{ {expr} }}}} has no scalar in values.yaml"))
        } else if expr == ".Release.Name" {
            "octollm".to_string()
        } else if expr == ".Release.Namespace" {
            "default".to_string()
        } else if let Some(key) = expr.strip_prefix(".Chart.") {
            let key = match key {
                "Name" => "name",
                "Version" => "version",
                "AppVersion" => "appVersion",
                other => panic!("{name}: unsupported {{{{ .Chart.{other} }}}}"),
            };
            scalar(&chart[key]).unwrap_or_else(|| panic!("Chart.yaml has no {key}"))
        } else {
            panic!("{name}: only value substitutions, `if .Values.…`, `end` and `.Files.Get` are allowed, found {{{{ {expr} }}}}");
        };
        if live {
            out.push_str(&value);
        }
    }
    assert!(
        open.is_empty(),
        "{name}: {{{{ if }}}} without {{{{ end }}}}"
    );
    out.push_str(if trim_next { rest.trim_start() } else { rest });
    out
}

struct Chart {
    /// (template file, rendered text).
    rendered: Vec<(String, String)>,
    /// Every manifest of every YAML template.
    docs: Vec<Value>,
}

fn chart_values() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
        .unwrap()
}

/// The monitoring switches this test flips.
const MONITORING: [&str; 3] = ["grafanaDashboard", "prometheusRule", "alertsConfigMap"];

/// values.yaml with every `monitoring.*.enabled` set to `on`.
fn values_with_monitoring(on: bool) -> Value {
    let mut values = chart_values();
    for m in MONITORING {
        let switch = values["monitoring"][m]
            .as_mapping_mut()
            .unwrap_or_else(|| panic!("values.yaml has no monitoring.{m}"));
        assert!(
            switch.get("enabled").is_some_and(Value::is_bool),
            "monitoring.{m}.enabled must be a boolean"
        );
        switch.insert("enabled".into(), Value::Bool(on));
    }
    values
}

fn render_chart() -> Chart {
    render_chart_with(&chart_values())
}

fn render_chart_with(values: &Value) -> Chart {
    let dir = chart_dir();
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("Chart.yaml")).unwrap()).unwrap();
    assert_eq!(chart["apiVersion"].as_str(), Some("v2"));
    assert_eq!(chart["name"].as_str(), Some("octollm"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut rendered = Vec::new();
    let mut docs = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = render(
            &std::fs::read_to_string(&path).unwrap(),
            &name,
            values,
            &chart,
        );
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            for (i, part) in text.split("\n---").enumerate() {
                let doc: Value = serde_yaml::from_str(part)
                    .unwrap_or_else(|e| panic!("{name}: document {i} is not YAML: {e}\n{part}"));
                if !doc.is_null() {
                    docs.push(doc);
                }
            }
        }
        rendered.push((name, text));
    }
    Chart { rendered, docs }
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} named {name}"))
}

#[test]
fn helm_chart_renders_with_every_component() {
    let ports = ports();
    let chart = render_chart();
    let docs = &chart.docs;
    for d in docs {
        assert!(
            d["apiVersion"].is_string(),
            "manifest without apiVersion: {d:?}"
        );
        assert!(
            d["metadata"]["name"].is_string(),
            "manifest without a name: {d:?}"
        );
    }
    let config_map = find(docs, "ConfigMap", "octollm-octollm");
    let secret = find(docs, "Secret", "octollm-octollm");
    assert!(config_map["data"].is_mapping());
    assert!(secret["stringData"]["token-secret"].is_string());
    for c in COMPONENTS {
        let port = u64::from(ports[c]);
        let name = format!("octollm-octollm-{c}");
        let dep = find(docs, "Deployment", &name);
        let pod = &dep["spec"]["template"];
        let selector = dep["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
        for (k, v) in selector {
            assert_eq!(
                &pod["metadata"]["labels"][k], v,
                "{c}: selector label {k:?}"
            );
        }
        let containers = pod["spec"]["containers"].as_sequence().unwrap();
        assert_eq!(containers.len(), 1, "{c}: one container");
        let ctr = &containers[0];
        assert_eq!(
            str_list(&ctr["args"]),
            vec!["serve".to_string(), c.to_string()],
            "{c}: args"
        );
        assert_eq!(
            ctr["ports"][0]["containerPort"].as_u64(),
            Some(port),
            "{c}: containerPort"
        );
        for (probe, path) in [("livenessProbe", "/health"), ("readinessProbe", "/ready")] {
            let get = &ctr[probe]["httpGet"];
            assert_eq!(get["path"].as_str(), Some(path), "{c}: {probe} path");
            assert_eq!(get["port"].as_u64(), Some(port), "{c}: {probe} port");
        }
        assert_eq!(
            pod["metadata"]["annotations"]["prometheus.io/port"].as_str(),
            Some(port.to_string().as_str()),
            "{c}: metrics port annotation"
        );
        // Configuration comes from the ConfigMap and the Secret.
        assert_eq!(
            ctr["envFrom"][0]["configMapRef"]["name"].as_str(),
            Some("octollm-octollm"),
            "{c}: ConfigMap"
        );
        let env = ctr["env"].as_sequence().unwrap();
        assert!(
            env.iter()
                .any(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str()
                    == Some("octollm-octollm")
                    && secret["stringData"]
                        [e["valueFrom"]["secretKeyRef"]["key"].as_str().unwrap()]
                    .is_string()),
            "{c}: no value from the Secret"
        );
        for e in env {
            if let Some(key) = e["valueFrom"]["secretKeyRef"]["key"].as_str() {
                assert!(
                    secret["stringData"][key].is_string(),
                    "{c}: Secret has no key {key}"
                );
            }
        }
        // Security context: unprivileged everywhere, the executor only as
        // far as its sandbox needs.
        let sc = &ctr["securityContext"];
        assert!(sc.is_mapping(), "{c}: securityContext");
        assert_eq!(sc["privileged"].as_bool(), Some(false), "{c}: privileged");
        assert_eq!(
            sc["allowPrivilegeEscalation"].as_bool(),
            Some(false),
            "{c}: allowPrivilegeEscalation"
        );
        assert_eq!(
            sc["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{c}: readOnlyRootFilesystem"
        );
        assert_eq!(
            str_list(&sc["capabilities"]["drop"]),
            vec!["ALL".to_string()],
            "{c}: drop ALL"
        );
        if c == "executor" {
            let added: BTreeSet<String> =
                str_list(&sc["capabilities"]["add"]).into_iter().collect();
            let allowed: BTreeSet<String> = ["SETUID", "SETGID"].map(String::from).into();
            assert_eq!(added, allowed, "executor: capabilities");
            assert_eq!(
                pod["spec"]["hostUsers"].as_bool(),
                Some(false),
                "executor: hostUsers"
            );
        } else {
            assert_eq!(
                sc["runAsNonRoot"].as_bool(),
                Some(true),
                "{c}: runAsNonRoot"
            );
            assert!(
                sc["capabilities"]["add"].is_null(),
                "{c}: adds capabilities"
            );
            assert_eq!(
                sc["seccompProfile"]["type"].as_str(),
                Some("RuntimeDefault"),
                "{c}: seccomp"
            );
        }
        let svc = find(docs, "Service", &name);
        assert_eq!(
            svc["spec"]["ports"][0]["port"].as_u64(),
            Some(port),
            "{c}: Service port"
        );
        assert_eq!(
            svc["spec"]["ports"][0]["targetPort"].as_u64(),
            Some(port),
            "{c}: targetPort"
        );
        for (k, v) in svc["spec"]["selector"].as_mapping().unwrap() {
            assert_eq!(
                &pod["metadata"]["labels"][k], v,
                "{c}: Service selector {k:?}"
            );
        }
        let hpa = find(docs, "HorizontalPodAutoscaler", &name);
        assert_eq!(
            hpa["spec"]["scaleTargetRef"]["kind"].as_str(),
            Some("Deployment")
        );
        assert_eq!(
            hpa["spec"]["scaleTargetRef"]["name"].as_str(),
            Some(name.as_str())
        );
        let (min, max) = (
            hpa["spec"]["minReplicas"].as_u64().unwrap(),
            hpa["spec"]["maxReplicas"].as_u64().unwrap(),
        );
        assert!(min >= 1 && max >= min, "{c}: HPA bounds {min}..{max}");
    }
    // Several orchestrators share the queue: the chart starts with two.
    let orch = find(
        docs,
        "HorizontalPodAutoscaler",
        "octollm-octollm-orchestrator",
    );
    assert!(orch["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    // The ConfigMap wires the components to each other's Services.
    for (var, target) in [
        ("OCTOLLM_ORCHESTRATOR_REFLEX_URL", "reflex"),
        ("OCTOLLM_ORCHESTRATOR_PLANNER_URL", "planner"),
        ("OCTOLLM_ORCHESTRATOR_EXECUTOR_URL", "executor"),
        ("OCTOLLM_PLANNER_EXECUTOR_URL", "executor"),
    ] {
        assert_eq!(
            config_map["data"][var].as_str(),
            Some(format!("http://octollm-octollm-{target}:{}", ports[target]).as_str()),
            "ConfigMap: {var}"
        );
    }
    assert!(chart.rendered.iter().any(|(n, _)| n == "NOTES.txt"));
}

/// The manifests of `kind` whose name is `name`.
fn all_named<'a>(docs: &'a [Value], kind: &str, name: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|d| {
            d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name)
        })
        .collect()
}

#[test]
fn helm_chart_ships_the_dashboard_and_alerts_behind_their_switches() {
    let rules: Value = serde_yaml::from_str(&read("deploy/helm/octollm/alerts/octollm-rules.yaml"))
        .expect("the rule file is YAML");
    assert!(
        rules["groups"].as_sequence().is_some_and(|g| !g.is_empty()),
        "the rule file has no groups"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/helm/octollm/dashboards/octollm.json"))
            .expect("the dashboard is JSON");

    let on = render_chart_with(&values_with_monitoring(true));
    let dash = all_named(&on.docs, "ConfigMap", "octollm-octollm-dashboard");
    assert_eq!(dash.len(), 1, "one dashboard ConfigMap");
    assert_eq!(
        dash[0]["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1"),
        "the Grafana sidecar's label"
    );
    let shipped: serde_json::Value =
        serde_json::from_str(dash[0]["data"]["octollm.json"].as_str().unwrap())
            .expect("the shipped dashboard is JSON");
    assert_eq!(shipped, dashboard, "the ConfigMap holds the dashboard file");

    let rule = all_named(&on.docs, "PrometheusRule", "octollm-octollm");
    assert_eq!(rule.len(), 1, "one PrometheusRule");
    assert_eq!(
        rule[0]["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(
        rule[0]["metadata"]["labels"]["release"].as_str(),
        lookup(&chart_values(), "monitoring.prometheusRule.release").and_then(Value::as_str),
        "the label the Operator's ruleSelector matches"
    );
    assert_eq!(
        rule[0]["spec"]["groups"], rules["groups"],
        "the PrometheusRule holds the rule file's groups"
    );

    let cm = all_named(&on.docs, "ConfigMap", "octollm-octollm-alerts");
    assert_eq!(cm.len(), 1, "one rules ConfigMap");
    let file: Value = serde_yaml::from_str(cm[0]["data"]["octollm-rules.yaml"].as_str().unwrap())
        .expect("the shipped rule file is YAML");
    assert_eq!(file, rules, "the ConfigMap holds the rule file as it is");

    // Switched off, none of them renders (a PrometheusRule without the
    // Operator's CRDs would fail the install), and the rest is unchanged.
    let off = render_chart_with(&values_with_monitoring(false));
    let names = |c: &Chart| -> BTreeSet<(String, String)> {
        c.docs
            .iter()
            .map(|d| {
                (
                    d["kind"].as_str().unwrap().to_string(),
                    d["metadata"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let extra: BTreeSet<_> = names(&on).difference(&names(&off)).cloned().collect();
    assert_eq!(
        extra,
        [
            ("ConfigMap", "octollm-octollm-alerts"),
            ("ConfigMap", "octollm-octollm-dashboard"),
            ("PrometheusRule", "octollm-octollm"),
        ]
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .into()
    );
    assert!(names(&off).is_subset(&names(&on)));

    // The defaults: the dashboard on, the rules (which need a Prometheus
    // set up for them) off.
    let default = names(&render_chart());
    assert!(default.contains(&("ConfigMap".into(), "octollm-octollm-dashboard".into())));
    assert!(!default.iter().any(|(k, _)| k == "PrometheusRule"));
    assert!(!default.contains(&("ConfigMap".into(), "octollm-octollm-alerts".into())));

    // The rules' unit tests stay out of the installed chart.
    let ignore = std::fs::read_to_string(chart_dir().join(".helmignore")).unwrap();
    assert!(
        ignore.lines().any(|l| l.trim() == "alerts/*.test.yaml"),
        ".helmignore: {ignore}"
    );
}

// ------------------------------------------------------------------ drift --

/// Every `OCTOLLM_[A-Z0-9_]+` name in `text` (not as part of a longer word).
fn octollm_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("OCTOLLM_") {
        let at = from + i;
        let word_before =
            at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let end = text[at..]
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |n| at + n);
        if !word_before {
            // `OCTOLLM_LLM_*` in prose names a family: keep the `*`.
            let star = text[end..].starts_with('*');
            let name = &text[at..end];
            out.insert(if star {
                format!("{name}*")
            } else {
                name.trim_end_matches('_').to_string()
            });
        }
        from = end.max(at + 1);
    }
    out
}

/// `(host, port)` of every `scheme://host:port` in `text`.
fn urls(text: &str) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("://") {
        let rest = &text[i + 3..];
        let authority: String = rest
            .chars()
            .take_while(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '.' | '-' | ':' | '@' | '_' | '$' | '{' | '}')
            })
            .collect();
        let host_port = authority.rsplit('@').next().unwrap_or("");
        if let Some((host, port)) = host_port.rsplit_once(':') {
            if let Ok(port) = port.parse::<u16>() {
                out.push((host.to_string(), port));
            }
        }
    }
    out
}

/// Every artefact to check, by name, with templates rendered.
fn artefacts() -> Vec<(String, String)> {
    let mut out = vec![
        ("Dockerfile".to_string(), read("Dockerfile")),
        (
            "deploy/compose.yaml".to_string(),
            read("deploy/compose.yaml"),
        ),
        (
            "deploy/helm/octollm/values.yaml".to_string(),
            read("deploy/helm/octollm/values.yaml"),
        ),
    ];
    for (name, text) in render_chart_with(&values_with_monitoring(true)).rendered {
        out.push((format!("deploy/helm/octollm/templates/{name}"), text));
    }
    out
}

#[test]
fn no_drift_between_artefacts_and_code() {
    let settings = settings();
    let ports = ports();
    let mut problems = Vec::new();
    for (file, text) in artefacts() {
        for name in octollm_names(&text) {
            let known = match name.strip_suffix('*') {
                Some(prefix) => settings.keys().any(|k| k.starts_with(prefix)),
                None => settings.contains_key(&name) || CONVENTIONAL.contains(&name.as_str()),
            };
            if !known {
                problems.push(format!(
                    "{file}: {name} is not a setting (see `octollm config`)"
                ));
            }
        }
        for (host, port) in urls(&text) {
            let component = COMPONENTS.iter().find(|c| host.ends_with(*c));
            match (component, host.as_str()) {
                (Some(c), _) if ports[c] != port => problems.push(format!(
                    "{file}: {host}:{port} but the {c} listens on {}",
                    ports[c]
                )),
                (None, "127.0.0.1" | "localhost") if !ports.values().any(|p| *p == port) => {
                    problems.push(format!("{file}: {host}:{port} is no component's port"))
                }
                _ => {}
            }
        }
        // Health paths: whatever follows a component port in a URL.
        for (i, _) in text.match_indices("http://") {
            if let Some((port, path)) = local_url(&text[i..]) {
                if ports.values().any(|p| *p == port)
                    && !path.is_empty()
                    && !path.starts_with("/api/")
                    && path != "/health"
                    && path != "/ready"
                    && path != "/metrics"
                {
                    problems.push(format!("{file}: health path {path} on port {port}"));
                }
            }
        }
    }
    // The Dockerfile's published ports and health check cover exactly the
    // four components.
    let dockerfile = read("Dockerfile");
    let mut sorted: Vec<u16> = ports.values().copied().collect();
    sorted.sort_unstable();
    let range = format!("EXPOSE {}-{}", sorted[0], sorted[sorted.len() - 1]);
    let contiguous = sorted.windows(2).all(|w| w[1] == w[0] + 1);
    if !(contiguous && dockerfile.lines().any(|l| l.trim() == range)) {
        problems.push(format!(
            "Dockerfile: expected `{range}` for ports {sorted:?}"
        ));
    }
    let list = sorted
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    if !dockerfile.contains(&format!("for port in {list};")) || !dockerfile.contains("/health") {
        problems.push(format!(
            "Dockerfile: HEALTHCHECK must probe /health on {list}"
        ));
    }
    if !dockerfile.contains("ENTRYPOINT [\"octollm\"]") {
        problems.push("Dockerfile: ENTRYPOINT must be [\"octollm\"]".into());
    }
    assert!(problems.is_empty(), "drift:\n{}", problems.join("\n"));
}

#[test]
fn drift_checks_catch_drift() {
    // The scanners themselves: a wrong name, a wrong port and a wrong path
    // are all seen.
    let names =
        octollm_names("A: ${OCTOLLM_NO_SUCH:-x} X_OCTOLLM_IGNORED OCTOLLM_BIND=1 OCTOLLM_LLM_*");
    assert_eq!(
        names,
        ["OCTOLLM_BIND", "OCTOLLM_LLM_*", "OCTOLLM_NO_SUCH"]
            .map(String::from)
            .into()
    );
    assert!(!settings().contains_key("OCTOLLM_NO_SUCH"));
    assert_eq!(
        urls("url: http://octollm-octollm-reflex:8002 and redis://redis:6379/0"),
        vec![
            ("octollm-octollm-reflex".to_string(), 8002),
            ("redis".to_string(), 6379)
        ]
    );
    assert_eq!(
        local_url("curl -fsS http://127.0.0.1:8003/healthz\""),
        Some((8003, "/healthz".to_string()))
    );
    let values: Value = serde_yaml::from_str("a: {b: 3, c: true}").unwrap();
    let chart: Value = serde_yaml::from_str("name: octollm\nversion: 1.0.0").unwrap();
    assert_eq!(
        render(
            "n: {{ .Values.a.b }} {{.Values.a.c}} {{ .Release.Name }}-{{ .Chart.Version }}",
            "t",
            &values,
            &chart
        ),
        "n: 3 true octollm-1.0.0"
    );
    // `if` on a value, with Go's trimming on either side of an action.
    assert_eq!(
        render(
            "a:\n{{- if .Values.a.c }}\n  yes: 1\n{{- end }}\nb: {{ if .Values.a.d }}x{{ end -}}  \n  z",
            "t",
            &serde_yaml::from_str("a: {c: true, d: false}").unwrap(),
            &chart
        ),
        "a:\n  yes: 1\nb: z"
    );
    assert_eq!(
        render(
            "{{- if .Values.a.c }}\nkind: X\n{{- end }}\n",
            "t",
            &serde_yaml::from_str("a: {c: false}").unwrap(),
            &chart
        ),
        "\n"
    );
    // Helm's indent pads every line, the empty one after the last newline too.
    let chart_yaml = read("deploy/helm/octollm/Chart.yaml");
    let got = render(
        "x: |-\n{{ .Files.Get \"Chart.yaml\" | indent 2 }}",
        "t",
        &values,
        &chart,
    );
    assert_eq!(
        got,
        format!("x: |-\n  {}", chart_yaml.replace('\n', "\n  "))
    );
    assert!(got.ends_with("\n  "));
    for bad in [
        "{{ range .Values.a }}{{ end }}",
        "{{ if .Values.a.b }}",
        "{{ end }}",
        "{{ if .Values.no.such }}{{ end }}",
        "{{ if eq .Values.a.b 3 }}{{ end }}",
        "{{ include \"x\" . }}",
        "{{ .Files.Get \"templates/secret.yaml\" | indent 2 }}",
        "{{ .Files.Get \"Chart.yaml\" }}",
    ] {
        let refused = std::panic::catch_unwind(|| render(bad, "t", &values, &chart));
        assert!(refused.is_err(), "{bad} must be refused");
    }
}
