// The console's shell: sign-in, the hash router and the top bar. Each page
// is a function (root, params) -> cleanup that the router calls on entry
// and whose cleanup it calls on leaving (stopping polls and streams).

import { h, replace } from "./dom.js";
import { api, ApiError, session, setUnauthorizedHandler } from "./api.js";
import { tasksPage } from "./tasks.js";
import { taskPage } from "./task.js";
import { armsPage, scanPage } from "./pages.js";

const app = document.getElementById("app");
const nav = document.getElementById("nav");
const whoami = document.getElementById("whoami");
const logout = document.getElementById("logout");

let leave = null;
let current = null;
// What the sign-in form says above itself (why the user is there).
let notice = null;
let afterLogin = "#/tasks";

function parse(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const parts = raw.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [page = "tasks", arg] = parts;
  return { page, arg };
}

function render() {
  if (leave) {
    try {
      leave();
    } catch (e) {
      console.error(e);
    }
    leave = null;
  }
  const { page, arg } = parse(location.hash);
  current = page;
  if (page !== "login" && !session.signedIn()) {
    afterLogin = location.hash && location.hash !== "#/login" ? location.hash : "#/tasks";
    location.replace("#/login");
    return;
  }
  const signedIn = session.signedIn() && page !== "login";
  nav.hidden = !signedIn;
  logout.hidden = !signedIn;
  whoami.textContent = signedIn ? (session.key() ? "API key in use" : "No API key") : "";
  for (const a of nav.querySelectorAll("a")) {
    const active = a.dataset.route === page || (page === "task" && a.dataset.route === "tasks");
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  app.dataset.page = page;
  replace(app);
  const root = h("div", { class: "page" });
  app.appendChild(root);
  const pages = {
    login: () => loginPage(root),
    tasks: () => (arg ? taskPage(root, arg) : tasksPage(root)),
    scan: () => scanPage(root),
    arms: () => armsPage(root),
  };
  const show = pages[page];
  if (!show) {
    root.appendChild(h("h1", null, "Not found"));
    root.appendChild(h("p", null, h("a", { href: "#/tasks" }, "Back to the tasks")));
    return;
  }
  document.title = `OctoLLM · ${page === "tasks" && arg ? "task" : page}`;
  leave = show() || null;
}

function loginPage(root) {
  const key = h("input", {
    id: "login-key", "data-testid": "login-key", type: "password", name: "key",
    autocomplete: "off", spellcheck: "false", placeholder: "API key (leave empty if the server has none)",
  });
  const message = h("div", { id: "login-message", "data-testid": "login-message", role: "alert", class: "notice", hidden: !notice },
    notice || "");
  notice = null;
  const button = h("button", { type: "submit", class: "button primary", id: "login-submit", "data-testid": "login-submit" }, "Sign in");
  const form = h("form", { class: "card login", id: "login-form", "data-testid": "login-form" },
    h("h1", null, "Sign in"),
    h("p", { class: "muted" },
      "Enter an API key of this orchestrator (one of OCTOLLM_API_KEYS). ",
      "It is kept in this browser tab only and forgotten when the tab closes."),
    message,
    h("label", { for: "login-key" }, "API key"),
    key,
    h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    message.hidden = true;
    session.set(key.value.trim());
    try {
      // Any authenticated call tells whether the key is good.
      await api("/api/v1/tasks?limit=1");
      const to = afterLogin;
      afterLogin = "#/tasks";
      if (location.hash === to) render();
      else location.hash = to;
    } catch (e) {
      session.clear();
      message.hidden = false;
      message.textContent = e instanceof ApiError && e.status === 401
        ? `The server did not accept this key (${e.message}).`
        : `Could not sign in: ${e.message}`;
      button.disabled = false;
      key.focus();
    }
  });
  root.appendChild(form);
  key.focus();
}

setUnauthorizedHandler((err) => {
  if (current === "login") return;
  notice = `The server refused the API key (401: ${err.message}). Sign in again.`;
  if (location.hash !== "#/login") {
    afterLogin = location.hash || "#/tasks";
    location.hash = "#/login";
  } else {
    render();
  }
});

logout.addEventListener("click", () => {
  session.clear();
  notice = "Signed out.";
  location.hash = "#/login";
});

window.addEventListener("hashchange", render);
if (!location.hash) history.replaceState(null, "", "#/tasks");
render();
