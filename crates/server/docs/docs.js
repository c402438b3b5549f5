"use strict";
// Renders this service's /openapi.json for reading. Every value from the
// document goes into the page as text, never as markup.

(function () {
  const main = document.getElementById("operations");
  const toc = document.getElementById("toc");
  const METHODS = ["get", "post", "put", "patch", "delete", "head", "options"];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function refName(ref) {
    return ref.split("/").pop();
  }

  // One line per property, indented by depth; `seen` stops cycles.
  function describe(doc, schema, depth, seen, out, label) {
    const pad = "  ".repeat(depth);
    if (!schema || typeof schema !== "object") {
      out.push(pad + (label || "") + "any");
      return;
    }
    if (schema.$ref) {
      const name = refName(schema.$ref);
      if (seen.has(name) || depth > 6) {
        out.push(pad + (label || "") + name + " (see above)");
        return;
      }
      const target = ((doc.components || {}).schemas || {})[name];
      out.push(pad + (label || "") + name);
      const next = new Set(seen);
      next.add(name);
      describe(doc, target, depth + 1, next, out, "");
      return;
    }
    for (const key of ["oneOf", "anyOf", "allOf"]) {
      if (Array.isArray(schema[key])) {
        out.push(pad + (label || "") + key.replace("Of", " of") + ":");
        schema[key].forEach((s) => describe(doc, s, depth + 1, seen, out, "- "));
        return;
      }
    }
    let type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || "any";
    if (schema.enum) type += " (" + schema.enum.map((v) => JSON.stringify(v)).join(", ") + ")";
    if (schema.format) type += " <" + schema.format + ">";
    const note = schema.description ? "  — " + schema.description.split("\n")[0] : "";
    if (schema.properties) {
      if (label) out.push(pad + label + "object" + note);
      const required = new Set(schema.required || []);
      for (const [name, prop] of Object.entries(schema.properties)) {
        describe(doc, prop, label ? depth + 1 : depth, seen, out, name + (required.has(name) ? "*" : "") + ": ");
      }
      return;
    }
    if (schema.items) {
      out.push(pad + (label || "") + "array of" + note);
      describe(doc, schema.items, depth + 1, seen, out, "");
      return;
    }
    out.push(pad + (label || "") + type + note);
  }

  function schemaBlock(doc, schema) {
    const lines = [];
    describe(doc, schema, 0, new Set(), lines, "");
    return el("pre", "schema", lines.join("\n"));
  }

  function contentBlocks(doc, content) {
    const box = el("div");
    for (const [type, media] of Object.entries(content || {})) {
      box.appendChild(el("div", "media", type));
      if (media.schema) box.appendChild(schemaBlock(doc, media.schema));
    }
    return box;
  }

  function operation(doc, path, method, op) {
    const id = "op-" + method + "-" + path.replace(/[^a-zA-Z0-9]+/g, "-");
    const sec = el("section", "op");
    sec.id = id;
    const head = el("h3");
    head.appendChild(el("span", "method " + method, method.toUpperCase()));
    head.appendChild(el("code", "path", path));
    if (op.deprecated) head.appendChild(el("span", "deprecated", "deprecated"));
    sec.appendChild(head);
    if (op.summary) sec.appendChild(el("p", "summary", op.summary));
    if (op.description && op.description !== op.summary) sec.appendChild(el("p", "desc", op.description));
    if (op.parameters && op.parameters.length) {
      sec.appendChild(el("h4", null, "Parameters"));
      const table = el("table");
      for (const p of op.parameters) {
        const row = el("tr");
        row.appendChild(el("td", null, p.name + (p.required ? "*" : "")));
        row.appendChild(el("td", null, p.in));
        const lines = [];
        describe(doc, p.schema, 0, new Set(), lines, "");
        row.appendChild(el("td", null, lines.join(" ")));
        row.appendChild(el("td", null, p.description || ""));
        table.appendChild(row);
      }
      sec.appendChild(table);
    }
    if (op.requestBody) {
      sec.appendChild(el("h4", null, "Request body" + (op.requestBody.required ? "" : " (optional)")));
      sec.appendChild(contentBlocks(doc, op.requestBody.content));
    }
    sec.appendChild(el("h4", null, "Responses"));
    for (const [status, resp] of Object.entries(op.responses || {})) {
      const r = el("div", "response");
      r.appendChild(el("span", "status", status));
      r.appendChild(el("span", null, " " + (resp.description || "")));
      r.appendChild(contentBlocks(doc, resp.content));
      sec.appendChild(r);
    }
    return sec;
  }

  function render(doc) {
    const info = doc.info || {};
    document.title = (info.title || "API") + " — API reference";
    document.getElementById("title").textContent = (info.title || "API") + " " + (info.version || "");
    document.getElementById("summary").textContent = info.description || "";
    main.textContent = "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, method, op]);
      }
    }
    for (const [tag, ops] of byTag) {
      main.appendChild(el("h2", null, tag));
      const list = el("ul");
      for (const [path, method, op] of ops) {
        main.appendChild(operation(doc, path, method, op));
        const li = el("li");
        const a = el("a", null, method.toUpperCase() + " " + path);
        a.href = "#op-" + method + "-" + path.replace(/[^a-zA-Z0-9]+/g, "-");
        li.appendChild(a);
        list.appendChild(li);
      }
      toc.appendChild(el("h4", null, tag));
      toc.appendChild(list);
    }
  }

  fetch("/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error("GET /openapi.json answered " + r.status);
      return r.json();
    })
    .then(render)
    .catch((e) => {
      main.textContent = "";
      main.appendChild(el("p", "error", "Could not load the document: " + e.message));
    });
})();
