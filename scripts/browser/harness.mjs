// Small helpers for scripts/browser-test, in Node because Node is there
// anyway (curl may not be).
//
//   node harness.mjs wait URL SECS    waits until URL answers 2xx; exit 1 on timeout
//   node harness.mjs target-dir       cargo's target directory (from `cargo metadata` on stdin)

const [cmd, ...args] = process.argv.slice(2);

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
