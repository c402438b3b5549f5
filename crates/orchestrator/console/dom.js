// Building the page. Every value the API returns is hostile (a step's
// output is whatever a command printed), so nothing here parses markup:
// values become text nodes, and only attributes from a fixed list can be
// set, none of which runs code.

const ATTRS = new Set([
  "id", "class", "href", "type", "name", "value", "placeholder", "for", "title",
  "role", "min", "max", "step", "rows", "multiple", "accept", "disabled",
  "hidden", "autocomplete", "spellcheck", "required", "download", "tabindex",
  "colspan", "open", "maxlength", "inputmode", "lang",
]);

// A link leads within the console or to an object URL this page made; a
// value from the API can never become a javascript: or foreign link.
function safeHref(value) {
  return value.startsWith("#/") || value.startsWith("blob:") ? value : "#/";
}

function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) return;
  const ok = ATTRS.has(name) || name.startsWith("data-") || name.startsWith("aria-");
  if (!ok) throw new Error(`attribute ${name} is not on the list`);
  const text = value === true ? "" : String(value);
  el.setAttribute(name, name === "href" ? safeHref(text) : text);
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// h("button", {class: "x", on: {click: f}}, "text", otherNode)
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    } else {
      setAttr(el, name, value);
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_ATTRS = new Set([
  "x", "y", "x1", "y1", "x2", "y2", "width", "height", "rx", "ry", "d", "viewBox",
  "class", "marker-end", "points", "refX", "refY", "markerWidth", "markerHeight",
  "orient", "text-anchor", "dominant-baseline", "role", "tabindex", "id",
  "preserveAspectRatio", "transform",
]);

export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "on") {
      for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
      continue;
    }
    if (value === null || value === undefined) continue;
    const ok = SVG_ATTRS.has(name) || name.startsWith("data-") || name.startsWith("aria-");
    if (!ok) throw new Error(`svg attribute ${name} is not on the list`);
    el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export function badge(status, extra) {
  const label = String(status || "unknown");
  return h("span", { class: `badge status-${cssToken(label)}`, "data-status": label, ...extra },
    label.replace(/_/g, " "));
}

// Turns a value into something safe inside a class name.
export function cssToken(value) {
  return String(value).toLowerCase().replace(/[^a-z0-9_-]/g, "-");
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function fmtUsd(x) {
  if (x === null || x === undefined) return "—";
  return `$${Number(x).toFixed(x > 0 && x < 0.01 ? 6 : 4)}`;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

// A labelled value for a <dl>.
export function field(label, ...value) {
  return [h("dt", null, label), h("dd", null, ...value)];
}

export function errorBox(err, extra) {
  const code = err && err.code ? `${err.code}: ` : "";
  const msg = err && err.message ? err.message : String(err);
  return h("div", { class: "error", role: "alert", ...extra }, code + msg);
}
