//! SC-001 / SC-003, sockets and file watching: hostile programs run through
//! the real HTTP API and the real sandbox. Each test asserts the specific
//! harm did not happen (checked from the host where it would land there)
//! and that nothing was left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::future::Future;
use std::time::Duration;

use common::{assert_eperm, assert_refused, output, Server, SOCKET_PROBE};
use serde_json::Value;

const MIB: u64 = 1 << 20;

/// Host MemAvailable, in bytes.
fn mem_available() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = info
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Host-wide UDP socket memory, in bytes (`/proc/net/sockstat` counts the
/// UDP protocol's pages across every network namespace).
fn udp_memory() -> u64 {
    let stat = std::fs::read_to_string("/proc/net/sockstat").unwrap();
    let line = stat.lines().find(|l| l.starts_with("UDP:")).unwrap();
    let mut cols = line.split_whitespace();
    let pages: u64 = loop {
        match cols.next() {
            Some("mem") => break cols.next().unwrap().parse().unwrap(),
            Some(_) => {}
            None => break 0,
        }
    };
    pages * 4096
}

/// Runs `f`, sampling the host while it runs: (result, largest MemAvailable
/// drop, largest UDP memory growth), both against the values just before.
async fn watch_host<F: Future>(f: F) -> (F::Output, u64, u64) {
    let (mem0, udp0) = (mem_available(), udp_memory());
    let (mut mem_drop, mut udp_growth) = (0u64, 0u64);
    tokio::pin!(f);
    loop {
        tokio::select! {
            out = &mut f => return (out, mem_drop, udp_growth),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                mem_drop = mem_drop.max(mem0.saturating_sub(mem_available()));
                udp_growth = udp_growth.max(udp_memory().saturating_sub(udp0));
            }
        }
    }
}

