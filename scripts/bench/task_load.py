#!/usr/bin/env python3
"""Load client for the task-throughput benchmark (standard library only).

  task_load.py exec URL CONCURRENCY SECONDS
      sandboxed `echo` executions against a lone executor, CONCURRENCY loops.
  task_load.py tasks URL IN_FLIGHT TOTAL
      two-step tasks against an orchestrator, IN_FLIGHT at a time, each
      client waiting on its task's SSE stream until the task ends.

Prints one JSON line of figures.
"""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse


def conn(url):
    u = urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def post(c, path, body):
    c.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_threads(target, n, args=()):
    """Runs n threads of target; returns the wall time they took."""
    threads = [threading.Thread(target=target, args=args(i) if callable(args) else args) for i in range(n)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - started


def executions(url, concurrency, seconds):
    stop = time.monotonic() + seconds
    counts, failures = [0] * concurrency, [0] * concurrency

    def loop(i):
        c = conn(url)
        while time.monotonic() < stop:
            status, body = post(c, "/api/v1/execute", {"action_type": "shell", "command": "echo", "args": ["hi"]})
            if status == 200 and body.get("success"):
                counts[i] += 1
            else:
                failures[i] += 1

    wall = run_threads(loop, concurrency, lambda i: (i,))
    print(json.dumps({"executions": sum(counts), "failures": sum(failures),
                      "per_second": round(sum(counts) / wall, 1)}))


def tasks(url, in_flight, total):
    latencies, outcomes = [], {}
    lock = threading.Lock()
    next_id = [0]

    def one(c, n):
        t0 = time.monotonic()
        status, body = post(c, "/api/v1/tasks", {"goal": f"Echo 'task {n} of the run' and count the words"})
        if status != 202:
            return f"http_{status}"
        tid = body["task_id"]
        s = conn(url)
        s.request("GET", f"/api/v1/tasks/{tid}/events", headers={"accept": "text/event-stream"})
        r = s.getresponse()
        end = "unknown"
        for raw in r:
            line = raw.decode().strip()
            if line.startswith("event: task.") and line[12:] in ("completed", "failed", "cancelled"):
                end = line[12:]
                break
        s.close()
        with lock:
            latencies.append(time.monotonic() - t0)
        return end

    def loop():
        c = conn(url)
        while True:
            with lock:
                if next_id[0] >= total:
                    return
                next_id[0] += 1
                n = next_id[0]
            end = one(c, n)
            with lock:
                outcomes[end] = outcomes.get(end, 0) + 1

    wall = run_threads(loop, in_flight)
    print(json.dumps({"tasks": total, "outcomes": outcomes, "per_second": round(total / wall, 1),
                      "p50_s": round(pct(latencies, 50), 3), "p95_s": round(pct(latencies, 95), 3),
                      "p99_s": round(pct(latencies, 99), 3)}))


if __name__ == "__main__":
    mode, url, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    executions(url, a, b) if mode == "exec" else tasks(url, a, b)
