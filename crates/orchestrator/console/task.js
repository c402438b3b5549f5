// One task: its plan as a graph, its steps as they run (the event stream
// says when something changed; the task document is then read again, so
// what is shown is always the server's state), approvals, the result,
// artifacts, the plan's revisions and the raw event log.

import { badge, clear, cssToken, errorBox, field, fmtBytes, fmtMs, fmtTime, fmtUsd, h, replace } from "./dom.js";
import { api, every, fetchBlob, seg, stream } from "./api.js";
import { renderDag } from "./dag.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const MAX_EVENTS = 500;
const MAX_VIEW_BYTES = 256 * 1024;

export function taskPage(root, id) {
  const base = `/api/v1/tasks/${seg(id)}`;
  const abort = new AbortController();
  let view = null;
  let signature = "";
  let stopped = false;
  let refreshing = null;
  let again = false;
  // The task does not exist (or the id is not one): nothing to follow.
  let gone = false;
  const seen = new Set();
  // The command line each step actually ran, references resolved (from
  // its step.started event).
  const ran = new Map();
  // Inputs and open sections survive a redraw.
  const reasons = new Map();
  const openKeys = new Set(["events"]);
  const objectUrls = [];

  const header = h("section", { class: "card", id: "task-header", "data-testid": "task-header" }, h("p", { class: "muted" }, "Loading…"));
  const planBox = h("section", { class: "card", id: "plan", "data-testid": "plan" });
  const stepsBox = h("section", { class: "card", id: "steps", "data-testid": "steps" });
  const resultBox = h("section", { class: "card", id: "result", "data-testid": "result", hidden: true });
  const artifactsBox = h("section", { class: "card", id: "artifacts", "data-testid": "artifacts" });
  const historyBox = h("section", { class: "card", id: "plan-history", "data-testid": "plan-history" });
  const streamState = h("span", { class: "stream-state", id: "stream-state", "data-testid": "stream-state", "data-state": "connecting" }, "connecting");
  const eventList = h("ol", { class: "events", id: "events", "data-testid": "events" });
  const eventsBox = h("section", { class: "card" },
    details("events", h("span", null, "Live events ", streamState), eventList));

  root.appendChild(h("p", { class: "crumbs" }, h("a", { href: "#/tasks" }, "← Tasks")));
  root.appendChild(header);
  root.appendChild(planBox);
  root.appendChild(stepsBox);
  root.appendChild(resultBox);
  root.appendChild(artifactsBox);
  root.appendChild(historyBox);
  root.appendChild(eventsBox);

  function details(key, summary, ...body) {
    const d = h("details", { "data-key": key, open: openKeys.has(key) }, h("summary", null, summary), ...body);
    d.addEventListener("toggle", () => (d.open ? openKeys.add(key) : openKeys.delete(key)));
    return d;
  }

  // One read at a time; news that arrives meanwhile asks for one more.
  function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        try {
          const v = await api(base, { signal: abort.signal });
          show(v);
        } catch (e) {
          if (e.name === "AbortError") return;
          if (!view && (e.status === 404 || e.status === 400)) gone = true;
          if (!view) replace(header, errorBox(e, { "data-testid": "task-load-error" }));
          else console.error(e);
        }
      } while (again && !stopped);
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  function show(v) {
    const sig = JSON.stringify(v);
    if (sig === signature) return;
    signature = sig;
    view = v;
    const active = document.activeElement;
    const caret = active && active.tagName === "TEXTAREA" ? [active.selectionStart, active.selectionEnd] : null;
    drawHeader();
    drawPlan();
    drawSteps();
    drawResult();
    drawArtifacts();
    drawHistory();
    if (active && active.isConnected && active !== document.activeElement) {
      active.focus();
      if (caret) active.setSelectionRange(caret[0], caret[1]);
    }
  }

  function drawHeader() {
    const v = view;
    const terminal = TERMINAL.has(v.status);
    const cancel = terminal ? null : h("button", {
      type: "button", class: "button danger", id: "task-cancel", "data-testid": "task-cancel",
      on: { click: async (e) => {
        e.target.disabled = true;
        try {
          await api(`${base}/cancel`, { method: "POST" });
        } catch (err) {
          header.appendChild(errorBox(err));
        }
        refresh();
      } },
    }, "Cancel task");
    // Erasing cannot be undone: the first click only arms the button.
    const erase = !terminal ? null : h("button", {
      type: "button", class: "button danger", id: "task-delete", "data-testid": "task-delete",
      on: { click: async (e) => {
        const button = e.target;
        if (button.dataset.armed !== "yes") {
          button.dataset.armed = "yes";
          button.textContent = "Erase it and everything from it?";
          return;
        }
        button.disabled = true;
        try {
          await api(base, { method: "DELETE" });
          location.hash = "#/tasks";
        } catch (err) {
          header.appendChild(errorBox(err));
        }
      } },
    }, "Delete task");
    const b = v.budget || {};
    replace(header,
      h("div", { class: "card-head" },
        h("h1", { id: "task-goal", "data-testid": "task-goal", class: "goal" }, v.goal),
        badge(v.status, { id: "task-status", "data-testid": "task-status" }),
        cancel, erase),
      v.screened_goal && v.screened_goal !== v.goal
        ? h("p", { class: "muted small" }, "Screened goal (what the planner saw): ", h("span", { class: "mono" }, v.screened_goal))
        : null,
      h("dl", { class: "facts wide" },
        field("Task", h("span", { class: "mono", "data-testid": "task-id" }, v.task_id)),
        field("Created", fmtTime(v.created_at)),
        field("Started", fmtTime(v.started_at)),
        field("Finished", fmtTime(v.finished_at)),
        field("Tokens", h("span", { "data-testid": "task-tokens" }, String(v.tokens_used ?? 0))),
        field("Cost", h("span", { id: "task-cost", "data-testid": "task-cost" }, fmtUsd(v.cost_usd))),
        field("Budget", `${fmtUsd(b.max_cost_usd)} · ${b.max_time_seconds ?? "—"} s · ${b.max_tokens ?? "—"} tokens`),
        field("Priority", String(v.priority)),
        v.acceptance_criteria && v.acceptance_criteria.length
          ? field("Criteria", h("ul", { class: "plain" }, v.acceptance_criteria.map((c) => h("li", null, c))))
          : null,
        v.allowed_hosts ? field("Hosts", v.allowed_hosts.join(", ")) : null));
  }

  function statusOf(no) {
    const st = (view.steps || []).find((x) => x.step === no);
    return st ? st.status : "pending";
  }

  function drawPlan() {
    const plan = view.plan;
    if (!plan || !Array.isArray(plan.plan) || plan.plan.length === 0) {
      replace(planBox, h("h2", null, "Plan"),
        h("p", { class: "muted", "data-testid": "plan-empty" }, TERMINAL.has(view.status) ? "This task has no plan." : "Planning…"));
      return;
    }
    const usage = plan.usage || {};
    replace(planBox,
      h("div", { class: "card-head" }, h("h2", null, "Plan"),
        h("span", { class: "muted small" },
          `${plan.plan.length} step(s) · ${plan.planner || "planner"} · confidence ${Number(plan.confidence || 0).toFixed(2)}`,
          usage.cost_usd ? ` · planning ${(usage.prompt_tokens || 0) + (usage.completion_tokens || 0)} tokens, ${fmtUsd(usage.cost_usd)}` : "")),
      plan.rationale ? h("p", { class: "muted small rationale" }, plan.rationale) : null,
      h("div", { class: "dag-wrap" }, renderDag(plan, statusOf, (no) => {
        const el = document.getElementById(`step-${no}`);
        if (el) {
          el.scrollIntoView({ behavior: "smooth", block: "start" });
          el.classList.add("flash");
          setTimeout(() => el.classList.remove("flash"), 1200);
        }
      })),
      h("div", { class: "legend small" }, ["pending", "awaiting_approval", "running", "completed", "failed", "skipped"].map((st) => badge(st))));
  }

  function drawSteps() {
    const planSteps = view.plan && Array.isArray(view.plan.plan) ? view.plan.plan : [];
    const byNo = new Map();
    for (const p of planSteps) byNo.set(p.step, { plan: p, run: null });
    for (const r of view.steps || []) {
      const e = byNo.get(r.step) || { plan: null, run: null };
      e.run = r;
      byNo.set(r.step, e);
    }
    const nos = [...byNo.keys()].sort((a, b) => a - b);
    if (nos.length === 0) {
      replace(stepsBox, h("h2", null, "Steps"), h("p", { class: "muted" }, "No steps yet."));
      return;
    }
    replace(stepsBox, h("h2", null, "Steps"), nos.map((no) => stepCard(no, byNo.get(no))));
  }

  function callLine(call) {
    if (!call) return null;
    if (call.action_type === "http") {
      return h("div", { class: "cmd" }, h("code", { class: "method" }, call.method || "GET"), " ", h("code", { class: "url" }, call.url));
    }
    return h("div", { class: "cmd", "data-testid": "step-command" },
      h("span", { class: "prompt" }, "$"), " ",
      h("code", { class: "command" }, call.command),
      (call.args || []).map((a) => [" ", h("code", { class: "arg", "data-testid": "step-arg" }, a)]),
      call.stdin ? h("div", { class: "stdin small" }, "stdin: ", h("code", null, call.stdin)) : null);
  }

  function stepCard(no, { plan, run }) {
    const status = run ? run.status : "pending";
    const action = (run && run.action) || (plan && plan.action) || "";
    const call = plan ? plan.tool_call : null;
    const resolved = ran.get(no);
    const prov = run && run.provenance;
    return h("article", { class: `step status-${cssToken(status)}`, id: `step-${no}`, "data-testid": `step-${no}`, "data-status": status },
      h("header", { class: "step-head" },
        h("span", { class: "step-no" }, String(no)),
        h("span", { class: "step-action" }, action),
        badge(status, { "data-testid": `step-status-${no}` }),
        h("span", { class: "muted small" }, run && run.duration_ms !== null && run.duration_ms !== undefined ? fmtMs(run.duration_ms) : "")),
      callLine(call),
      resolved && call && JSON.stringify([call.args, call.url]).includes("{{") ? h("div", { class: "small muted" }, "ran: ", h("code", { "data-testid": `step-ran-${no}` }, resolved)) : null,
      h("div", { class: "meta small" },
        meta("arm", (run && run.required_arm) || (plan && plan.required_arm) || "—"),
        meta("after", plan && plan.depends_on && plan.depends_on.length ? plan.depends_on.join(", ") : "—"),
        meta("attempts", run ? String(run.attempts) : "0"),
        meta("duration", h("span", { "data-testid": `step-duration-${no}` }, fmtMs(run && run.duration_ms))),
        meta("started", fmtTime(run && run.started_at)),
        meta("cost tier", plan ? String(plan.estimated_cost_tier ?? "—") : "—")),
      run && run.output !== null && run.output !== undefined
        ? [h("div", { class: "label" }, "Output"), h("pre", { class: "output", "data-testid": `step-output-${no}` }, run.output)]
        : null,
      run && run.stderr
        ? [h("div", { class: "label" }, "Stderr"), h("pre", { class: "output stderr", "data-testid": `step-stderr-${no}` }, run.stderr)]
        : null,
      run && run.error
        ? [h("div", { class: "label" }, "Error (with the command's stderr)"), h("pre", { class: "output stderr", "data-testid": `step-error-${no}` }, run.error)]
        : null,
      run && run.approval ? approvalBox(no, run) : null,
      prov ? provenanceBox(no, prov) : null);
  }

  function approvalBox(no, run) {
    const { request: rq, decision } = run.approval;
    const ask = h("dl", { class: "facts small" },
      field("Because", (rq.because || []).join(", ")),
      field("Runs", rq.kind === "http" ? `${rq.method || "GET"} ${rq.url || ""}` : h("span", null, h("code", null, rq.command || ""),
        (rq.args || []).map((a) => [" ", h("code", { class: "arg" }, a)]))),
      field("Stdin", rq.stdin ? `${rq.stdin.source}${rq.stdin.steps && rq.stdin.steps.length ? ` (steps ${rq.stdin.steps.join(", ")})` : ""}, ${fmtBytes(rq.stdin.bytes)}` : "none"),
      field("Capabilities", (rq.capabilities || []).join(", ") || "—"),
      field("Expires", fmtTime(rq.expires_at)));
    const preview = rq.stdin && rq.stdin.preview ? h("pre", { class: "output small" }, rq.stdin.preview) : null;
    if (decision) {
      return h("div", { class: `approval decided decision-${decision.decision}`, "data-testid": `approval-${no}` },
        h("strong", { "data-testid": `decision-${no}` }, `${decision.decision} by ${decision.by}`),
        ` at ${fmtTime(decision.at)}`, decision.reason ? ` — “${decision.reason}”` : "", ask);
    }
    if (run.status !== "awaiting_approval") return null;
    let reason = reasons.get(no);
    if (!reason) {
      reason = h("textarea", { id: `reason-${no}`, "data-testid": `reason-${no}`, rows: 2, maxlength: 1000, placeholder: "Why (kept with the decision)" });
      reasons.set(no, reason);
    }
    const msg = h("div", { "aria-live": "polite", "data-testid": `approval-message-${no}` });
    const decide = async (verb, buttons) => {
      for (const b of buttons) b.disabled = true;
      clear(msg);
      const text = reason.value.trim();
      try {
        const v = await api(`${base}/steps/${seg(no)}/${verb}`, { method: "POST", body: text ? { reason: text } : {} });
        reasons.delete(no);
        show(v);
      } catch (e) {
        msg.appendChild(errorBox(e, { "data-testid": `approval-error-${no}` }));
        for (const b of buttons) b.disabled = false;
      }
    };
    const approve = h("button", { type: "button", class: "button primary", "data-testid": `approve-${no}` }, "Approve");
    const reject = h("button", { type: "button", class: "button danger", "data-testid": `reject-${no}` }, "Reject");
    approve.addEventListener("click", () => decide("approve", [approve, reject]));
    reject.addEventListener("click", () => decide("reject", [approve, reject]));
    return h("div", { class: "approval waiting", "data-testid": `approval-${no}` },
      h("strong", null, "This step waits for your approval."), ask, preview,
      h("label", { for: `reason-${no}` }, "Reason"), reason,
      h("div", { class: "actions" }, approve, reject), msg);
  }

  function provenanceBox(no, p) {
    const sb = p.sandbox || {};
    const ru = p.resource_usage || {};
    const layers = (sb.layers || []).length;
    const summary = `Provenance · exit ${p.exit_code ?? "—"} · ${layers} sandbox layers · CPU ${fmtMs(ru.cpu_time_ms)} · ${fmtBytes(ru.max_memory_bytes)} peak memory`;
    return details(`prov-${no}`, summary,
      h("dl", { class: "facts small", "data-testid": `provenance-${no}` },
        field("Exit code", String(p.exit_code ?? "—")),
        field("Ran for", fmtMs(p.execution_duration_ms)),
        field("CPU time", h("span", { "data-testid": `cpu-${no}` }, fmtMs(ru.cpu_time_ms))),
        field("Max memory", h("span", { "data-testid": `memory-${no}` }, fmtBytes(ru.max_memory_bytes))),
        field("Capabilities", (p.capabilities_used || []).join(", ") || "—"),
        field("Executor", `${p.executor_version || "?"} at ${fmtTime(p.timestamp)}`),
        field("Command hash", h("span", { class: "mono" }, p.command_hash || "—")),
        p.approval ? field("Approved", `${p.approval.decision} by ${p.approval.by}`) : null,
        p.injection_in_output && p.injection_in_output.length
          ? field("Injection in output", p.injection_in_output.map((f) => `${f.category} (${f.severity})`).join(", "))
          : null),
      h("div", { class: "label" }, `Sandbox layers (${layers})`),
      h("div", { class: "chips", "data-testid": `layers-${no}` }, (sb.layers || []).map((l) => h("span", { class: "chip static" }, l))),
      sb.missing && sb.missing.length
        ? [h("div", { class: "label warn" }, "Missing layers"), h("div", { class: "chips" }, sb.missing.map((l) => h("span", { class: "chip static warn" }, l)))]
        : null);
  }

  function drawResult() {
    const v = view;
    if (!v.result && !v.error) {
      resultBox.hidden = true;
      return;
    }
    resultBox.hidden = false;
    const m = (v.result && v.result.metadata) || {};
    replace(resultBox, h("h2", null, v.error ? "Outcome" : "Result"),
      v.error ? errorBox(v.error, { id: "task-error", "data-testid": "task-error" }) : null,
      v.result ? [
        h("pre", { class: "output", id: "task-output", "data-testid": "task-output" }, v.result.output),
        h("dl", { class: "facts small" },
          field("Steps run", String(m.steps_executed ?? "—")),
          field("Took", fmtMs(m.total_duration_ms)),
          field("Tokens", String(m.tokens_used ?? 0)),
          field("Cost", fmtUsd(m.cost_usd)),
          m.cached ? field("Cached", `from ${m.cached_from || "an earlier run"}`) : null),
        m.criteria && m.criteria.length ? h("ul", { class: "criteria", "data-testid": "criteria" }, m.criteria.map((c) =>
          h("li", { class: c.passed === true ? "pass" : c.passed === false ? "fail" : "unknown" },
            `${c.passed === true ? "✓" : c.passed === false ? "✗" : "?"} ${c.criterion} (${c.method})`, c.reason ? ` — ${c.reason}` : ""))) : null,
      ] : null);
  }

  function drawArtifacts() {
    const list = view.artifacts || [];
    const head = h("h2", null, "Artifacts");
    if (list.length === 0) {
      replace(artifactsBox, head, h("p", { class: "muted", "data-testid": "artifacts-empty" },
        TERMINAL.has(view.status) ? "No files were left in /workspace/out/." : "Files the steps leave in /workspace/out/ appear here when the task ends."));
      return;
    }
    replace(artifactsBox, head, h("table", { class: "table" },
      h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "Size"), h("th", null, "Type"), h("th", null, "SHA-256"), h("th", null, ""))),
      h("tbody", null, list.map(artifactRow))));
  }

  function artifactRow(a) {
    const path = `${base}/artifacts/${seg(a.name)}`;
    const note = h("div", { class: "small", "data-testid": "artifact-note" });
    const viewer = h("pre", { class: "output", hidden: true, "data-testid": "artifact-content" });
    const download = h("button", { type: "button", class: "button", "data-testid": "artifact-download", disabled: !!a.skipped }, "Download");
    const showBtn = h("button", { type: "button", class: "button subtle", "data-testid": "artifact-view",
      disabled: !!a.skipped || !String(a.media_type).startsWith("text/") || a.size > MAX_VIEW_BYTES }, "View");
    download.addEventListener("click", async () => {
      download.disabled = true;
      replace(note, "Downloading…");
      try {
        const { blob } = await fetchBlob(path, { signal: abort.signal });
        const url = URL.createObjectURL(blob);
        objectUrls.push(url);
        const link = h("a", { href: url, download: a.name, "data-testid": "artifact-link" }, `Save ${a.name} again`);
        replace(note, await checkSum(blob, a.sha256), " ", link);
        link.click();
      } catch (e) {
        if (e.name !== "AbortError") replace(note, errorBox(e));
      } finally {
        download.disabled = false;
      }
    });
    showBtn.addEventListener("click", async () => {
      if (!viewer.hidden) {
        viewer.hidden = true;
        return;
      }
      try {
        const { blob } = await fetchBlob(path, { signal: abort.signal });
        viewer.textContent = await blob.text();
        viewer.hidden = false;
      } catch (e) {
        if (e.name !== "AbortError") replace(note, errorBox(e));
      }
    });
    return h("tr", { "data-testid": "artifact", "data-name": a.name },
      h("td", null, h("span", { class: "mono" }, a.name), a.redacted ? h("div", { class: "small warn" }, "secrets or PII redacted") : null,
        a.skipped ? h("div", { class: "small warn" }, `not kept: ${a.skipped}`) : null, note, viewer),
      h("td", { class: "nowrap" }, fmtBytes(a.size)),
      h("td", { class: "small" }, a.media_type),
      h("td", { class: "mono small", title: a.sha256 }, `${String(a.sha256).slice(0, 12)}…`),
      h("td", { class: "nowrap" }, download, " ", showBtn));
  }

  function drawHistory() {
    const revs = view.plan_history || [];
    if (revs.length <= 1) {
      replace(historyBox, h("h2", null, "Plan history"),
        h("p", { class: "muted", "data-testid": "history-single" }, revs.length ? "The first plan was never revised." : "No plan yet."));
      return;
    }
    replace(historyBox, h("h2", null, `Plan history (${revs.length} plans)`),
      revs.map((r, i) => h("div", { class: "revision", "data-testid": "plan-revision", "data-revision": r.revision },
        details(`rev-${r.revision}`,
          h("span", null, `Revision ${r.revision}`, i === revs.length - 1 ? " (current)" : "", ` · ${r.planner} · ${fmtTime(r.created_at)}`),
          r.reason ? errorBox(r.reason) : h("p", { class: "muted small" }, "The first plan."),
          r.kept_steps && r.kept_steps.length ? h("p", { class: "small" }, `Kept from the previous plan: steps ${r.kept_steps.join(", ")}`) : null,
          h("ol", { class: "plain small" }, (r.plan && r.plan.plan ? r.plan.plan : []).map((st) =>
            h("li", null, `${st.step}. ${st.action}`, st.tool_call ? h("div", { class: "mono muted" }, commandText(st.tool_call)) : null)))))));
  }

  function onEvent(ev) {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (seen.has(e.seq)) return;
    seen.add(e.seq);
    const d = e.data || {};
    if (e.kind === "step.started" && d.command) {
      ran.set(e.step, d.command);
      // Not part of the task document: draw again even if it is unchanged.
      signature = "";
    }
    eventList.appendChild(eventItem(e));
    while (eventList.children.length > MAX_EVENTS) eventList.removeChild(eventList.firstChild);
    refresh();
  }

  async function follow() {
    while (!stopped) {
      setStream("live");
      try {
        await stream(`${base}/events`, onEvent, abort.signal);
      } catch (e) {
        if (e.name === "AbortError" || stopped) return;
        if (e.status === 404 || e.status === 400) {
          setStream("unavailable");
          return;
        }
      }
      await refresh();
      if (view && TERMINAL.has(view.status)) {
        setStream("ended");
        return;
      }
      setStream("reconnecting");
      await new Promise((r) => setTimeout(r, 1500));
    }
  }

  function setStream(state) {
    streamState.dataset.state = state;
    streamState.textContent = state;
  }

  // The stream says when to look; this slow poll covers a stream that a
  // proxy holds back.
  const stopPoll = every(5000, async () => {
    if (!gone && (!view || !TERMINAL.has(view.status))) await refresh();
  });
  follow();

  return () => {
    stopped = true;
    stopPoll();
    abort.abort();
    for (const u of objectUrls) URL.revokeObjectURL(u);
  };
}