/// Waits (a few seconds at most) for host UDP memory to fall back to
/// `floor`: a previous attempt's sockets are freed a little after its reply.
async fn settle(floor: u64) {
    for _ in 0..100 {
        if udp_memory() <= floor + MIB {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `attack` up to three times: (last reply, smallest host MemAvailable
/// drop of any attempt, largest host UDP memory growth of any attempt).
/// Unrelated host activity can only make a MemAvailable drop look larger,
/// and a working attack would show its drop every time; UDP memory is
/// precise, so its worst attempt counts.
async fn least_host_drop(s: &Server, attack: &str) -> (Value, u64, u64) {
    let floor = udp_memory();
    let (mut reply, mut least_drop, mut most_udp) = (Value::Null, u64::MAX, 0);
    for _ in 0..3 {
        settle(floor).await;
        let ((_, v), drop, udp) = watch_host(s.python(attack)).await;
        reply = v;
        least_drop = least_drop.min(drop);
        most_udp = most_udp.max(udp);
        if least_drop < 100 * MIB {
            break;
        }
    }
    (reply, least_drop, most_udp)
}

/// The red-team UDP attack: 100 receivers with 4 MiB SO_RCVBUF, filled from
/// a sender inside the sandbox, held for a second. It calls `try_sockets`,
/// so it runs after `SOCKET_PROBE`.
const UDP_FLOOD: &str = r#"
import socket, time
rx, refused, queued = [], [], 0
for i in range(100):
    try:
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        r.bind(("127.0.0.1", 0))
        rx.append(r)
    except OSError as e:
        refused.append(e.errno)
try:
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setblocking(False)
    msg = b"x" * 60000
    for r in rx:
        for _ in range(200):
            try:
                tx.sendto(msg, r.getsockname()); queued += len(msg)
            except OSError:
                break
except OSError as e:
    refused.append(e.errno)
try_sockets([
    (socket.AF_INET6, socket.SOCK_DGRAM, 0, "udp6"),
    (socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, 0, "udp-flags"),
    (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP, "udp-explicit"),
    (socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP, "udp6-explicit"),
])
print("SOCKETS", len(rx), "QUEUED_MIB", queued >> 20, "REFUSED", sorted(set(refused)))
time.sleep(1)
"#;

#[tokio::test]
async fn sc001_udp_flood_is_refused_and_host_memory_is_untouched() {
    let s = Server::start().await;
    let flood = [SOCKET_PROBE, UDP_FLOOD].concat();
    let (v, mem_drop, udp_growth) = least_host_drop(&s, &flood).await;
    let out = output(&v);
    // The harm first, as seen from the host; then the refusal itself.
    assert!(
        mem_drop < 100 * MIB,
        "host MemAvailable dropped {} MiB",
        mem_drop / MIB
    );
    assert!(
        udp_growth < 16 * MIB,
        "host UDP memory grew {} MiB",
        udp_growth / MIB
    );
    assert!(
        out.contains("SOCKETS 0 QUEUED_MIB 0 REFUSED [1]")
            || out.contains("SOCKETS 0 QUEUED_MIB 0 REFUSED [13]"),
        "{v}"
    );
    assert!(!out.contains("OPENED"), "{out}");
    assert_refused(
        out,
        "",
        &["udp6", "udp-flags", "udp-explicit", "udp6-explicit"],
    );
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_udp_works_only_when_allowed_and_nothing_else_with_it() {
    let s = Server::start_with(|c| c.allow_udp = true).await;
    let code = [
        SOCKET_PROBE,
        r#"
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
t.sendto(b"ping", r.getsockname())
print("UDP", r.recv(16).decode())
try_sockets([
    (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP, "ping"),
    (socket.AF_INET, socket.SOCK_DGRAM, 136, "udplite"),
    (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP, "raw-udp"),
    (socket.AF_INET, 10, 0, "sock-packet"),
    (40, socket.SOCK_DGRAM, 0, "vsock-dgram"),
])
"#,
    ]
    .concat();
    let (v, out) = s.python_out(&code).await;
    assert!(out.contains("UDP ping"), "{v}");
    assert!(!out.contains("OPENED"), "{out}");
    assert_refused(
        &out,
        "",
        &["ping", "udplite", "raw-udp", "sock-packet", "vsock-dgram"],
    );
    s.assert_clean().await;
}

/// From the host: can a vsock socket be bound to `port` (any CID)? `None`
/// when the host has no vsock support at all.
fn host_vsock_port_free(port: u32) -> Option<bool> {
    let code = format!(
        r#"
import socket
try:
    s = socket.socket(40, socket.SOCK_STREAM)
except OSError:
    print("NOVSOCK"); raise SystemExit
try:
    s.bind((0xFFFFFFFF, {port})); print("FREE")
except OSError as e:
    print("BUSY" if e.errno == 98 else "ERR", e.errno)
"#
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("running python3 on the host");
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("NOVSOCK") || text.contains("ERR") {
        return None;
    }
    Some(text.contains("FREE"))
}

#[tokio::test]
async fn sc001_vsock_is_refused_and_the_host_port_stays_free() {
    let s = Server::start().await;
    let port = 40_000 + std::process::id() % 20_000;
    let code = format!(
        r#"
import socket, time
for typ, name in [(socket.SOCK_STREAM, "stream"), (socket.SOCK_DGRAM, "dgram"), (socket.SOCK_SEQPACKET, "seqpacket")]:
    try:
        v = socket.socket(40, typ)
        v.bind((0xFFFFFFFF, {port}))
        if typ == socket.SOCK_STREAM:
            v.listen(1)
        print("vsock", name, "BOUND", flush=True)
    except OSError as e:
        print("vsock", name, "refused", e.errno, flush=True)
try:
    a, b = socket.socketpair(40, socket.SOCK_STREAM); print("vsock pair OPENED")
except OSError as e:
    print("vsock pair refused", e.errno)
time.sleep(2)
"#
    );
    let attack = s.python(&code);
    let during = async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        tokio::task::spawn_blocking(move || host_vsock_port_free(port))
            .await
            .unwrap()
    };
    let ((_, v), free_during) = tokio::join!(attack, during);
    let out = output(&v);
    // Where the host has vsock, the port was free on the host while the
    // sandbox was trying to hold it, and still is.
    if let Some(free) = free_during {
        assert!(
            free,
            "vsock port {port} was busy on the host during the run"
        );
        assert_eq!(host_vsock_port_free(port), Some(true));
    }
    // With or without host vsock support, the sandbox's calls were refused.
    assert!(!out.contains("BOUND") && !out.contains("OPENED"), "{v}");
    assert_refused(out, "vsock ", &["stream", "dgram", "seqpacket", "pair"]);
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_family_type_and_protocol_are_checked_together() {
    let s = Server::start().await;
    let code = [
        SOCKET_PROBE,
        r#"
import socket
A4, A6 = socket.AF_INET, socket.AF_INET6
NB = socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
try_sockets([
    (A4, 10, 0, "inet-sock-packet"),
    (A4, 10 | NB, 0, "inet-sock-packet-flags"),
    (A6, 10, 0, "inet6-sock-packet"),
    (A4, 10, 0x0300, "inet-sock-packet-all"),
    (A4, socket.SOCK_RAW | NB, 255, "inet-raw-flags"),
    (A6, socket.SOCK_RAW, 58, "inet6-raw-icmp"),
    (A4, socket.SOCK_SEQPACKET, 132, "sctp-seqpacket"),
    (A4, socket.SOCK_STREAM, 132, "sctp-stream"),
    (A6, socket.SOCK_STREAM, 132, "sctp6-stream"),
    (A4, socket.SOCK_DGRAM, socket.IPPROTO_ICMP, "icmp-ping"),
    (A4, socket.SOCK_RDM, 0, "inet-rdm"),
    (A4, socket.SOCK_STREAM | 0x100, 0, "stream-unknown-flag"),
    (socket.AF_UNIX, socket.SOCK_RAW, 0, "unix-raw"),
    (socket.AF_UNIX, socket.SOCK_STREAM, 2, "unix-proto"),
    (17, socket.SOCK_DGRAM, 0x0300, "packet-dgram"),
    (socket.AF_NETLINK, socket.SOCK_DGRAM, 0, "netlink-dgram"),
    (38, socket.SOCK_SEQPACKET, 0, "alg"),
    (44, socket.SOCK_RAW, 0, "xdp"),
    (30, socket.SOCK_RDM, 0, "tipc"),
    (31, socket.SOCK_STREAM, 0, "bluetooth"),
])
"#,
    ]
    .concat();
    let (_, out) = s.python_out(&code).await;
    assert!(!out.contains("OPENED"), "{out}");
    assert_eq!(out.matches(" refused 1\n").count(), 20, "{out}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_mptcp_cannot_bind_or_listen() {
    let s = Server::start().await;
    let code = r#"
import socket
for fam, host, name in [(socket.AF_INET, "127.0.0.1", "mptcp4"), (socket.AF_INET6, "::1", "mptcp6")]:
    for flags in [0, socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC]:
        try:
            m = socket.socket(fam, socket.SOCK_STREAM | flags, 262)
            m.bind((host, 0)); m.listen(1)
            print(name, "LISTENING", m.getsockname())
        except OSError as e:
            print(name, "refused", e.errno)
# Plain TCP is still allowed by the filter (Landlock governs its ports).
socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP).close()
print("tcp-socket-ok")
"#;
    let (v, out) = s.python_out(code).await;
    assert!(!out.contains("LISTENING"), "{v}");
    for name in ["mptcp4", "mptcp6"] {
        assert_eq!(
            out.matches(&format!("{name} refused 1\n")).count(),
            2,
            "{name}: {out}"
        );
    }
    assert!(out.contains("tcp-socket-ok"), "{out}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc003_inotify_fanotify_and_dnotify_are_refused() {
    let s = Server::start().await;
    let code = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def show(name, r):
    print(name, r, ctypes.get_errno())
libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
show("inotify_init", libc.inotify_init())
show("inotify_init1", libc.inotify_init1(os.O_CLOEXEC))
show("inotify_add_watch", libc.inotify_add_watch(0, b"/usr/bin", 0xfff))
show("fanotify_init", libc.fanotify_init(0, 0))
show("fanotify_init_unpriv", libc.fanotify_init(0x10, 0))
show("fanotify_mark", libc.fanotify_mark(0, 0x11, 0x20, -100, b"/usr"))
fd = os.open("/usr/bin", os.O_RDONLY | os.O_DIRECTORY)
# F_NOTIFY with DN_ACCESS | DN_MULTISHOT: dnotify on the shared /usr.
show("dnotify", libc.fcntl(fd, 1026, ctypes.c_ulong(0x80000001)))
import fcntl
print("fcntl_getfd", fcntl.fcntl(fd, fcntl.F_GETFD))
"#;
    let (v, out) = s.python_out(code).await;
    assert_eperm(
        &out,
        &[
            "inotify_init",
            "inotify_init1",
            "inotify_add_watch",
            "fanotify_init",
            "fanotify_init_unpriv",
            "fanotify_mark",
            "dnotify",
        ],
    );
    // Ordinary fcntl still works.
    assert!(out.contains("fcntl_getfd "), "{v}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_unix_and_tcp_sockets_still_work() {
    let s = Server::start().await;
    let code = r#"
import socket
NB = socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
for typ, name in [(socket.SOCK_STREAM, "stream"), (socket.SOCK_DGRAM, "dgram"), (socket.SOCK_SEQPACKET, "seqpacket")]:
    a, b = socket.socketpair(socket.AF_UNIX, typ)
    a.send(name.encode()); print("unix", b.recv(16).decode())
    socket.socket(socket.AF_UNIX, typ | NB).close()
    socket.socket(socket.AF_UNIX, typ, 1).close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("/workspace/sock"); s.listen(1)
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect("/workspace/sock")
p, _ = s.accept(); c.send(b"hi"); print("unix-path", p.recv(2).decode())
for fam in [socket.AF_INET, socket.AF_INET6]:
    for typ, proto in [(socket.SOCK_STREAM, 0), (socket.SOCK_STREAM | NB, 0), (socket.SOCK_STREAM, socket.IPPROTO_TCP)]:
        socket.socket(fam, typ, proto).close()
print("tcp-sockets-ok")
"#;
    let (v, out) = s.python_out(code).await;
    for name in ["stream", "dgram", "seqpacket"] {
        assert!(out.contains(&format!("unix {name}\n")), "{name}: {v}");
    }
    assert!(out.contains("unix-path hi"), "{v}");
    assert!(out.contains("tcp-sockets-ok"), "{v}");
    s.assert_clean().await;
}

#[tokio::test]
async fn sc001_unix_datagram_flood_is_charged_to_the_memory_cgroup() {
    let limit = 64 * MIB;
    let s = Server::start_with(|c| c.memory_limit_bytes = limit).await;
    // The same shape as the UDP attack, over AF_UNIX datagram pairs: the
    // queued skbs are charged to the sandbox's memory cgroup, so the flood
    // ends at the limit (OOM kill or a failing send), not in host memory.
    let code = r#"
import socket, time
pairs, queued = [], 0
msg = b"x" * 60000
for i in range(100):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    a.setblocking(False)
    pairs.append((a, b))
    while True:
        try:
            a.send(msg); queued += len(msg)
        except OSError:
            break
print("QUEUED_MIB", queued >> 20, flush=True)
time.sleep(1)
"#;
    let (v, mem_drop, _) = least_host_drop(&s, code).await;
    let queued: Option<u64> = output(&v)
        .lines()
        .find_map(|l| l.strip_prefix("QUEUED_MIB "))
        .map(|n| n.trim().parse().unwrap());
    if let Some(q) = queued {
        assert!(q * MIB <= limit, "queued {q} MiB past a {limit}-byte limit");
    }
    assert!(
        mem_drop < limit + 100 * MIB,
        "host MemAvailable dropped {} MiB",
        mem_drop / MIB
    );
    s.assert_clean().await;
}

/// TCP is held by Landlock (no bind, no connect), and behind it, on cgroup
/// v1, TCP buffer accounting is switched on: each slot's memory group caps
/// TCP buffers at the run's memory limit, checked from the host.
#[tokio::test]
async fn sc001_tcp_buffers_are_charged_to_the_memory_limit() {
    let limit = 64 * MIB;
    let s = Server::start_with(|c| c.memory_limit_bytes = limit).await;
    let (status, v) = s.shell("echo", &["hi"]).await;
    assert_eq!(status, 200, "{v}");
    let cgroups = octollm_testkit::cgroup::SandboxCgroups::locate(&s.config.sandbox_cgroup_parent);
    let mut checked = 0;
    for g in cgroups.groups() {
        let tcp = g.path.join("memory.kmem.tcp.limit_in_bytes");
        if g.is_slot() && tcp.exists() {
            let set: u64 = std::fs::read_to_string(&tcp)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(set, limit, "{}", tcp.display());
            checked += 1;
        }
    }
    let v1_memory =
        std::path::Path::new("/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes").exists();
    if v1_memory {
        assert!(
            checked > 0,
            "no slot memory group with TCP accounting was found"
        );
    }
    s.assert_clean().await;
}
