// Talking to the orchestrator's API with the user's key.
//
// The key lives in this tab's sessionStorage only: it goes when the tab
// closes, other tabs and later visits never see it, and it is never part
// of a URL (URLs end up in history, logs and Referer headers).

const KEY = "octollm.console.key";

export const session = {
  // null: nobody signed in; "" : signed in without a key (a server with
  // no keys configured).
  key() {
    return sessionStorage.getItem(KEY);
  },
  signedIn() {
    return sessionStorage.getItem(KEY) !== null;
  },
  set(key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

export class ApiError extends Error {
  constructor(status, code, message, details, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

let onUnauthorized = () => {};

// Called with the server's message whenever a request comes back 401.
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function headers(extra) {
  const out = { ...extra };
  const key = session.key();
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not the error envelope (a proxy's page, an empty body).
  }
  const e = body && body.error ? body.error : {};
  const err = new ApiError(
    res.status,
    e.code || `HTTP_${res.status}`,
    e.message || `The server answered ${res.status} ${res.statusText}`.trim(),
    e.details,
    body && body.request_id,
  );
  if (res.status === 401) {
    session.clear();
    onUnauthorized(err);
  }
  return err;
}

async function send(path, { method = "GET", body, signal, accept } = {}) {
  const init = { method, signal, headers: headers({ Accept: accept || "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK", `The orchestrator could not be reached (${e.message})`);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function api(path, opts) {
  const res = await send(path, opts);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export async function fetchBlob(path, opts) {
  const res = await send(path, { ...opts, accept: "*/*" });
  return { blob: await res.blob(), headers: res.headers };
}

// Path pieces from data always go through here.
export function seg(value) {
  return encodeURIComponent(String(value));
}

// Server-sent events over fetch: EventSource cannot send an Authorization
// header. Calls onEvent({event, id, data}) for each event and resolves when
// the server ends the stream (it does after a task's last event).
export async function stream(path, onEvent, signal) {
  const res = await send(path, { signal, accept: "text/event-stream" });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    // Lines may end in CRLF, LF or CR; a CR at the very end may be the
    // first half of a CRLF split across chunks, so it waits for the next.
    buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n/g, "\n").replace(/\r(?=[^])/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const ev = parseBlock(block);
      if (ev) onEvent(ev);
    }
  }
}

function parseBlock(block) {
  let event = "message";
  let id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "event") event = value;
    else if (name === "id") id = value;
    else if (name === "data") data.push(value);
  }
  if (data.length === 0) return null;
  return { event, id, data: data.join("\n") };
}

// Runs fn now and then every ms while the page is visible (a hidden tab
// polls nothing); the next run waits for the last one to finish. Returns
// a function that stops it.
export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    timer = null;
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch (e) {
        if (e.name !== "AbortError") console.error(e);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  const onVisible = () => {
    if (!document.hidden && timer !== null) {
      clearTimeout(timer);
      tick();
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  tick();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
