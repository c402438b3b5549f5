"""MCP over streamable HTTP at /mcp on the orchestrator, with the official
MCP Python SDK's client and an API key.

Usage: test_http.py OCTOLLM_BINARY [up|services]

`up` (the default) starts `octollm up`; `services` starts each component
alone (`octollm serve reflex|planner|executor|orchestrator`), the
orchestrator reaching the others over HTTP with a key of their own. The MCP
server then has no key of its own for the orchestrator: run_task works
only because the caller's key goes with it. Either way on free ports, with
a scratch data directory and a sandbox of its own, all removed afterwards.
Prints one line per check and `N passed, N failed` at the end.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# The check counters and helpers of the stdio test, shared.
from test_stdio import check, error_code, free_ports, results, structured  # noqa: E402

KEY = "mcp-http-test-key"
INTERNAL = "mcp-http-internal-key"


def status_of(url, key=None, body=b"{}"):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json, text/event-stream")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


async def session_checks(url):
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {KEY}"})
    async with client:
        async with streamable_http_client(url, http_client=client) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                check("initialize over HTTP names the server", init.server_info.name == "octollm", init.server_info)
                tools = {t.name for t in (await session.list_tools()).tools}
                check(
                    "tools/list has the five tools",
                    tools == {"screen_text", "run_command", "plan_goal", "run_task", "get_task"},
                    sorted(tools),
                )
                r = await session.call_tool("screen_text", {"text": "Mail jane.doe@example.com please"})
                v = structured(r)
                check(
                    "screen_text finds the email",
                    not r.is_error and any(p.get("type") == "email" for p in v.get("pii_detected", [])),
                    r,
                )
                # The system's own executor, which needs a capability
                # token: the server mints one per command.
                r = await session.call_tool("run_command", {"command": "echo", "args": ["hi"]})
                v = structured(r)
                check("run_command runs echo in the system's sandbox", not r.is_error and v.get("stdout") == "hi\n", r)
                layers = (v.get("provenance") or {}).get("sandbox", {}).get("layers", [])
                check("run_command's provenance names the sandbox layers", "seccomp" in layers, v.get("provenance"))
                r = await session.call_tool("run_command", {"command": "rm", "args": ["-rf", "/"]})
                check(
                    "a refused command is an error with the policy's code",
                    r.is_error and error_code(r) == "COMMAND_NOT_ALLOWED",
                    r,
                )
                # run_task goes to this system's orchestrator over HTTP with
                # the caller's own key.
                r = await session.call_tool("run_task", {"goal": "Echo hello"})
                v = structured(r)
                check("run_task completes", not r.is_error and v.get("status") == "completed", r)
                task_id = v.get("task_id") or v.get("id")
                r = await session.call_tool("get_task", {"task_id": str(task_id)})
                check("get_task returns the task", not r.is_error and structured(r).get("status") == "completed", r)


def start(binary, mode, scratch, ports, log):
    """The system's processes, all logging to `log`."""
    env = dict(os.environ)
    env.update({
        "OCTOLLM_ORCHESTRATOR_PORT": str(ports[0]),
        "OCTOLLM_REFLEX_PORT": str(ports[1]),
        "OCTOLLM_PLANNER_PORT": str(ports[2]),
        "OCTOLLM_EXECUTOR_PORT": str(ports[3]),
        "OCTOLLM_GATEWAY_PORT": str(ports[4]),
        "OCTOLLM_API_KEYS": f"tester:{KEY}",
        "OCTOLLM_EXECUTOR_SANDBOX_UID_BASE": "1509000",
        "OCTOLLM_EXECUTOR_SANDBOX_CGROUP_PARENT": f"octollm-mcp-http-{os.getpid()}",
        "OCTOLLM_EXECUTOR_SANDBOX_ROOT_DIR": os.path.join(scratch, "sandbox-root"),
        "OCTOLLM_DATA_DIR": os.path.join(scratch, "data"),
        "OCTOLLM_LOG_LEVEL": "warn",
    })
    for var in ("DATABASE_URL", "REDIS_URL", "OCTOLLM_API_KEY"):
        env.pop(var, None)
    out = dict(env=env, stdout=subprocess.DEVNULL, stderr=log)
    if mode == "up":
        return [subprocess.Popen([binary, "up", "--data-dir", env["OCTOLLM_DATA_DIR"]], **out)]
    secret = "mcp-http-token-secret-0123456789abcdef"
    env.update({
        "OCTOLLM_API_KEYS": f"tester:{KEY},internal:{INTERNAL}",
        "OCTOLLM_ORCHESTRATOR_ARMS_API_KEY": INTERNAL,
        "OCTOLLM_PLANNER_EXECUTOR_API_KEY": INTERNAL,
        "OCTOLLM_ORCHESTRATOR_TOKEN_SECRET": secret,
        "OCTOLLM_EXECUTOR_TOKEN_SECRET": secret,
        "OCTOLLM_ORCHESTRATOR_REFLEX_URL": f"http://127.0.0.1:{ports[1]}",
        "OCTOLLM_ORCHESTRATOR_PLANNER_URL": f"http://127.0.0.1:{ports[2]}",
        "OCTOLLM_ORCHESTRATOR_EXECUTOR_URL": f"http://127.0.0.1:{ports[3]}",
        "OCTOLLM_PLANNER_EXECUTOR_URL": f"http://127.0.0.1:{ports[3]}",
    })
    procs = []
    for component in ("reflex", "planner", "executor", "orchestrator"):
        procs.append(subprocess.Popen([binary, "serve", component], **out))
    return procs


def main():
    binary = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "up"
    print(f"-- /mcp on the orchestrator of `octollm {'up' if mode == 'up' else 'serve'}`")
    scratch = tempfile.mkdtemp(prefix="octollm-mcp-http-")
    os.chmod(scratch, 0o755)
    ports = free_ports(5)
    log_path = os.path.join(scratch, "system.log")
    procs = start(binary, mode, scratch, ports, open(log_path, "w"))
    base = f"http://127.0.0.1:{ports[0]}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/ready", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        # A process that could not start (a port taken, say) would leave
        # another one answering on the orchestrator's port.
        stopped = [p.args[1:] for p in procs if p.poll() is not None]
        check("every process of the system is running", not stopped, stopped)
        check("without a key /mcp is refused (401)", status_of(f"{base}/mcp") == 401)
        check("with a wrong key /mcp is refused (401)", status_of(f"{base}/mcp", "wrong") == 401)
        anyio.run(session_checks, f"{base}/mcp")
    except Exception:
        results["failed"] += 1
        print("FAIL the session raised:")
        traceback.print_exc()
        print(open(log_path).read()[-4000:])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
