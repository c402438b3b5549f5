// The tasks page: the list (filtered by status, polled while visible) and
// the form that submits a new task.

import { badge, errorBox, fmtTime, h, replace } from "./dom.js";
import { api, ApiError, every, seg } from "./api.js";

const STATUSES = ["pending", "planning", "executing", "awaiting_approval", "completed", "failed", "cancelled"];
const PAGE = 20;
const MAX_LIMIT = 100;

export function tasksPage(root) {
  let filter = sessionStorage.getItem("octollm.console.filter") || "";
  if (filter && !STATUSES.includes(filter)) filter = "";
  let limit = PAGE;
  let controller = null;
  // A redraw every poll would steal focus and hover from the rows; only a
  // change redraws.
  let shown = "";

  const filters = h("div", { class: "filters", role: "group", "aria-label": "Filter by status", "data-testid": "filters" });
  const listBox = h("div", { id: "task-list", "data-testid": "task-list", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "button subtle", id: "tasks-more", "data-testid": "tasks-more", hidden: true }, "Show more");
  const updated = h("span", { class: "muted small", id: "tasks-updated" });

  function drawFilters() {
    replace(filters, ...["", ...STATUSES].map((st) => h("button", {
      type: "button",
      class: `chip${st === filter ? " active" : ""}`,
      "aria-pressed": st === filter ? "true" : "false",
      "data-testid": `filter-${st || "all"}`,
      on: {
        click: () => {
          filter = st;
          limit = PAGE;
          sessionStorage.setItem("octollm.console.filter", st);
          drawFilters();
          refresh();
        },
      },
    }, st ? st.replace(/_/g, " ") : "all")));
  }

  async function refresh() {
    if (controller) controller.abort();
    controller = new AbortController();
    const q = new URLSearchParams({ limit: String(limit) });
    if (filter) q.set("status", filter);
    try {
      const list = await api(`/api/v1/tasks?${q}`, { signal: controller.signal });
      drawList(list);
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      if (e.name === "AbortError") return;
      shown = "";
      replace(listBox, errorBox(e, { "data-testid": "tasks-error" }));
    }
  }

  function drawList(list) {
    const sig = JSON.stringify([filter, list]);
    if (sig === shown) return;
    shown = sig;
    const tasks = list.tasks || [];
    more.hidden = !list.next_cursor || limit >= MAX_LIMIT;
    if (tasks.length === 0) {
      replace(listBox, h("p", { class: "empty", "data-testid": "tasks-empty" },
        filter ? `No ${filter.replace(/_/g, " ")} tasks.` : "No tasks yet. Submit one with the form."));
      return;
    }
    const rows = tasks.map((t) => h("tr", { "data-testid": "task-row", "data-task-id": t.task_id, "data-status": t.status },
      h("td", null, badge(t.status)),
      h("td", { class: "goal-cell" },
        h("a", { href: `#/tasks/${seg(t.task_id)}`, "data-testid": "task-link" }, t.goal),
        t.error_code ? h("div", { class: "muted small" }, t.error_code) : null),
      h("td", { class: "nowrap muted" }, fmtTime(t.created_at)),
      h("td", { class: "mono small muted" }, t.task_id.slice(0, 8))));
    replace(listBox, h("table", { class: "table" },
      h("thead", null, h("tr", null, h("th", null, "Status"), h("th", null, "Goal"), h("th", null, "Created"), h("th", null, "Id"))),
      h("tbody", null, rows)));
  }

  more.addEventListener("click", () => {
    limit = Math.min(MAX_LIMIT, limit + PAGE);
    refresh();
  });

  drawFilters();
  root.appendChild(h("div", { class: "columns" },
    h("section", { class: "card grow" },
      h("div", { class: "card-head" }, h("h1", null, "Tasks"), updated),
      filters, listBox, more),
    submitForm()));

  const stop = every(2000, refresh);
  return () => {
    stop();
    if (controller) controller.abort();
  };
}

