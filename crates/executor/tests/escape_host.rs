//! Host identity, inherited limits and the curated `/etc`: hostile commands
//! through the real HTTP API and the real sandbox. Each test asserts the
//! specific harm did not happen (checked from the host where it would land
//! there) and that nothing was left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{output, Server};

/// A host file removed again when the test ends, pass or fail.
struct HostFile(PathBuf);

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Plants a file with `mode` in a directory the curated `/etc` copies. The
/// name has no `.conf` suffix, so the host's loader configuration never
/// includes it.
fn plant_in_etc(name: &str, mode: u32) -> (HostFile, String) {
    let secret = format!("etc-secret-{}-{name}", std::process::id());
    let path = PathBuf::from(format!(
        "/etc/ld.so.conf.d/octollm-test-{}-{name}",
        std::process::id()
    ));
    std::fs::write(&path, &secret).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    (HostFile(path), secret)
}

#[tokio::test]
async fn etc_copies_of_root_only_files_are_not_readable() {
    // The copy is made when the sandbox is built, so plant first.
    let (private, private_secret) = plant_in_etc("private", 0o600);
    let (group, group_secret) = plant_in_etc("group", 0o640);
    let (public, public_secret) = plant_in_etc("public", 0o644);
    let s = Server::start().await;
    for (file, secret) in [(&private, &private_secret), (&group, &group_secret)] {
        let path = file.0.to_str().unwrap();
        let (status, v) = s.shell("cat", &[path]).await;
        assert_eq!(status, 200);
        assert_eq!(v["success"], false, "{path} readable: {v}");
        assert!(!output(&v).contains(secret.as_str()), "{v}");
        let (_, v) = s.shell("grep", &["-r", secret, "/etc"]).await;
        assert!(!output(&v).contains(secret.as_str()), "{v}");
    }
    // A world-readable file still is, read-only, with no owner-only bits.
    let code = format!(
        r#"
import os, stat
p = {path:?}
print("MODE", oct(stat.S_IMODE(os.stat(p).st_mode)), open(p).read())
try:
    os.chmod(p, 0o666); print("CHMOD ok")
except OSError:
    print("CHMOD refused")
"#,
        path = public.0.to_str().unwrap()
    );
    let (_, v) = s.python(&code).await;
    assert!(
        output(&v).contains(&format!("MODE 0o444 {public_secret}")),
        "{v}"
    );
    assert!(output(&v).contains("CHMOD refused"), "{v}");
    // The host files are untouched.
    assert_eq!(
        std::fs::metadata(&private.0).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn rlimits_are_set_not_inherited_from_the_server() {
    let s = Server::start().await;
    let code = r#"
import resource as r
names = ["RLIMIT_RTPRIO", "RLIMIT_NICE", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
         "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_CORE", "RLIMIT_NOFILE",
         "RLIMIT_FSIZE", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_CPU", "RLIMIT_NPROC"]
for n in names:
    soft, hard = r.getrlimit(getattr(r, n))
    print(n, soft, hard)
# Raising any of them back is refused.
try:
    r.setrlimit(r.RLIMIT_RTPRIO, (99, 99)); print("RAISED")
except (ValueError, OSError):
    print("RAISE refused")
"#;
    let (_, v) = s.python(code).await;
    assert_eq!(v["success"], true, "{v}");
    let out = output(&v);
    let limit = |name: &str| -> (u64, u64) {
        let line = out
            .lines()
            .find(|l| l.split(' ').next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing: {out}"));
        let mut it = line.split(' ').skip(1).map(|x| x.parse::<i64>().unwrap());
        let (soft, hard) = (it.next().unwrap(), it.next().unwrap());
        assert!(soft >= 0 && hard >= 0, "{name} is unlimited: {line}");
        (soft as u64, hard as u64)
    };
    let cfg = &s.config;
    for (name, want) in [
        ("RLIMIT_RTPRIO", 0),
        ("RLIMIT_NICE", 0),
        ("RLIMIT_SIGPENDING", 1024),
        ("RLIMIT_STACK", 8 << 20),
        ("RLIMIT_MEMLOCK", 0),
        ("RLIMIT_MSGQUEUE", 0),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NOFILE", cfg.open_files_limit),
        ("RLIMIT_FSIZE", cfg.file_size_limit_bytes),
        ("RLIMIT_AS", cfg.address_space_limit_bytes),
        ("RLIMIT_DATA", cfg.address_space_limit_bytes),
        ("RLIMIT_NPROC", cfg.pids_max),
    ] {
        assert_eq!(limit(name), (want, want), "{name}: {out}");
    }
    let (cpu, _) = limit("RLIMIT_CPU");
    assert!(cpu <= 20 + 2, "{out}");
    assert!(out.contains("RAISE refused"), "{out}");
    s.assert_clean().await;
}