function meta(label, ...value) {
  return h("span", { class: "meta-item" }, h("span", { class: "muted" }, `${label} `), ...value);
}

function commandText(call) {
  if (call.action_type === "http") return `${call.method || "GET"} ${call.url}`;
  return [call.command, ...(call.args || [])].join(" ");
}

function eventItem(e) {
  const d = e.data || {};
  let text = "";
  switch (e.kind) {
    case "step.started": text = d.command ? `$ ${d.command}` : d.action || ""; break;
    case "step.completed": text = `${fmtMs(d.duration_ms)} · ${firstLine(d.output)}`; break;
    case "step.failed": text = d.error ? `${d.error.code}: ${d.error.message}` : ""; break;
    case "approval_requested": text = `${d.command || d.url || ""} ${(d.args || []).join(" ")} (${(d.because || []).join(", ")})`; break;
    case "approval_decided": text = d.approval ? `${d.approval.decision} by ${d.approval.by}` : ""; break;
    case "task.plan": text = d.plan && d.plan.plan ? `${d.plan.plan.length} step(s)` : ""; break;
    case "task.artifacts": text = (d.artifacts || []).join(", "); break;
    default: text = d.status || (d.error && d.error.message) || "";
  }
  return h("li", { "data-testid": "event", "data-kind": e.kind },
    h("span", { class: "muted mono small" }, new Date(e.at).toLocaleTimeString()), " ",
    h("span", { class: "event-kind" }, e.kind), e.step ? h("span", { class: "muted" }, ` step ${e.step}`) : null,
    text ? h("span", { class: "event-text" }, ` ${text}`) : null);
}

function firstLine(s) {
  const t = String(s || "").split("\n")[0];
  return t.length > 120 ? `${t.slice(0, 119)}…` : t;
}

async function checkSum(blob, expected) {
  if (!(window.crypto && crypto.subtle)) return `${fmtBytes(blob.size)} downloaded`;
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return hex === expected
    ? h("span", { class: "ok", "data-testid": "artifact-verified" }, `${fmtBytes(blob.size)}, SHA-256 matches`)
    : h("span", { class: "warn", "data-testid": "artifact-mismatch" }, `SHA-256 differs: got ${hex}`);
}
