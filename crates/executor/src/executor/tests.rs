//! The domain type without HTTP: policy, capabilities and tokens, with the
//! real sandbox behind it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use octollm_types::token::issue_for;

use super::*;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// An executor with its own uids, cgroup parent and directories.
struct Fixture {
    ex: Option<Executor>,
    dir: PathBuf,
}

impl Fixture {
    async fn start(secret: &str) -> Fixture {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("octollm-executor-unit-{tag}"));
        let config = ExecutorConfig {
            data_dir: dir.join("data").to_string_lossy().into_owned(),
            sandbox_root_dir: dir.join("root").to_string_lossy().into_owned(),
            sandbox_cgroup_parent: format!("octollm-unit-{tag}"),
            sandbox_uid_base: 3_900_000 + u64::from(n) * 100,
            max_concurrency: 4,
            token_secret: secret.to_string(),
            http_allowed_hosts: vec!["Docs.Example.".into(), "*.example.org".into()],
            ..ExecutorConfig::default()
        };
        let ex = Executor::start(config).await.unwrap();
        Fixture { ex: Some(ex), dir }
    }

    fn ex(&self) -> &Executor {
        self.ex.as_ref().unwrap()
    }

    async fn shell(&self, token: &str, command: &str, args: &[&str], stdin: &str) -> ExecuteReply {
        let req = ExecuteRequest {
            action_type: "shell".into(),
            command: command.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: Some(stdin.into()),
            method: None,
            url: None,
            timeout_seconds: Some(20.0),
            capability_token: Some(token.into()),
            workspace: None,
        };
        self.ex().execute(req, Some("rid-1".into())).await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self.ex.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const SECRET: &str = "unit-secret";

fn token(caps: &[&str]) -> String {
    issue_for(SECRET.as_bytes(), "t", caps, 60).unwrap()
}

fn code(r: &ExecuteReply) -> (u16, Option<&str>) {
    (r.status.as_u16(), r.body.error_code.as_deref())
}

#[test]
fn executor_is_send_sync_and_shareable() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Executor>();
    check::<Arc<Executor>>();
    check::<ExecuteReply>();
}

#[tokio::test]
async fn writing_forms_need_shell_write() {
    let f = Fixture::start(SECRET).await;
    let read = token(&[caps::SHELL_READ]);
    let write = token(&[caps::SHELL_READ, caps::SHELL_WRITE]);
    // `--ou` is `--output` abbreviated; `-uo` is `-u -o` clustered; a second
    // uniq operand is its output file.
    let writes: [&[&str]; 4] = [
        &["--ou=/tmp/sorted"],
        &["--ou", "/tmp/sorted"],
        &["-uo/tmp/sorted"],
        &["-r", "--output=/tmp/sorted"],
    ];
    for args in writes {
        let r = f.shell(&read, "sort", args, "b\na\n").await;
        assert_eq!(code(&r), (403, Some("CAPABILITY_MISSING")), "sort {args:?}");
        assert!(!r.body.success);
        assert_eq!(
            r.body.error.as_deref(),
            Some("The capability token does not grant 'shell_write'")
        );
        assert_eq!(r.body.request_id.as_deref(), Some("rid-1"));
    }
    let r = f.shell(&read, "uniq", &["in", "out"], "").await;
    assert_eq!(code(&r), (403, Some("CAPABILITY_MISSING")));
    let r = f.shell(&read, "uniq", &["-", "/tmp/out"], "a\na\n").await;
    assert_eq!(code(&r), (403, Some("CAPABILITY_MISSING")));

    // Reading forms need no more than shell_read.
    let r = f.shell(&read, "sort", &["-r"], "a\nb\n").await;
    assert_eq!((code(&r), r.body.output.as_str()), ((200, None), "b\na\n"));
    let r = f.shell(&read, "uniq", &["-c"], "a\na\n").await;
    assert_eq!(code(&r), (200, None));

    // With shell_write they run, and provenance says what they used.
    let want = vec!["shell_read".to_string(), "shell_write".to_string()];
    let r = f
        .shell(&write, "sort", &["--ou=/tmp/sorted"], "b\na\n")
        .await;
    assert_eq!(code(&r), (200, None), "{:?}", r.body);
    assert!(r.body.success);
    let prov = r.body.provenance.as_ref().unwrap();
    assert_eq!(prov.capabilities_used, want);
    let r = f.shell(&write, "uniq", &["-", "/tmp/out"], "a\na\n").await;
    assert_eq!(code(&r), (200, None), "{:?}", r.body);
    assert_eq!(r.body.provenance.unwrap().capabilities_used, want);
    let r = f.shell(&write, "uniq", &["in", "out"], "").await;
    assert_ne!(r.status.as_u16(), 403, "{:?}", r.body);
    assert_eq!(r.body.error_code.as_deref(), Some("NON_ZERO_EXIT"));
}

