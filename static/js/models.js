// The Models page: drop or pick model files, upload them in resumable chunks with a progress bar
// each, follow their import into Ollama live, and manage the list of every model.

import { api } from "./api.js";
import { byId, confirmAction, h, showState } from "./dom.js";
import { formatBytes, formatDateTime, formatTimeLeft } from "./format.js";
import { ChunkedUpload, findResumable } from "./uploader.js";
import { statusFeed } from "./ws.js";

const els = {};
const uploads = []; // upload cards, in the order files were added
let models = [];
let queueRunning = false;
let reloadTimer = null;

const STATUS_LABELS = {
  uploading: "Uploading",
  uploaded: "Uploaded",
  importing: "Importing",
  ready: "Ready",
  failed: "Failed",
};

/** Import progress as a percentage; the server reports it as a fraction from 0 to 1. */
function percent(progress) {
  return Math.round(Math.max(0, Math.min(1, progress ?? 0)) * 100);
}

/** A model name Ollama accepts, made from a file name: "Llama-3 8B.Q4.gguf" → "llama-3-8b.q4". */
function nameFromFile(fileName) {
  const stem = fileName.replace(/\.(gguf|safetensors|bin|zip|tar\.gz|tgz|tar)$/i, "");
  const name = stem
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  return name || "model";
}

// ---- the upload queue ------------------------------------------------------------------------

class UploadCard {
  constructor(file) {
    this.file = file;
    this.upload = null;
    this.modelId = null;
    this.resuming = false;
    this.state = "staged";
    const nameId = `upload-name-${uploads.length}-${Date.now()}`;
    this.nameInput = h("input", {
      id: nameId,
      type: "text",
      value: nameFromFile(file.name),
      required: true,
      spellcheck: "false",
      autocomplete: "off",
    });
    this.progress = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    this.status = h("p", { class: "upload-status", "aria-live": "polite" }, "Ready to upload.");
    this.actions = h("div", { class: "upload-actions" });
    this.element = h(
      "li",
      { class: "upload", "data-state": "staged" },
      h(
        "div",
        { class: "upload-main" },
        h("label", { class: "field", for: nameId }, h("span", {}, "Model name"), this.nameInput),
        h(
          "p",
          { class: "upload-file" },
          h("strong", {}, file.name),
          ` · ${formatBytes(file.size)}`,
        ),
      ),
      this.progress,
      h("div", { class: "upload-foot" }, this.status, this.actions),
    );
    this.#render();
    this.#checkResumable();
  }

