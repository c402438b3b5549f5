// A plan as a picture: steps as boxes in columns by dependency depth (a
// step sits one column right of its deepest dependency), arrows from each
// dependency, coloured by the step's status.

import { cssToken, s } from "./dom.js";

const W = 210;
const H = 56;
const GAP_X = 70;
const GAP_Y = 18;
const PAD = 12;

// Depth of every step; a reference to a missing step is ignored and a
// cycle (a plan the planner should never have let through) is cut.
export function depths(steps) {
  const byNo = new Map(steps.map((st) => [st.step, st]));
  const depth = new Map();
  const visiting = new Set();
  const walk = (no) => {
    if (depth.has(no)) return depth.get(no);
    if (visiting.has(no)) return 0;
    visiting.add(no);
    let d = 0;
    for (const dep of byNo.get(no).depends_on || []) {
      if (byNo.has(dep) && dep !== no) d = Math.max(d, walk(dep) + 1);
    }
    visiting.delete(no);
    depth.set(no, d);
    return d;
  };
  for (const st of steps) walk(st.step);
  return depth;
}

function clip(text, max) {
  const t = String(text || "");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

// statusOf(step number) -> status string; onSelect(step number) on click.
export function renderDag(plan, statusOf, onSelect) {
  const steps = (plan && Array.isArray(plan.plan) ? plan.plan : []).filter((st) => Number.isInteger(st.step));
  const depth = depths(steps);
  const columns = [];
  for (const st of [...steps].sort((a, b) => a.step - b.step)) {
    const d = depth.get(st.step);
    (columns[d] ||= []).push(st);
  }
  const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  // An edge that skips a column would run behind the boxes between its
  // ends; it arcs over the top instead, which needs room there.
  const skips = steps.some((st) => (st.depends_on || []).some((d) => depth.has(d) && depth.get(st.step) - depth.get(d) > 1));
  const lift = skips ? 40 : 0;
  const height = lift + PAD * 2 + tallest * H + (tallest - 1) * GAP_Y;
  const width = PAD * 2 + Math.max(1, columns.length) * W + Math.max(0, columns.length - 1) * GAP_X;
  const pos = new Map();
  columns.forEach((col, ci) => {
    if (!col) return;
    const colHeight = col.length * H + (col.length - 1) * GAP_Y;
    const top = lift + (height - lift - colHeight) / 2;
    col.forEach((st, ri) => pos.set(st.step, { x: PAD + ci * (W + GAP_X), y: top + ri * (H + GAP_Y) }));
  });

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "dag", role: "img",
    "aria-label": `Plan of ${steps.length} step(s)`, id: "plan-dag", "data-testid": "plan-dag",
  });
  svg.appendChild(s("defs", null,
    s("marker", { id: "dag-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "dag-arrowhead" }))));

  const edges = s("g", { class: "dag-edges" });
  for (const st of steps) {
    const to = pos.get(st.step);
    for (const dep of new Set(st.depends_on || [])) {
      const from = pos.get(dep);
      if (!from || dep === st.step) continue;
      let d;
      if (depth.get(st.step) - depth.get(dep) > 1) {
        const x1 = from.x + W - 24;
        const x2 = to.x + 24;
        const over = PAD + lift * 0.1;
        d = `M${x1},${from.y} C${x1},${over} ${x2},${over} ${x2},${to.y - 1}`;
      } else {
        const x1 = from.x + W;
        const y1 = from.y + H / 2;
        const x2 = to.x;
        const y2 = to.y + H / 2;
        const mid = (x1 + x2) / 2;
        d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 1},${y2}`;
      }
      edges.appendChild(s("path", {
        d,
        class: `dag-edge status-${cssToken(statusOf(dep))}`, "marker-end": "url(#dag-arrow)",
        "data-testid": "dag-edge", "data-from": dep, "data-to": st.step,
      }));
    }
  }
  svg.appendChild(edges);

  for (const st of steps) {
    const p = pos.get(st.step);
    const status = statusOf(st.step);
    const select = () => onSelect && onSelect(st.step);
    const node = s("g", {
      class: `dag-node status-${cssToken(status)}`, transform: `translate(${p.x},${p.y})`,
      tabindex: 0, role: "button", "aria-label": `Step ${st.step}: ${st.action} (${status})`,
      "data-testid": `dag-node-${st.step}`, "data-step": st.step, "data-status": status,
      on: { click: select, keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(); } } },
    },
    s("title", null, `${st.step}. ${st.action} — ${status}`),
    s("rect", { width: W, height: H, rx: 8, ry: 8 }),
    s("text", { x: 12, y: 21, class: "dag-title" }, clip(`${st.step}. ${st.action}`, 25)),
    s("text", { x: 12, y: 41, class: "dag-sub" }, clip(status.replace(/_/g, " "), 28)));
    svg.appendChild(node);
  }
  return svg;
}
