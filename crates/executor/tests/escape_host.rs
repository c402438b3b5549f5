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

#[tokio::test]
async fn etc_directories_other_users_cannot_enter_are_not_copied() {
    let dir = PathBuf::from(format!(
        "/etc/ld.so.conf.d/octollm-test-{}-dir",
        std::process::id()
    ));
    struct HostDir(PathBuf);
    impl Drop for HostDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    std::fs::create_dir_all(&dir).unwrap();
    let guard = HostDir(dir.clone());
    let secret = format!("etc-dir-secret-{}", std::process::id());
    std::fs::write(dir.join("inner"), &secret).unwrap();
    std::fs::set_permissions(dir.join("inner"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let s = Server::start().await;
    let (_, v) = s.shell("ls", &["-la", "/etc/ld.so.conf.d"]).await;
    let name = dir.file_name().unwrap().to_str().unwrap();
    assert!(!output(&v).contains(name), "{v}");
    let (_, v) = s.shell("grep", &["-r", &secret, "/etc"]).await;
    assert!(!output(&v).contains(&secret), "{v}");
    drop(guard);
    s.assert_clean().await;
}

/// What the server's own command line looks like, as a list of arguments.
fn server_argv() -> Vec<String> {
    std::env::args().collect()
}

#[tokio::test]
async fn proc1_does_not_show_the_servers_command_line_or_name() {
    let s = Server::start().await;
    let code = r#"
import os
for p in ["/proc/1/cmdline", "/proc/1/task/1/cmdline"]:
    raw = open(p, "rb").read()
    print("CMDLINE", p, [a.decode() for a in raw.split(b"\0") if a])
for p in ["/proc/1/comm", "/proc/1/task/1/comm"]:
    print("COMM", p, open(p).read().strip())
status = open("/proc/1/status").read()
print("NAME", [l for l in status.splitlines() if l.startswith("Name:")][0].split()[1])
stat = open("/proc/1/stat").read()
print("STAT", stat[stat.index("(") + 1:stat.rindex(")")])
"#;
    let (_, v) = s.python(code).await;
    assert_eq!(v["success"], true, "{v}");
    let out = output(&v);
    assert!(out.contains("CMDLINE /proc/1/cmdline ['init']"), "{out}");
    assert!(
        out.contains("CMDLINE /proc/1/task/1/cmdline ['init']"),
        "{out}"
    );
    assert!(out.contains("COMM /proc/1/comm init\n"), "{out}");
    assert!(out.contains("COMM /proc/1/task/1/comm init\n"), "{out}");
    assert!(out.contains("NAME init\n"), "{out}");
    assert!(out.contains("STAT init\n"), "{out}");
    for arg in server_argv().iter().filter(|a| a.len() > 3) {
        assert!(!out.contains(arg.as_str()), "{arg:?} leaked: {out}");
    }
    // The server itself keeps its own command line (the rewrite happened in
    // the sandbox's copy of its memory only).
    let own = std::fs::read("/proc/self/cmdline").unwrap();
    let first = server_argv().remove(0);
    assert!(own.starts_with(first.as_bytes()));
    s.assert_clean().await;
}

/// Files under the sandbox's `/proc` that must not show host data.
const MASKED_FILES: &[&str] = &[
    "/proc/cmdline",
    "/proc/config.gz",
    "/proc/sys/kernel/random/boot_id",
    "/proc/kallsyms",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/partitions",
    "/proc/diskstats",
    "/proc/iomem",
    "/proc/kcore",
    "/proc/sched_debug",
];

#[tokio::test]
async fn proc_files_naming_the_host_are_masked() {
    let s = Server::start().await;
    let code = format!(
        r#"
import os
for p in {files:?}:
    if not os.path.lexists(p):
        print("ABSENT", p); continue
    try:
        data = open(p, "rb").read()
        print("READ", p, len(data), data[:200])
    except OSError as e:
        print("DENIED", p, e.errno)
    try:
        open(p, "wb").write(b"x"); print("WROTE", p)
    except OSError:
        pass
"#,
        files = MASKED_FILES
    );
    let (_, v) = s.python(&code).await;
    assert_eq!(v["success"], true, "{v}");
    let out = output(&v);
    for line in out.lines().filter(|l| l.starts_with("READ ")) {
        assert!(line.contains(" 0 b''"), "masked file has content: {line}");
    }
    assert!(!out.contains("WROTE"), "{out}");
    // Host values, read on the host, appear nowhere.
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert!(!out.contains(boot_id.trim()), "{out}");
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap();
    assert!(!out.contains(cmdline.trim()), "{out}");
    // And nothing of it in the whole output of a full read either.
    let (_, v) = s
        .shell("cat", &["/proc/sys/kernel/random/boot_id", "/proc/cmdline"])
        .await;
    assert!(!output(&v).contains(boot_id.trim()), "{v}");
    assert!(!output(&v).contains(cmdline.trim()), "{v}");
    s.assert_clean().await;
}

#[tokio::test]
async fn proc_directories_naming_host_hardware_are_empty() {
    let s = Server::start().await;
    let code = r#"
import os
for p in ["/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/driver", "/proc/scsi", "/proc/asound"]:
    if not os.path.exists(p):
        print("ABSENT", p); continue
    print("LIST", p, os.listdir(p))
    try:
        open(p + "/x", "w"); print("CREATED", p)
    except OSError:
        pass
"#;
    let (_, v) = s.python(code).await;
    assert_eq!(v["success"], true, "{v}");
    let out = output(&v);
    for line in out.lines().filter(|l| l.starts_with("LIST ")) {
        assert!(line.ends_with(" []"), "not masked: {line}");
    }
    assert!(!out.contains("CREATED"), "{out}");
    // The host's own /proc/fs still lists its filesystems.
    assert!(std::fs::read_dir("/proc/fs").unwrap().next().is_some());
    s.assert_clean().await;
}

#[tokio::test]
async fn proc_masks_cannot_be_removed() {
    let s = Server::start().await;
    let code = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for p in [b"/proc/cmdline", b"/proc/sys/kernel/random/boot_id", b"/proc/acpi"]:
    r = libc.umount2(p, 2)  # MNT_DETACH
    print("UMOUNT", p.decode(), r, ctypes.get_errno())
print("BOOT_ID", open("/proc/sys/kernel/random/boot_id").read() if os.access("/proc/sys/kernel/random/boot_id", os.R_OK) else "denied")
"#;
    let (_, out) = s.python_out(code).await;
    for line in out.lines().filter(|l| l.starts_with("UMOUNT ")) {
        assert!(line.ends_with(" -1 1"), "not EPERM: {line}");
    }
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert!(!out.contains(boot_id.trim()), "{out}");
    s.assert_clean().await;
}

#[tokio::test]
async fn mountinfo_names_no_host_path_of_the_sandbox() {
    let s = Server::start().await;
    let (_, v) = s.shell("cat", &["/proc/self/mountinfo"]).await;
    assert_eq!(v["success"], true, "{v}");
    let mi = output(&v);
    // The host mount point and the server's data directory are not shown.
    assert!(!mi.contains(&s.config.sandbox_root_dir), "{mi}");
    assert!(!mi.contains(s.dir.to_str().unwrap()), "{mi}");
    // Every filesystem has a neutral source name or is the sandbox's own
    // /proc; none names a host device, a host filesystem type, the slot's
    // host uid (tmpfs prints its owner in host terms) or the host's memory
    // (a devtmpfs prints its size).
    let mut overlays = 0;
    for line in mi.lines() {
        let after = line.split(" - ").nth(1).unwrap();
        let mut it = after.split(' ');
        let (fstype, source, options) = (
            it.next().unwrap(),
            it.next().unwrap(),
            it.next().unwrap_or(""),
        );
        match fstype {
            "tmpfs" | "overlay" => assert_eq!(source, "octollm", "{line}"),
            "proc" => assert_eq!(source, "proc", "{line}"),
            other => panic!("a host filesystem ({other}) in the mount table: {line}"),
        }
        overlays += usize::from(fstype == "overlay");
        assert!(!source.starts_with("/dev/"), "{line}");
        for key in options.split(',') {
            assert!(
                !key.starts_with("uid=") && !key.starts_with("gid="),
                "{line}"
            );
        }
    }
    // Writable places never run, set-uid or open devices; `/` is read-only.
    for (point, flags) in [
        ("/", &["ro", "nosuid", "nodev"][..]),
        ("/tmp", &["rw", "nosuid", "nodev", "noexec"][..]),
        ("/workspace", &["rw", "nosuid", "nodev", "noexec"][..]),
    ] {
        let line = mi
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(point))
            .unwrap_or_else(|| panic!("no {point} in {mi}"));
        let per_mount: Vec<&str> = line.split(' ').nth(5).unwrap().split(',').collect();
        for f in flags {
            assert!(per_mount.contains(f), "{point} lacks {f}: {line}");
        }
    }
    // /usr (at least) is an overlay of its own, whose inodes are not the
    // host's (see docs/security.md, "Mount table").
    assert!(overlays >= 1, "{mi}");
    let (_, v) = s
        .shell(
            "python3",
            &["-c", "import os; print(os.stat('/usr/bin/env').st_dev)"],
        )
        .await;
    assert_eq!(v["success"], true, "{v}");
    let inside: u64 = output(&v).trim().parse().unwrap();
    let host = std::fs::metadata("/usr/bin/env").unwrap();
    assert_ne!(inside, std::os::unix::fs::MetadataExt::dev(&host));
    s.assert_clean().await;
}
