//! SC-001 / SC-003: escape and abuse attempts, through the real HTTP API and
//! the real sandbox. Each test asserts the specific harm did not happen and
//! that nothing was left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_eperm, assert_refused, output, Server, SOCKET_PROBE};
use octollm_testkit::programs::{fork_bomb_forks, FORK_BOMB};
use serde_json::json;

/// A file on the host that the sandbox must never see.
fn plant_secret(s: &Server, name: &str) -> (std::path::PathBuf, String) {
    let secret = format!("host-secret-{}-{name}", std::process::id());
    let path = s.dir.join("data").join(format!("{name}.txt"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &secret).unwrap();
    (path, secret)
}

#[tokio::test]
async fn sc001_etc_shadow_is_not_readable() {
    let s = Server::start().await;
    let (status, v) = s.shell("cat", &["/etc/shadow"]).await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], false);
    assert!(!output(&v).contains("root:"));
    // The curated /etc has no host accounts either.
    let (_, v) = s.shell("cat", &["/etc/passwd"]).await;
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert_ne!(output(&v), host_passwd);
    assert!(output(&v).lines().count() <= 2);
    let (_, v) = s.shell("ls", &["/etc"]).await;
    for absent in ["shadow", "gshadow", "sudoers", "ssh"] {
        assert!(!output(&v).lines().any(|l| l == absent), "{absent} visible");
    }
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_host_home_and_data_dirs_are_invisible() {
    let s = Server::start().await;
    let (path, secret) = plant_secret(&s, "home");
    for dir in ["/root", "/home", "/var", "/run"] {
        let (_, v) = s.shell("ls", &["-la", dir]).await;
        assert_eq!(v["success"], false, "{dir} is visible: {v}");
    }
    let (_, v) = s.shell("cat", &[path.to_str().unwrap()]).await;
    assert_eq!(v["success"], false);
    assert!(!output(&v).contains(&secret));
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_writes_outside_the_workspace_fail() {
    let s = Server::start().await;
    let host_target = s.dir.join("pwned");
    let code = format!(
        r#"
import os
ok = []
for p in ["/pwned", "/etc/pwned", "/usr/pwned", "/dev/pwned", "/proc/pwned", {host:?}]:
    try:
        open(p, "w").write("x"); ok.append(p)
    except OSError:
        pass
open("/workspace/fine", "w").write("x")
open("/tmp/fine", "w").write("x")
print("WROTE", ok)
"#,
        host = host_target.to_str().unwrap()
    );
    let (_, v) = s.python(&code).await;
    assert_eq!(v["success"], true, "{v}");
    assert!(output(&v).contains("WROTE []"), "{v}");
    assert!(!host_target.exists());
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_dotdot_and_symlink_tricks_with_cat() {
    let s = Server::start().await;
    let (path, secret) = plant_secret(&s, "dotdot");
    let host = path.to_str().unwrap();
    for p in [
        format!("../../../../../..{host}"),
        format!("/proc/self/root{host}"),
        format!("/proc/1/root{host}"),
        format!("/proc/1/cwd/../../../..{host}"),
        "../../../../etc/shadow".to_string(),
    ] {
        let (_, v) = s.shell("cat", &[&p]).await;
        assert_eq!(v["success"], false, "{p}: {v}");
        assert!(!output(&v).contains(&secret));
    }
    // A symlink planted in the workspace resolves inside the sandbox root.
    let code = format!(
        r#"
import os, subprocess
os.symlink({host:?}, "/workspace/l")
os.symlink("/etc/shadow", "/workspace/s")
r = subprocess.run(["cat", "/workspace/l", "/workspace/s"], capture_output=True, text=True)
print("RC", r.returncode, r.stdout)
"#
    );
    let (_, v) = s.python(&code).await;
    assert!(output(&v).contains("RC 1"), "{v}");
    assert!(!output(&v).contains(&secret));
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_grep_r_and_find_do_not_reach_host_files() {
    let s = Server::start().await;
    let (path, secret) = plant_secret(&s, "grep");
    let (_, v) = s
        .shell(
            "grep",
            &[
                "-r",
                "-s",
                &secret,
                "/etc",
                "/tmp",
                "/workspace",
                "/dev",
                "/root",
                "/home",
                "/var",
            ],
        )
        .await;
    assert_eq!(v["success"], false);
    assert!(!output(&v).contains(&secret));
    let name = path.file_name().unwrap().to_str().unwrap();
    let (_, v) = s
        .shell(
            "find",
            &[
                "/", "-path", "/proc", "-prune", "-o", "-path", "/usr", "-prune", "-o", "-name",
                name, "-print",
            ],
        )
        .await;
    assert_eq!(output(&v), "", "{v}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_host_loopback_listener_gets_no_connection() {
    let s = Server::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        r#"
import socket
for host in ["127.0.0.1", "localhost"]:
    try:
        socket.create_connection((host, {port}), timeout=2); print("CONNECTED")
    except OSError as e:
        print("refused", e.errno)
"#
    );
    let (_, v) = s.python(&code).await;
    assert!(!output(&v).contains("CONNECTED"), "{v}");
    assert!(output(&v).contains("refused"));
    let accepted = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
    assert!(accepted.is_err(), "the host listener saw a connection");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_no_route_to_the_outside() {
    let s = Server::start().await;
    // 192.0.2.1 is TEST-NET-1: never routed. The netns has no route at all,
    // so nothing leaves the sandbox either way.
    let code = r#"
import socket
print(open("/proc/net/dev").read())
try:
    socket.create_connection(("192.0.2.1", 80), timeout=2); print("CONNECTED")
except OSError as e:
    print("tcp-failed", e.errno)
try:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("192.0.2.1", 53)); print("UDP-SENT")
except OSError as e:
    print("udp-failed", e.errno)
"#;
    let (v, out) = s.python_out(code).await;
    assert!(
        out.contains("tcp-failed") && out.contains("udp-failed"),
        "{v}"
    );
    let ifaces: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(':') && !l.contains('|'))
        .collect();
    assert_eq!(ifaces.len(), 1, "only loopback expected: {ifaces:?}");
    assert!(ifaces[0].trim_start().starts_with("lo:"));
    s.assert_clean().await;
}

const SYSCALL_PROBE: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    r = libc.syscall(*args)
    print(name, r, ctypes.get_errno())
"#;

/// Runs `script` (lines of `call(name, nr, args…)`, and anything else) after
/// [`SYSCALL_PROBE`]; each call in `refused` must fail with EPERM. The whole
/// output, for the test's own checks.
async fn probe_syscalls(s: &Server, script: &str, refused: &[&str]) -> String {
    let (_, v) = s.python(&format!("{SYSCALL_PROBE}{script}")).await;
    let out = output(&v).to_string();
    assert_eperm(&out, refused);
    out
}

#[tokio::test]
async fn sc003_mount_and_umount_are_refused() {
    let s = Server::start().await;
    let script = "\
call('mount', 165, b'none', b'/workspace', b'tmpfs', 0, None)
call('umount2', 166, b'/usr', 2)
call('pivot_root', 155, b'/tmp', b'/tmp')
call('chroot', 161, b'/tmp')
call('open_tree', 428, -100, b'/', 1)
print(open('/proc/self/status').read())
";
    let out = probe_syscalls(
        &s,
        script,
        &["mount", "umount2", "pivot_root", "chroot", "open_tree"],
    )
    .await;
    assert!(out.contains("Seccomp:\t2"), "seccomp not in filter mode");
    assert!(out.contains("NoNewPrivs:\t1"));
    assert!(out.contains("CapEff:\t0000000000000000") && out.contains("CapBnd:\t0000000000000000"));
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_namespace_creation_is_refused() {
    let s = Server::start().await;
    let script = "\
call('unshare_user', 272, 0x10000000)
call('unshare_net', 272, 0x40000000)
call('setns', 308, 0, 0)
call('clone_newuser', 56, 0x10000000 | 17, 0, 0, 0, 0)
call('clone3', 435, 0, 0)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print('fork-ok')
";
    let out = probe_syscalls(
        &s,
        script,
        &["unshare_user", "unshare_net", "setns", "clone_newuser"],
    )
    .await;
    assert!(out.contains("clone3 -1 38"), "clone3 must be ENOSYS: {out}");
    assert!(out.contains("fork-ok"), "plain fork must still work: {out}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_ptrace_bpf_perf_keys_io_uring_are_refused() {
    let s = Server::start().await;
    let script = "\
call('ptrace_attach', 101, 16, 1, 0, 0)
call('ptrace_traceme', 101, 0, 0, 0, 0)
call('process_vm_readv', 310, 1, 0, 0, 0, 0, 0)
call('bpf', 321, 0, 0, 0)
call('perf_event_open', 298, 0, 0, -1, -1, 0)
call('keyctl', 250, 0, 0)
call('add_key', 248, b'user', b'x', b'y', 1, -1)
call('io_uring_setup', 425, 8, 0)
call('init_module', 175, 0, 0, b'')
call('kexec_load', 246, 0, 0, 0, 0)
call('x32_getpid', 0x40000000 + 39)
";
    probe_syscalls(
        &s,
        script,
        &[
            "ptrace_attach",
            "ptrace_traceme",
            "process_vm_readv",
            "bpf",
            "perf_event_open",
            "keyctl",
            "add_key",
            "io_uring_setup",
            "init_module",
            "kexec_load",
            "x32_getpid",
        ],
    )
    .await;
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_raw_netlink_and_packet_sockets_are_refused() {
    let s = Server::start().await;
    let code = [SOCKET_PROBE, r#"
import socket
try_sockets([(socket.AF_NETLINK, socket.SOCK_RAW, 0, "netlink"), (17, socket.SOCK_RAW, 0, "packet"), (socket.AF_INET, socket.SOCK_RAW, 1, "raw"), (socket.AF_INET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 1, "raw-cloexec")])
"#].concat();
    let (_, out) = s.python_out(&code).await;
    assert!(!out.contains("OPENED"), "{out}");
    assert_refused(&out, "", &["netlink", "packet", "raw", "raw-cloexec"]);
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_fork_bomb_is_contained_by_pids_max() {
    let s = Server::start().await;
    let started = Instant::now();
    let (status, v) = s
        .post(json!({"action_type": "shell", "command": "python3", "args": ["-c", FORK_BOMB], "timeout_seconds": 5}))
        .await;
    let out = output(&v);
    assert!(out.contains("stopped"), "{status} {v}");
    let forks = fork_bomb_forks(out).unwrap();
    assert!(forks < s.config.pids_max, "{forks} forks");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Every forked sleeper died with the sandbox.
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_memory_hog_is_killed_or_refused() {
    let s = Server::start_with(|c| c.memory_limit_bytes = 96 << 20).await;
    let code = r#"
chunks = []
for i in range(64):
    chunks.append(bytearray(32 << 20))
    print(i, flush=True)
print("ALLOCATED-2GiB")
"#;
    let (status, v) = s.python(code).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], false);
    assert!(!output(&v).contains("ALLOCATED"));
    let used = v["provenance"]["resource_usage"]["max_memory_bytes"]
        .as_u64()
        .unwrap();
    assert!(used <= 128 << 20, "peak {used}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_disk_filler_hits_the_workspace_quota() {
    let s = Server::start_with(|c| c.workspace_size_bytes = 16 << 20).await;
    let code = r#"
import errno
total = 0
for target in ["/workspace/fill", "/tmp/fill"]:
    try:
        with open(target, "wb") as f:
            while total < (1 << 30):
                f.write(b"\0" * (1 << 20)); f.flush(); total += 1 << 20
    except OSError as e:
        print("stopped", target, errno.errorcode.get(e.errno), total >> 20, flush=True)
"#;
    let (v, out) = s.python_out(code).await;
    assert!(out.contains("stopped /workspace/fill"), "{v}");
    let mib: u64 = out
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    assert!(mib <= 17, "wrote {mib} MiB to a 16 MiB workspace");
    assert!(out.contains("stopped /tmp/fill"), "{v}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_cpu_spinner_is_killed_at_the_timeout_with_partial_output() {
    let s = Server::start().await;
    let started = Instant::now();
    let (status, v) = s
        .post(json!({"command": "python3", "args": ["-c", "print('spinning', flush=True)\nwhile True: pass"], "timeout_seconds": 1}))
        .await;
    assert_eq!(status, 408, "{v}");
    assert_eq!(v["timed_out"], true);
    assert_eq!(v["error_code"], "TIMEOUT");
    assert!(output(&v).contains("spinning"), "partial output lost: {v}");
    assert!(started.elapsed() < Duration::from_secs(4));
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_host_processes_cannot_be_killed() {
    let s = Server::start().await;
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let code = format!(
        r#"
import os, signal
for pid in [{pid}, 1, -1]:
    try:
        os.kill(pid, signal.SIGKILL); print("sent", pid)
    except OSError as e:
        print("failed", pid, e.errno)
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
"#,
        pid = victim.id()
    );
    let (_, v) = s.python(&code).await;
    assert!(
        victim.try_wait().unwrap().is_none(),
        "host process was killed: {v}"
    );
    // The sandbox sees only its own init, the worker and what it forks.
    let out = output(&v);
    let pids = out.lines().last().unwrap();
    assert!(
        !pids.contains(&victim.id().to_string()) || pids.len() < 12,
        "{pids}"
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_proc1_and_server_memory_are_unreadable() {
    let s = Server::start_with(|c| c.token_secret = String::new()).await;
    let code = r#"
import os
for p in ["/proc/1/environ", "/proc/1/mem", "/proc/1/maps", "/proc/1/exe", "/proc/1/cmdline"]:
    try:
        with open(p, "rb") as f:
            data = f.read(4096)
        print("READ", p, len(data))
    except OSError as e:
        print("denied", p, e.errno)
print("ENV", sorted(os.environ))
"#;
    let (_, out) = s.python_out(code).await;
    for p in ["environ", "mem", "maps", "exe"] {
        assert!(out.contains(&format!("denied /proc/1/{p}")), "{p}: {out}");
    }
    assert!(out.contains("ENV ['HOME', 'LANG', 'PATH']"), "{out}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_audit_log_and_data_dir_are_unreachable() {
    let s = Server::start().await;
    let (_, first) = s.shell("echo", &["seed the audit log"]).await;
    assert_eq!(first["success"], true);
    let audit = s.audit_path();
    let before = std::fs::read_to_string(&audit).unwrap();
    let code = format!(
        r#"
import os
for p in [{audit:?}, {data:?}]:
    try:
        print("LISTED", os.listdir(p) if os.path.isdir(p) else open(p).read())
    except OSError as e:
        print("denied", e.errno)
try:
    open({audit:?}, "a").write("forged")
    print("FORGED")
except OSError as e:
    print("denied", e.errno)
"#,
        audit = audit.to_str().unwrap(),
        data = s.config.data_dir
    );
    let (_, out) = s.python_out(&code).await;
    assert!(!out.contains("LISTED") && !out.contains("FORGED"), "{out}");
    let after = std::fs::read_to_string(&audit).unwrap();
    // Our record of this very request quotes the code; what must not exist
    // is a line the sandbox wrote: every line is one of our JSON records.
    assert!(after.starts_with(&before));
    for line in after.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("a foreign line in the audit log");
    }
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_setuid_binaries_grant_nothing() {
    let s = Server::start().await;
    let code = r#"
import os, stat, subprocess
mi = open("/proc/self/mountinfo").read()
usr = [l for l in mi.splitlines() if l.split()[4] == "/usr"][0]
print("USR-NOSUID", "nosuid" in usr.split()[5])
suid = [os.path.join("/usr/bin", f) for f in sorted(os.listdir("/usr/bin"))
        if os.path.isfile(os.path.join("/usr/bin", f)) and os.stat(os.path.join("/usr/bin", f)).st_mode & stat.S_ISUID]
print("SUID-FILES", len(suid))
for path in suid[:5]:
    try:
        r = subprocess.run([path, "--version"], capture_output=True, timeout=5, stdin=subprocess.DEVNULL)
    except Exception as e:
        pass
r = subprocess.run(["python3", "-c", "import os; print('EUID', os.geteuid(), os.getresuid())"], capture_output=True, text=True)
print(r.stdout)
print(open("/proc/self/status").read())
"#;
    let (_, out) = s.python_out(code).await;
    assert!(out.contains("USR-NOSUID True"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"));
    assert!(out.contains("EUID 0 (0, 0, 0)"), "{out}");
    // uid 0 inside is the slot's unprivileged host uid outside.
    assert!(out.contains("CapEff:\t0000000000000000"));
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_proc_self_exe_cannot_be_overwritten() {
    let s = Server::start().await;
    let python = std::fs::canonicalize("/usr/bin/python3").unwrap();
    let before = std::fs::metadata(&python).unwrap().modified().unwrap();
    let code = r#"
import os
for p in ["/proc/self/exe", "/proc/1/exe"]:
    try:
        open(p, "r+b").write(b"\x7fELF-pwned"); print("WROTE", p)
    except OSError as e:
        print("denied", p, e.errno)
try:
    print("LINK", os.readlink("/proc/1/exe"))
except OSError as e:
    print("denied-link", e.errno)
"#;
    let (_, out) = s.python_out(code).await;
    assert!(!out.contains("WROTE"), "{out}");
    assert!(out.contains("denied-link"), "{out}");
    assert_eq!(
        std::fs::metadata(&python).unwrap().modified().unwrap(),
        before
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_host_kernel_knobs_are_read_only() {
    let s = Server::start().await;
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let code = r#"
import os
for p, val in [("/proc/sys/kernel/hostname", "pwned"), ("/proc/sysrq-trigger", "h"), ("/proc/sys/vm/drop_caches", "3")]:
    try:
        open(p, "w").write(val); print("WROTE", p)
    except OSError as e:
        print("denied", p, e.errno)
print("SYS", os.path.exists("/sys"), "CG", open("/proc/self/cgroup").read().strip())
"#;
    let (_, out) = s.python_out(code).await;
    assert!(!out.contains("WROTE"), "{out}");
    assert!(out.contains("SYS False"), "{out}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn fc007_disallowed_commands_are_refused_with_403() {
    let s = Server::start().await;
    let marker = s.dir.join("rm-target");
    std::fs::write(&marker, "keep me").unwrap();
    for cmd in [
        "rm",
        "sudo",
        "nc",
        "bash",
        "sh",
        "/bin/sh",
        "/usr/bin/python3",
    ] {
        let (status, v) = s.shell(cmd, &["-rf", marker.to_str().unwrap()]).await;
        assert_eq!(status, 403, "{cmd}: {v}");
        assert_eq!(v["success"], false);
        assert_eq!(v["error_code"], "COMMAND_NOT_ALLOWED");
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!(
                "Command '{cmd}' is not in the allowlist. Allowed commands: echo, cat"
            )),
            "{msg}"
        );
    }
    assert!(marker.exists());
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_dangerous_find_arguments_are_refused() {
    let s = Server::start().await;
    for args in [
        vec![".", "-exec", "cat", "/etc/shadow", ";"],
        vec![".", "-execdir", "sh", "-c", "id", ";"],
        vec!["/workspace", "-delete"],
        vec![".", "-fprint", "/tmp/x"],
        vec![".", "-ok", "rm", "{}", ";"],
    ] {
        let (status, v) = s.shell("find", &args).await;
        assert_eq!(status, 403, "{args:?}: {v}");
        assert_eq!(v["error_code"], "DANGEROUS_ARGUMENT");
    }
    let (status, v) = s
        .shell("sort", &["--compress-program=sh", "/etc/hosts"])
        .await;
    assert_eq!(
        (status, v["error_code"].as_str()),
        (403, Some("DANGEROUS_ARGUMENT"))
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_http_action_refuses_unlisted_hosts_and_internal_addresses() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = Server::start_with(|c| {
        // Allowlisted, but not as private hosts: the SSRF guard still applies.
        c.http_allowed_hosts = vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "169.254.169.254".into(),
        ];
        c.allow_http = true;
    })
    .await;
    let cases = [
        ("https://example.org/".to_string(), "HOST_NOT_ALLOWED"),
        (format!("http://127.0.0.2:{port}/"), "HOST_NOT_ALLOWED"),
        (format!("http://127.0.0.1:{port}/"), "ADDRESS_NOT_ALLOWED"),
        (format!("http://localhost:{port}/"), "ADDRESS_NOT_ALLOWED"),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "ADDRESS_NOT_ALLOWED",
        ),
        ("ftp://localhost/".to_string(), "SCHEME_NOT_ALLOWED"),
        (format!("http://user:pw@localhost:{port}/"), "INVALID_URL"),
    ];
    for (url, code) in cases {
        let (status, v) = s
            .post(json!({"action_type": "http", "method": "GET", "url": url}))
            .await;
        assert!(status == 403 || status == 422, "{url}: {status} {v}");
        assert_eq!(v["error_code"], code, "{url}: {v}");
    }
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "an internal address was contacted");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_oversized_output_is_capped_and_marked() {
    let s = Server::start_with(|c| c.max_output_bytes = 64 * 1024).await;
    let (status, v) = s
        .python("import sys\nsys.stdout.write('x' * (8 << 20))\nsys.stderr.write('e' * (1 << 20))")
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["truncated"], true);
    assert_eq!(output(&v).len(), 64 * 1024);
    assert_eq!(v["stderr"].as_str().unwrap().len(), 64 * 1024);
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_sandboxes_cannot_reach_each_other() {
    let s = Server::start().await;
    // A long-running sandbox, then a second one that tries to find it.
    let victim = s.post(json!({"command": "python3", "args": ["-c", "import time; print('alive', flush=True); time.sleep(2); print('survived')"], "timeout_seconds": 10}));
    let attacker = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.python("import os, signal\npids=[int(p) for p in os.listdir('/proc') if p.isdigit()]\nprint(sorted(pids))\nfor p in range(2, 200):\n    try: os.kill(p, signal.SIGKILL)\n    except OSError: pass\nprint('done')").await
    };
    let ((_, v), (_, a)) = tokio::join!(victim, attacker);
    assert!(output(&v).contains("survived"), "{v} / {a}");
    s.assert_clean().await;
}
