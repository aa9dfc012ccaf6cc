/* ShopGuide dashboard: a small single-page app over the REST API (hash routes, no build). */
"use strict";

const state = { key: localStorage.getItem("shopguide-key") || "" };

/* DOM helper: h("tr", {class: "x"}, child, "text", ...) - text is always set as text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const fmt = {
  money: v => v === null || v === undefined ? "–" :
    Number(v).toLocaleString("en", { maximumFractionDigits: 0 }),
  num: v => v === null || v === undefined ? "–" :
    Number(v).toLocaleString("en", { maximumFractionDigits: 2 }),
  pct: v => v === null || v === undefined ? "–" : (100 * v).toFixed(1) + " %",
  date: v => v ? String(v).slice(0, 10) : "–",
};

class ApiError extends Error {
  constructor(status, message, type) { super(message); this.status = status; this.type = type; }
}

/* Thrown when the user has moved on to another page: the answer is dropped, never drawn. */
class StaleError extends Error {}

async function api(path, options) {
  const res = await fetch(path, Object.assign({}, options, {
    headers: Object.assign({ "X-API-Key": state.key, "Content-Type": "application/json" },
                           (options || {}).headers || {}),
  }));
  if (res.status === 401) { showLogin("The key was refused (401)."); throw new ApiError(401, "key"); }
  if (!res.ok) {
    let detail = res.statusText, type;
    try { const body = await res.json(); type = body.type; detail = typeof body.detail === "string" ?
      body.detail : body.detail.map(d => `${d.field}: ${d.msg}`).join("; "); } catch (e) { /* */ }
    throw new ApiError(res.status, detail, type);
  }
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

function showLogin(message) {
  document.getElementById("login").hidden = false;
  document.getElementById("page").hidden = true;
  document.getElementById("login-error").textContent = message || "";
}

function page(...children) {
  const root = document.getElementById("page");
  root.hidden = false;
  document.getElementById("login").hidden = true;
  root.replaceChildren(...children);
  return root;
}

/* Run `promise` (a redraw a control started): an answer for a page the user has left is
   dropped quietly; any other failure is shown in `box`. */
function settle(promise, box) {
  return promise.catch(err => {
    if (err instanceof StaleError || err.name === "AbortError" || err.status === 401) return;
    box.replaceChildren(errorBox(err));
  });
}

function errorBox(err) {
  return h("p", { class: "error", "data-testid": "error" }, err.message || String(err));
}

function table(columns, rows, rowAttrs) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(c => h("th", { class: c.num ? "num" : "" }, c.label)))),
    h("tbody", {}, rows.map(r => h("tr", rowAttrs ? rowAttrs(r) : {},
      columns.map(c => h("td", { class: c.num ? "num" : "" }, c.render ? c.render(r) : r[c.key]))))));
}

const userLink = id => h("a", { href: `#/user/${encodeURIComponent(id)}` }, id);
const itemLink = (id, title) => h("a", { href: `#/item/${encodeURIComponent(id)}` }, title || id);

/* ------------------------------------------------------------------ routing */

/* Every page a `#/name/arg` hash can open: name -> async (arg, nav) (filled in by pages.js). */
const routes = {};

/* One visit to a page. Only the latest visit may draw: going elsewhere aborts the visit's
   requests, and an answer that arrives for an earlier visit is dropped (StaleError). */
let currentVisit = null;

class Visit {
  constructor() { this.controller = new AbortController(); }
  get live() { return currentVisit === this; }
  check() { if (!this.live) throw new StaleError("the user has moved on"); }
  async api(path, options) {
    const answer = await api(path, Object.assign({ signal: this.controller.signal }, options));
    this.check();
    return answer;
  }
  page(...children) { this.check(); return page(...children); }
}

async function route() {
  if (!state.key) return showLogin();
  // #/name/arg?key=value: the arg is one path part; the query (a date range, say) follows
  const [path, query] = (location.hash || "#/overview").split("?");
  const [, name, arg] = path.split("/");
  const known = routes[name] ? name : "overview";
  if (currentVisit) currentVisit.controller.abort();
  const visit = currentVisit = new Visit();
  visit.query = new URLSearchParams(query || "");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", a.dataset.page === known));
  document.body.dataset.page = "loading";
  try {
    await routes[known](arg ? decodeURIComponent(arg) : "", visit);
  } catch (err) {
    if (!visit.live) return;  // moved on: whatever this visit found no longer matters
    if (err.status !== 401) page(h("h1", {}, "Something went wrong"), errorBox(err));
  }
  if (visit.live) document.body.dataset.page = known;
}

async function showModel() {
  try {
    const health = await (await fetch("/health")).json();
    const shown = document.getElementById("model");
    // the fallback's name says why it is served; its version adds nothing
    shown.textContent = !health.model ? "no model published"
      : health.version === "fallback" ? `model ${health.model}`
      : `model ${health.model} ${health.version}`;
    shown.classList.toggle("warning", health.version === "fallback");
  } catch (e) { /* offline */ }
}

document.getElementById("login-form").addEventListener("submit", e => {
  e.preventDefault();
  state.key = document.getElementById("key").value.trim();
  localStorage.setItem("shopguide-key", state.key);
  route();
});
document.getElementById("logout").addEventListener("click", () => {
  localStorage.removeItem("shopguide-key"); state.key = ""; showLogin();
});
window.addEventListener("hashchange", route);
// after every script of the page has run (pages.js fills in the routes)
window.addEventListener("DOMContentLoaded", () => { showModel(); route(); });
