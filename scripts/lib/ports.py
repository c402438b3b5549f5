"""Loopback ports for services the test scripts start as child processes.

A port asked of the kernel with bind(0) comes from the ephemeral range, the
range every outgoing connection takes its source port from, and it is free
again once the probe closes: a connection one child opens while its
siblings are still starting can take the port a sibling is about to listen
on. Ports here come from below that range, which connections never use,
and no port is returned twice in one process.

Usage from a shell: read -r a b c < <(python3 scripts/lib/ports.py 3)
"""

import random
import socket
import sys

LOWEST = 10000

# Ports already returned by this process.
_handed_out = set()


def ephemeral_start():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    """`n` distinct loopback ports, each free when returned."""
    end = max(ephemeral_start(), LOWEST + 1000)
    held = []
    try:
        for port in random.sample(range(LOWEST, end), end - LOWEST):
            if len(held) == n:
                break
            if port in _handed_out:
                continue
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            held.append(s)
        if len(held) < n:
            raise RuntimeError("no free loopback port below the ephemeral range")
        ports = [s.getsockname()[1] for s in held]
        _handed_out.update(ports)
        return ports
    finally:
        for s in held:
            s.close()


if __name__ == "__main__":
    print(*free_ports(int(sys.argv[1]) if len(sys.argv) > 1 else 1))
