// The web UI's entry point: sign-in with the access token, the hash router (#/chat, #/models,
// #/traces), the sidebar with its live Ollama status light, and logout.

import { getToken, logout, setToken, verifyToken } from "./api.js";
import * as chat from "./chat.js";
import { byId } from "./dom.js";
import * as models from "./models.js";
import * as traces from "./traces.js";
import { statusFeed } from "./ws.js";

const pages = { chat, models, traces };
const DEFAULT_PAGE = "chat";

const STATUS_TEXT = {
  running: "running",
  starting: "starting…",
  stopped: "stopped",
  not_installed: "not installed",
  unreachable: "unreachable",
};

// ---- routing ---------------------------------------------------------------------------------

function parseHash() {
  const [name, ...params] = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  return pages[name]
    ? { name, params: params.map(decodeURIComponent) }
    : { name: DEFAULT_PAGE, params: [] };
}

let currentPage = null;

function route() {
  // An in-page anchor (the skip link's #main) is not a route: stay on the current page.
  if (currentPage && location.hash && !location.hash.startsWith("#/")) return;
  const { name, params } = parseHash();
  for (const section of document.querySelectorAll(".page"))
    section.hidden = section.dataset.page !== name;
  for (const link of document.querySelectorAll(".nav a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · PremRunner`;
  setMenuOpen(false);
  if (currentPage !== name) {
    currentPage = name;
    byId("main").scrollTop = 0;
  }
  pages[name].show(params);
}

// ---- sidebar ---------------------------------------------------------------------------------

function setMenuOpen(open) {
  byId("app").classList.toggle("menu-open", open);
  byId("nav-toggle").setAttribute("aria-expanded", String(open));
}

function showOllamaStatus(status) {
  const box = byId("ollama-status");
  box.dataset.status = status.status;
  byId("ollama-status-text").textContent = STATUS_TEXT[status.status] ?? status.status;
  const loaded = status.models_loaded ?? [];
  const details = [];
  if (status.version) details.push(`v${status.version}`);
  if (status.status === "running") details.push(`${loaded.length} loaded`);
  byId("ollama-status-detail").textContent = details.join(" · ");
  // The full story (its address, the models in memory, why it is down) on hover.
  box.title = [
    `Ollama at ${status.host}`,
    loaded.length ? `In memory: ${loaded.join(", ")}` : "",
    status.message ?? "",
  ]
    .filter(Boolean)
    .join("\n");
}

function watchOllama() {
  statusFeed.addEventListener("ollama.status", (event) => showOllamaStatus(event.detail.status));
  statusFeed.addEventListener("connection", ({ detail }) => {
    if (detail.connected) return;
    byId("ollama-status").dataset.status = "connecting";
    byId("ollama-status-text").textContent = "reconnecting…";
    byId("ollama-status-detail").textContent = "";
  });
  statusFeed.start(getToken());
}

// ---- sign-in ---------------------------------------------------------------------------------

/** Resolve once a token the server accepts is stored, asking for one when needed. */
async function signIn() {
  const stored = getToken();
  if (stored) {
    try {
      if (await verifyToken(stored)) return;
    } catch {
      // The server is unreachable: ask anyway, the dialog says why when the person submits.
    }
  }
  const dialog = byId("auth-dialog");
  const form = byId("auth-form");
  const input = byId("auth-token");
  const error = byId("auth-error");
  const submit = byId("auth-submit");
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
  dialog.showModal();
  input.focus();
  await new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      submit.disabled = true;
      error.hidden = true;
      try {
        if (await verifyToken(token)) {
          setToken(token);
          dialog.close();
          resolve();
          return;
        }
        error.textContent = "That token is not right. Check the server's AUTH_TOKEN.";
      } catch (problem) {
        error.textContent = problem.message;
      } finally {
        submit.disabled = false;
      }
      error.hidden = false;
      input.select();
    });
  });
}

async function start() {
  await signIn();
  byId("app").dataset.signedIn = "true";
  for (const page of Object.values(pages)) page.init();
  byId("logout").addEventListener("click", () => {
    statusFeed.stop();
    logout();
  });
  byId("nav-toggle").addEventListener("click", () => {
    setMenuOpen(!byId("app").classList.contains("menu-open"));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setMenuOpen(false);
  });
  watchOllama();
  window.addEventListener("hashchange", route);
  route();
}

start();
