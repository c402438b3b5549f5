//! Loopback ports for services a test starts as child processes.
//!
//! A port asked of the kernel with `bind(0)` comes from the ephemeral range,
//! the same range every outgoing connection takes its source port from, and
//! it is free again the moment the probe closes: the next `bind(0)` in this
//! process, or a connection one of the children opens while the others are
//! still starting, can take the very port a sibling is about to listen on.
//! So ports here come from below the ephemeral range, which connections
//! never use, and no port is handed out twice in one process.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::sync::Mutex;

/// Ports already handed out by this process.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// Where candidates come from when the ephemeral range cannot be read.
const FALLBACK_EPHEMERAL_START: u16 = 32768;
/// Ports below this belong to well-known and registered services.
const LOWEST: u16 = 10000;

/// One free loopback port, for a child process to bind.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct loopback ports, each free when returned and never handed
/// out before by this process.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let mut taken = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let taken = taken.get_or_insert_with(HashSet::new);
    let end = ephemeral_start().max(LOWEST + 1000);
    let span = u64::from(end - LOWEST);
    let mut random = RandomState::new().build_hasher();
    let mut out = [0u16; N];
    let mut found = 0;
    for attempt in 0u64..100_000 {
        if found == N {
            break;
        }
        random.write_u64(attempt);
        let port = LOWEST + (random.finish() % span) as u16;
        if taken.contains(&port) || TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        taken.insert(port);
        out[found] = port;
        found += 1;
    }
    assert_eq!(found, N, "no free loopback port below the ephemeral range");
    out
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(FALLBACK_EPHEMERAL_START)
}
