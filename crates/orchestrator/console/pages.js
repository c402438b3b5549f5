// The scan page (a text screened by the reflex layer) and the arms page
// (health and circuit breaker of each arm).

import { badge, errorBox, fmtTime, h, replace } from "./dom.js";
import { api, every } from "./api.js";

export function scanPage(root) {
  const text = h("textarea", { id: "scan-text", "data-testid": "scan-text", rows: 7, spellcheck: "false",
    placeholder: "Paste a text to screen, e.g. My SSN is 123-45-6789 and email is test@example.com" });
  const source = h("select", { id: "scan-source", "data-testid": "scan-source" },
    h("option", { value: "user" }, "user input"),
    h("option", { value: "tool_output" }, "tool output"),
    h("option", { value: "document" }, "document"));
  const strategy = h("select", { id: "scan-strategy", "data-testid": "scan-strategy" },
    h("option", { value: "label" }, "label ([EMAIL])"),
    h("option", { value: "mask" }, "mask (t***@example.com)"),
    h("option", { value: "hash" }, "hash"),
    h("option", { value: "remove" }, "remove"));
  const button = h("button", { type: "submit", class: "button primary", id: "scan-submit", "data-testid": "scan-submit" }, "Scan");
  const out = h("div", { id: "scan-result", "data-testid": "scan-result", "aria-live": "polite" });
  const form = h("form", { class: "card", id: "scan-form" },
    h("h1", null, "Scan a text"),
    h("p", { class: "muted" }, "The reflex layer looks for personal data, secrets and prompt injections, as it does for every goal."),
    h("label", { for: "scan-text" }, "Text"), text,
    h("div", { class: "row" },
      h("div", null, h("label", { for: "scan-source" }, "Source"), source),
      h("div", null, h("label", { for: "scan-strategy" }, "Redaction"), strategy)),
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      const r = await api("/api/v1/scan", {
        method: "POST",
        body: { text: text.value, source: source.value, redaction_strategy: strategy.value, use_cache: false },
      });
      replace(out, scanResult(text.value, r));
    } catch (e) {
      replace(out, errorBox(e, { "data-testid": "scan-error" }));
    } finally {
      button.disabled = false;
    }
  });
  root.appendChild(form);
  root.appendChild(out);
  text.focus();
}

function scanResult(original, r) {
  const pii = r.pii_detected || [];
  const inj = r.injections || [];
  return h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", null, "Findings"),
      badge(r.status, { id: "scan-status", "data-testid": "scan-status" }),
      r.max_severity ? h("span", { class: "muted small" }, `max severity ${r.max_severity}`) : null,
      h("span", { class: "muted small" }, `${Number(r.latency_ms || 0).toFixed(2)} ms`)),
    h("h3", null, `Personal data and secrets (${pii.length})`),
    pii.length ? h("table", { class: "table", "data-testid": "pii-table" },
      h("thead", null, h("tr", null, h("th", null, "Type"), h("th", null, "Value (masked)"), h("th", null, "Where"), h("th", null, "Confidence"))),
      h("tbody", null, pii.map((f) => h("tr", { "data-testid": "pii-finding", "data-type": f.name || f.type },
        h("td", null, f.name ? `${f.type}: ${f.name}` : f.type),
        h("td", { class: "mono" }, f.value),
        h("td", { class: "small" }, `chars ${f.start}..${f.end}`),
        h("td", null, Number(f.confidence).toFixed(2))))))
      : h("p", { class: "muted" }, "None found."),
    h("h3", null, `Prompt injections (${inj.length})`),
    inj.length ? h("table", { class: "table", "data-testid": "injection-table" },
      h("thead", null, h("tr", null, h("th", null, "Category"), h("th", null, "Severity"), h("th", null, "Matched"), h("th", null, "Confidence"))),
      h("tbody", null, inj.map((f) => h("tr", { "data-testid": "injection-finding", "data-category": f.category },
        h("td", null, f.category),
        h("td", null, badge(f.severity)),
        h("td", { class: "mono" }, f.matched ?? ""),
        h("td", null, Number(f.confidence).toFixed(2))))))
      : h("p", { class: "muted" }, "None found."),
    h("h3", null, "Highlighted"),
    h("pre", { class: "output", "data-testid": "scan-highlighted" }, highlight(original, [...pii, ...inj])),
    h("h3", null, "Redacted text"),
    h("pre", { class: "output", id: "scan-redacted", "data-testid": "scan-redacted" }, r.redacted_text ?? ""));
}

// Marks the findings in the text. Offsets count characters (code points),
// as the reflex layer does, so the text is split into code points first.
function highlight(text, findings) {
  const chars = Array.from(text);
  const spans = findings
    .filter((f) => Number.isInteger(f.start) && Number.isInteger(f.end) && f.start < f.end && f.end <= chars.length)
    .sort((a, b) => a.start - b.start);
  const parts = [];
  let at = 0;
  for (const f of spans) {
    if (f.start < at) continue;
    parts.push(chars.slice(at, f.start).join(""));
    parts.push(h("mark", { class: f.category ? "inj" : "pii", title: f.category || f.type }, chars.slice(f.start, f.end).join("")));
    at = f.end;
  }
  parts.push(chars.slice(at).join(""));
  return parts;
}

export function armsPage(root) {
  const table = h("div", { id: "arms", "data-testid": "arms" }, h("p", { class: "muted" }, "Loading…"));
  const updated = h("span", { class: "muted small", id: "arms-updated" });
  const refreshBtn = h("button", { type: "button", class: "button subtle", "data-testid": "arms-refresh" }, "Refresh");
  root.appendChild(h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h1", null, "Arms"), updated, refreshBtn),
    h("p", { class: "muted" }, "Each arm's health as the orchestrator sees it now, and its circuit breaker (open: calls are refused until it cools down)."),
    table));
  const load = async () => {
    try {
      const r = await api("/api/v1/arms");
      replace(table, armsTable(r.arms || []));
      updated.textContent = `Updated ${fmtTime(new Date().toISOString())}`;
    } catch (e) {
      replace(table, errorBox(e, { "data-testid": "arms-error" }));
    }
  };
  refreshBtn.addEventListener("click", load);
  return every(5000, load);
}

function armsTable(arms) {
  if (!arms.length) return h("p", { class: "muted" }, "No arms are registered.");
  return h("table", { class: "table", id: "arms-table", "data-testid": "arms-table" },
    h("thead", null, h("tr", null, h("th", null, "Arm"), h("th", null, "Health"), h("th", null, "Breaker"),
      h("th", null, "Latency"), h("th", null, "Capabilities"), h("th", null, "Location"))),
    h("tbody", null, arms.map((a) => h("tr", { "data-testid": "arm-row", "data-arm": a.name, "data-health": a.health, "data-breaker": a.breaker },
      h("td", null, h("strong", null, a.name)),
      h("td", null, badge(a.health, { "data-testid": "arm-health" })),
      h("td", null, badge(`breaker ${a.breaker}`.replace(/ /g, "_"), { "data-testid": "arm-breaker" })),
      h("td", null, a.latency_ms === null || a.latency_ms === undefined ? "—" : `${Number(a.latency_ms).toFixed(1)} ms`),
      h("td", null, h("div", { class: "chips" }, (a.capabilities || []).map((c) => h("span", { class: "chip static" }, c)))),
      h("td", { class: "mono small" }, a.url)))));
}