#[tokio::test]
async fn refused_options_are_dangerous_arguments_whatever_the_token() {
    let f = Fixture::start(SECRET).await;
    let all = token(&[caps::SHELL_READ, caps::SHELL_WRITE, caps::PYTHON_EXEC]);
    let cases: [(&str, &[&str], &str); 6] = [
        ("sort", &["--co=sh", "/etc/hosts"], "--compress-program"),
        ("sort", &["--compress-prog", "sh"], "--compress-program"),
        ("date", &["-s@1"], "-s"),
        ("date", &["-s", "@1"], "-s"),
        ("date", &["--se=@1"], "--set"),
        ("date", &["-us@1"], "-s"),
    ];
    for (command, args, option) in cases {
        let r = f.shell(&all, command, args, "").await;
        assert_eq!(
            code(&r),
            (403, Some("DANGEROUS_ARGUMENT")),
            "{command} {args:?}"
        );
        let msg = r.body.error.unwrap_or_default();
        assert!(
            msg.starts_with(&format!(
                "Argument '{}' of '{command}' is not allowed",
                args[0]
            )),
            "{msg}"
        );
        assert!(msg.contains(option), "{msg}");
    }
    // The reading form of `date` still runs.
    let r = f.shell(&all, "date", &["-u", "-d", "@0", "+%Y"], "").await;
    assert_eq!((code(&r), r.body.output.as_str()), ((200, None), "1970\n"));
}

#[tokio::test]
async fn tokens_and_policy_come_before_the_sandbox() {
    let f = Fixture::start(SECRET).await;
    let r = f.shell("", "echo", &["x"], "").await;
    assert_eq!(code(&r), (401, Some("TOKEN_MISSING")));
    let r = f
        .shell(&token(&[caps::SHELL_READ]), "rm", &["-rf", "/"], "")
        .await;
    assert_eq!(code(&r), (403, Some("COMMAND_NOT_ALLOWED")));
    assert!(r
        .body
        .error
        .unwrap_or_default()
        .starts_with("Command 'rm' is not in the allowlist. Allowed commands: echo, cat"));
    let r = f
        .shell(&token(&[caps::SHELL_READ]), "python3", &["-c", "1"], "")
        .await;
    assert_eq!(code(&r), (403, Some("CAPABILITY_MISSING")));
    let r = f.ex().bad_request(
        StatusCode::BAD_REQUEST,
        "MALFORMED_JSON",
        "Malformed JSON",
        None,
    );
    assert_eq!(code(&r), (400, Some("MALFORMED_JSON")));
}

#[tokio::test]
async fn accessors_health_and_capabilities() {
    let f = Fixture::start("").await;
    let ex = f.ex();
    assert!(!ex.tokens_required());
    assert!(!ex.allow_plain_http());
    assert_eq!(ex.policy().allowed().len(), 12);
    assert!(ex.hosts().allows("docs.example"));
    assert!(ex.hosts().allows("api.example.org"));
    assert!(!ex.hosts().allows("example.org"));
    let h = ex.health();
    assert_eq!(h.sandbox, SandboxState::Ready);
    assert!(h.ready() && !h.degraded() && h.http_action_ready);
    let caps = ex.capabilities();
    assert_eq!(
        caps["allowed_hosts"],
        json!(["docs.example", "*.example.org"])
    );
    assert_eq!(caps["allowed_commands"][0], "echo");
    let forbidden = caps["forbidden_options"].as_array().unwrap();
    assert!(forbidden.contains(
        &json!({"command": "sort", "option": "--compress-program", "reason": "runs other programs"})
    ));
    assert!(forbidden
        .iter()
        .any(|o| o["command"] == "find" && o["option"] == "-exec"));
    assert!(forbidden
        .iter()
        .any(|o| o["command"] == "date" && o["option"] == "-s/--set"));
    let gated = caps["gated_options"].as_array().unwrap();
    assert!(gated.contains(&json!({"command": "sort", "option": "-o/--output", "requires": "shell_write", "reason": "writes files"})));
    assert!(gated
        .iter()
        .any(|o| o["command"] == "uniq" && o["requires"] == "shell_write"));
}