  async #checkResumable() {
    try {
      const session = await findResumable(this.file);
      if (!session || this.state !== "staged") return;
      const total = session.totalChunks;
      const have = session.received.size;
      this.nameInput.value = session.name ?? this.nameInput.value;
      this.resuming = true;
      this.nameInput.disabled = true;
      this.progress.value = total ? (have / total) * 100 : 0;
      this.status.textContent = `Resumes the earlier upload: ${have} of ${total} parts are already on the server.`;
    } catch {
      // Whether it can resume is asked again when the upload starts.
    }
  }

  setState(state, message) {
    this.state = state;
    this.element.dataset.state = state;
    if (message !== undefined) this.status.textContent = message;
    this.#render();
    updateUploadsHeader();
  }

  #render() {
    const button = (label, onclick, variant = "ghost") =>
      h(
        "button",
        { type: "button", class: `button button--${variant} button--small`, onclick },
        label,
      );
    const actions = {
      staged: [
        button("Upload", () => this.start(), "primary"),
        button("Remove", () => this.remove()),
      ],
      waiting: [button("Remove", () => this.remove())],
      uploading: [
        button("Pause", () => this.upload.pause()),
        button("Cancel", () => this.cancel()),
      ],
      paused: [
        button("Resume", () => this.start(), "primary"),
        button("Cancel", () => this.cancel()),
      ],
      importing: [],
      ready: [button("Dismiss", () => this.remove())],
      failed: [button("Dismiss", () => this.remove())],
    }[this.state];
    this.actions.replaceChildren(...actions);
    // The name is fixed once the server has it (an upload under way, or one that resumes).
    this.nameInput.disabled = this.resuming || !["staged", "waiting"].includes(this.state);
  }

  /** Queue this file; the queue uploads one file at a time. */
  start() {
    if (!this.nameInput.value.trim()) {
      this.nameInput.reportValidity();
      return;
    }
    this.setState("waiting", "Waiting for the uploads before it…");
    runQueue();
  }

  async run() {
    this.setState("uploading", "Starting…");
    this.resuming = true;
    this.upload = new ChunkedUpload(this.file, this.nameInput.value.trim());
    this.upload.addEventListener("progress", ({ detail }) => this.#onProgress(detail));
    try {
      this.modelId = await this.upload.run();
      this.progress.value = 100;
      this.setState("importing", "Uploaded. Importing into Ollama…");
      this.progress.removeAttribute("value");
      scheduleReload();
    } catch (error) {
      if (this.state !== "uploading") return; // cancelled: the card is gone
      if (error.name === "AbortError") {
        this.setState("paused", "Paused. The server keeps what it has; resume to send the rest.");
      } else if (error.status >= 400 && error.status < 500 && !this.upload.modelId) {
        // Refused at the start (a name already taken, say): fix it and try again.
        this.resuming = false;
        this.setState("staged", `Not started: ${error.message}`);
      } else if (error.status >= 400 && error.status < 500) {
        this.setState("failed", `Upload refused: ${error.message}`);
        scheduleReload();
      } else {
        this.setState("paused", `Upload interrupted: ${error.message} Resume to send the rest.`);
      }
    }
  }

  #onProgress({ sentBytes, totalBytes, bytesPerSecond, secondsLeft }) {
    const done = totalBytes ? (sentBytes / totalBytes) * 100 : 100;
    this.progress.value = done;
    const parts = [
      `${Math.floor(done)}%`,
      `${formatBytes(sentBytes)} of ${formatBytes(totalBytes)}`,
    ];
    if (bytesPerSecond > 0)
      parts.push(`${formatBytes(bytesPerSecond)}/s`, formatTimeLeft(secondsLeft));
    this.status.textContent = parts.join(" · ");
  }

  /** Follow the import of this card's model (from the WebSocket or the list). */
  onModel(model) {
    if (model.id !== this.modelId || !["importing", "ready", "failed"].includes(this.state)) return;
    if (model.status === "ready") {
      this.progress.value = 100;
      this.setState("ready", `Ready as ${model.name}.`);
    } else if (model.status === "failed") {
      this.setState("failed", `Import failed: ${model.error || "unknown error"}`);
    } else {
      this.progress.value = percent(model.progress);
      const note = model.statusMessage ? ` · ${model.statusMessage}` : "";
      this.setState("importing", `Importing ${percent(model.progress)}%${note}`);
    }
  }

  async cancel() {
    const upload = this.upload;
    this.remove();
    await upload?.cancel();
  }

  remove() {
    this.state = "removed";
    this.upload?.pause();
    uploads.splice(uploads.indexOf(this), 1);
    this.element.remove();
    updateUploadsHeader();
  }
}

async function runQueue() {
  if (queueRunning) return;
  queueRunning = true;
  try {
    for (;;) {
      const next = uploads.find((card) => card.state === "waiting");
      if (!next) break;
      await next.run();
    }
  } finally {
    queueRunning = false;
  }
}

/** Show the uploads section while it has cards, and "Upload all" while two or more wait. */
function updateUploadsHeader() {
  els.uploads.hidden = !uploads.length;
  els.uploadAll.hidden = uploads.filter((card) => card.state === "staged").length < 2;
}

function addFiles(files) {
  for (const file of files) {
    const card = new UploadCard(file);
    uploads.push(card);
    els.uploadList.append(card.element);
  }
  updateUploadsHeader();
}

// ---- the list of models ----------------------------------------------------------------------

function statusCell(model) {
  const cell = h(
    "td",
    { class: "model-status" },
    h(
      "span",
      { class: `badge badge--${model.status}` },
      STATUS_LABELS[model.status] ?? model.status,
    ),
  );
  if (model.status === "importing" || model.status === "uploading") {
    cell.append(
      h("progress", {
        max: 100,
        value: percent(model.progress),
        "aria-label": `Progress of ${model.name}`,
      }),
    );
  }
  // Ready models need no note; the others say what is happening or what went wrong.
  const note = { failed: model.error, ready: "" }[model.status] ?? model.statusMessage;
  if (note) {
    cell.append(
      h("span", { class: model.status === "failed" ? "model-error" : "model-note" }, note),
    );
  }
  return cell;
}