function input(id, label, attrs, hint) {
  const el = h("input", { id, name: id, "data-testid": id, ...attrs });
  return [h("label", { for: id }, label), el, hint ? h("div", { class: "hint" }, hint) : null];
}

function submitForm() {
  const goal = h("textarea", { id: "submit-goal", "data-testid": "submit-goal", rows: 3, required: true, maxlength: 10000,
    placeholder: "What should be done? e.g. List files in /tmp and count them" });
  const criteria = h("textarea", { id: "submit-criteria", "data-testid": "submit-criteria", rows: 2,
    placeholder: "One per line, e.g. Output contains hello" });
  const approval = h("select", { id: "submit-approval", "data-testid": "submit-approval" },
    h("option", { value: "" }, "Server policy"),
    h("option", { value: "always" }, "Approve every step"));
  const files = h("input", { id: "submit-files", "data-testid": "submit-files", type: "file", multiple: true });
  const message = h("div", { id: "submit-message", "data-testid": "submit-message", "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "button primary", id: "submit-button", "data-testid": "submit-button" }, "Submit task");
  const cost = input("submit-max-cost", "Cost (USD)", { type: "number", min: "0", step: "0.01", placeholder: "1.00", inputmode: "decimal" });
  const time = input("submit-max-time", "Time (s)", { type: "number", min: "1", step: "1", placeholder: "300", inputmode: "numeric" });
  const tokens = input("submit-max-tokens", "Tokens", { type: "number", min: "0", step: "1", placeholder: "20000", inputmode: "numeric" });

  const form = h("form", { class: "card side", id: "submit-form", "data-testid": "submit-form" },
    h("h2", null, "New task"),
    h("label", { for: "submit-goal" }, "Goal"), goal,
    h("label", { for: "submit-criteria" }, "Acceptance criteria"), criteria,
    h("fieldset", { class: "budget" }, h("legend", null, "Budget limits (empty: server defaults)"),
      h("div", { class: "triple" }, h("div", null, cost), h("div", null, time), h("div", null, tokens))),
    h("label", { for: "submit-files" }, "Files (read-only at /workspace/in/NAME)"), files,
    h("label", { for: "submit-approval" }, "Approval"), approval,
    message,
    h("div", { class: "actions" }, button));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    replace(message);
    const body = { goal: goal.value.trim() };
    if (!body.goal) {
      message.appendChild(errorBox({ message: "A goal is needed." }));
      return;
    }
    const crit = criteria.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (crit.length) body.acceptance_criteria = crit;
    const budget = {};
    const num = (el) => (el.value.trim() === "" ? null : Number(el.value));
    const c = num(cost[1]);
    const t = num(time[1]);
    const k = num(tokens[1]);
    if (c !== null) budget.max_cost_usd = c;
    if (t !== null) budget.max_time_seconds = Math.round(t);
    if (k !== null) budget.max_tokens = Math.round(k);
    if (Object.keys(budget).length) body.budget = budget;
    if (approval.value) body.approval = approval.value;
    button.disabled = true;
    try {
      if (files.files.length) {
        message.textContent = "Reading files…";
        body.files = await Promise.all(Array.from(files.files, readFile));
      }
      message.textContent = "Submitting…";
      const accepted = await api("/api/v1/tasks", { method: "POST", body });
      location.hash = `#/tasks/${seg(accepted.task_id)}`;
    } catch (e) {
      replace(message, errorBox(e, { "data-testid": "submit-error" }), findings(e));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// A refused goal (a prompt injection) comes back with what was found.
function findings(e) {
  const inj = e instanceof ApiError && e.details && Array.isArray(e.details.injections) ? e.details.injections : [];
  if (!inj.length) return null;
  return h("ul", { class: "findings small" }, inj.map((f) =>
    h("li", null, `${f.category} (${f.severity}): “${f.matched ?? ""}”`)));
}

async function readFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  return { name: file.name, content_base64: base64(bytes) };
}

export function base64(bytes) {
  let bin = "";
  // String.fromCharCode takes its arguments on the stack; chunks keep big
  // files under the engine's argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
