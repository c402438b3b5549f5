// Small helpers for scripts/browser-test, in Node because Node is there
// anyway (curl or python may not be).
//
//   node harness.mjs ports N          N free TCP ports on 127.0.0.1, one a line
//   node harness.mjs wait URL SECS    waits until URL answers 2xx; exit 1 on timeout
//   node harness.mjs target-dir       cargo's target directory (from `cargo metadata` on stdin)

import net from "node:net";

const [cmd, ...args] = process.argv.slice(2);

async function ports(n) {
  // All held open at once, so no two are the same.
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const out = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return out;
}

async function wait(url, seconds) {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return true;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause ? e.cause.code || e.cause.message : e.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`${url} did not answer within ${seconds} s (last: ${last})`);
  return false;
}

async function readStdin() {
  let s = "";
  for await (const chunk of process.stdin) s += chunk;
  return s;
}

switch (cmd) {
  case "ports":
    console.log((await ports(Number(args[0]))).join("\n"));
    break;
  case "wait":
    process.exitCode = (await wait(args[0], Number(args[1]))) ? 0 : 1;
    break;
  case "target-dir":
    console.log(JSON.parse(await readStdin()).target_directory);
    break;
  default:
    console.error(`unknown command ${cmd}`);
    process.exitCode = 2;
}