function modelRow(model) {
  const actions = h("td", { class: "row-actions" });
  if (model.status === "failed" && model.source === "uploaded") {
    actions.append(
      h(
        "button",
        {
          type: "button",
          class: "button button--secondary button--small",
          onclick: () => retryModel(model),
        },
        "Retry",
      ),
    );
  }
  actions.append(
    h(
      "button",
      {
        type: "button",
        class: "button button--ghost button--small button--danger-text",
        onclick: () => deleteModel(model),
        "aria-label": `Delete ${model.name}`,
      },
      "Delete",
    ),
  );
  const title = model.alias && model.alias !== model.name ? model.alias : null;
  return h(
    "tr",
    { "data-model-id": model.id },
    h(
      "td",
      { class: "model-name" },
      h("strong", {}, model.name),
      title ? h("span", { class: "model-alias" }, title) : null,
      model.createdAt ? h("span", { class: "model-date" }, formatDateTime(model.createdAt)) : null,
    ),
    h("td", { class: "hide-narrow" }, model.source === "uploaded" ? "Uploaded" : "Ollama"),
    h("td", { class: "num", "data-label": "Size" }, formatBytes(model.size)),
    h(
      "td",
      { class: "hide-narrow" },
      model.format && model.format !== "unknown" ? model.format.toUpperCase() : "—",
    ),
    statusCell(model),
    actions,
  );
}

function renderModels() {
  els.rows.replaceChildren(...models.map(modelRow));
  els.tableWrap.hidden = !models.length;
  showState(
    els.state,
    models.length ? "" : "No models yet. Drop a GGUF or safetensors file above.",
  );
}

async function loadModels() {
  if (!models.length) showState(els.state, "Loading models…", "loading");
  try {
    const data = await api("/v1/models");
    models = data.models ?? [];
    renderModels();
    for (const model of models) for (const card of uploads) card.onModel(model);
  } catch (error) {
    els.tableWrap.hidden = true;
    showState(els.state, `Could not load models: ${error.message}`, "error");
  }
}

/** Reload the list soon, once for a burst of changes; a hidden page reloads when shown. */
function scheduleReload() {
  if (els.page.hidden) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadModels, 250);
}

/** A `model.progress` event from the WebSocket, in the list's own field names. */
function onModelProgress({ id, name, status, progress, status_message, error }) {
  const update = { id, name, status, progress, statusMessage: status_message, error };
  for (const card of uploads) card.onModel(update);
  const index = models.findIndex((model) => model.id === update.id);
  if (index === -1 || update.status === "ready" || update.status !== models[index].status) {
    scheduleReload();
  }
  if (index !== -1) {
    models[index] = { ...models[index], ...update };
    els.rows
      .querySelector(`tr[data-model-id="${CSS.escape(update.id)}"]`)
      ?.replaceWith(modelRow(models[index]));
  }
}

async function retryModel(model) {
  try {
    await api(`/v1/models/${encodeURIComponent(model.id)}/retry`, { method: "POST" });
  } catch (error) {
    showState(els.state, `Could not retry ${model.name}: ${error.message}`, "error");
  }
  await loadModels();
}

async function deleteModel(model) {
  const confirmed = await confirmAction({
    title: `Delete ${model.name}?`,
    message:
      "The model is removed from Ollama and its uploaded files are deleted. This cannot be undone.",
  });
  if (!confirmed) return;
  try {
    await api(`/v1/models/${encodeURIComponent(model.id)}`, { method: "DELETE" });
  } catch (error) {
    showState(els.state, `Could not delete ${model.name}: ${error.message}`, "error");
    return;
  }
  await loadModels();
}

// ---- page ------------------------------------------------------------------------------------

export function init() {
  Object.assign(els, {
    page: byId("page-models"),
    zone: byId("upload-zone"),
    input: byId("upload-input"),
    uploads: byId("uploads"),
    uploadList: byId("upload-list"),
    uploadAll: byId("upload-all"),
    rows: byId("models-rows"),
    tableWrap: byId("models-table-wrap"),
    state: byId("models-state"),
  });
  const { zone, input } = els;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    zone.classList.add("is-dragging");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-dragging");
    addFiles(event.dataTransfer.files);
  });
  input.addEventListener("change", () => {
    addFiles(input.files);
    input.value = "";
  });
  els.uploadAll.addEventListener("click", () => {
    for (const card of uploads) if (card.state === "staged") card.start();
  });
  byId("models-refresh").addEventListener("click", loadModels);
  statusFeed.addEventListener("model.progress", (event) => onModelProgress(event.detail.model));
  statusFeed.addEventListener("connection", (event) => {
    if (event.detail.connected) scheduleReload(); // catch up on what happened while disconnected
  });
  // A file dropped outside the zone must not make the browser navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

export function show() {
  return loadModels();
}
