// Chunked, resumable uploads of model files through /v1/chunked-upload/*.
//
// The server keeps every chunk it received. The browser remembers which upload a file belongs to
// (by name, size and last-modified time, in localStorage), so when the same file is chosen again,
// after a network failure or a page reload, only the chunks the server lacks are sent.

import { ApiError, api } from "./api.js";

const SESSIONS_KEY = "premrunner.uploads";
const CHUNK_ATTEMPTS = 4; // a chunk is sent again after 0.3, 0.6 and 1.2 s
const RETRY_DELAY_MS = 300;
const SPEED_WINDOW_MS = 5000;

function fileKey(file) {
  return `${file.name}|${file.size}|${file.lastModified}`;
}

function savedSessions() {
  try {
    return JSON.parse(localStorage.getItem(SESSIONS_KEY)) ?? {};
  } catch {
    return {};
  }
}

function saveSession(file, session) {
  const sessions = savedSessions();
  if (session) sessions[fileKey(file)] = session;
  else delete sessions[fileKey(file)];
  localStorage.setItem(SESSIONS_KEY, JSON.stringify(sessions));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The upload the server still holds for `file`, with the chunks it already has, or null.
 * A session the server no longer knows is forgotten.
 */
export async function findResumable(file) {
  const session = savedSessions()[fileKey(file)];
  if (!session) return null;
  try {
    const state = await api(`/v1/chunked-upload/${encodeURIComponent(session.modelId)}`);
    return { ...session, ...state, received: new Set(state.receivedChunks ?? []) };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      saveSession(file, null);
      return null;
    }
    throw error;
  }
}

/**
 * One file's upload. Dispatches "progress" events with `{sentBytes, totalBytes, bytesPerSecond,
 * secondsLeft, resumedChunks}`; `run()` resolves with the model id once the server has the whole
 * file and has started importing it.
 */
export class ChunkedUpload extends EventTarget {
  constructor(file, modelName) {
    super();
    this.file = file;
    this.modelName = modelName;
    this.modelId = null;
    this.controller = null;
    this.samples = [];
  }

  async run() {
    try {
      return await this.#upload();
    } catch (error) {
      // The server refused the file (not a model, say) and dropped the upload: nothing to resume.
      if (error.status >= 400 && error.status < 500) saveSession(this.file, null);
      throw error;
    }
  }

  async #upload() {
    this.controller = new AbortController();
    const { file } = this;
    let session = await findResumable(file);
    if (!session) {
      const started = await api("/v1/chunked-upload/start", {
        method: "POST",
        json: { fileName: file.name, fileSize: file.size, modelName: this.modelName },
        signal: this.controller.signal,
      });
      session = { ...started, received: new Set() };
      saveSession(file, {
        modelId: started.modelId,
        chunkSize: started.chunkSize,
        totalChunks: started.totalChunks,
      });
    }
    this.modelId = session.modelId;
    const { chunkSize, totalChunks, received } = session;
    let sentBytes = 0;
    for (const index of received) sentBytes += this.#chunkBlob(index, chunkSize).size;
    this.samples = [[performance.now(), sentBytes]];
    this.#report(sentBytes, received.size);

    for (let index = 0; index < totalChunks; index += 1) {
      if (received.has(index)) continue;
      const blob = this.#chunkBlob(index, chunkSize);
      await this.#sendChunk(blob, index, totalChunks);
      sentBytes += blob.size;
      this.#report(sentBytes, received.size);
    }
    await api("/v1/chunked-upload/complete", {
      method: "POST",
      json: { modelId: this.modelId },
      signal: this.controller.signal,
    });
    saveSession(file, null);
    return this.modelId;
  }

  /** Stop sending; the server keeps what it has, so the upload can resume later. */
  pause() {
    this.controller?.abort();
  }

  /** Stop and discard the server's partial upload. */
  async cancel() {
    this.controller?.abort();
    saveSession(this.file, null);
    if (this.modelId) {
      await api(`/v1/chunked-upload/${encodeURIComponent(this.modelId)}`, {
        method: "DELETE",
      }).catch(() => {});
    }
  }

  #chunkBlob(index, chunkSize) {
    return this.file.slice(index * chunkSize, Math.min((index + 1) * chunkSize, this.file.size));
  }

  async #sendChunk(blob, index, totalChunks) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // A raw body, not a form: the server writes it straight into place without parsing.
        await api("/v1/chunked-upload/chunk", {
          method: "POST",
          query: { modelId: this.modelId, chunkIndex: index, totalChunks },
          headers: { "Content-Type": "application/octet-stream" },
          body: blob,
          signal: this.controller.signal,
        });
        return;
      } catch (error) {
        // A network failure or a server hiccup is retried; a refusal (4xx) is final.
        const retriable =
          error.name !== "AbortError" && !(error.status >= 400 && error.status < 500);
        if (!retriable || attempt >= CHUNK_ATTEMPTS) throw error;
        await sleep(RETRY_DELAY_MS * 2 ** (attempt - 1));
      }
    }
  }

  #report(sentBytes, resumedChunks) {
    const now = performance.now();
    this.samples.push([now, sentBytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS)
      this.samples.shift();
    const [firstTime, firstBytes] = this.samples[0];
    const seconds = (now - firstTime) / 1000;
    const bytesPerSecond = seconds > 0.05 ? (sentBytes - firstBytes) / seconds : 0;
    const left = this.file.size - sentBytes;
    this.dispatchEvent(
      new CustomEvent("progress", {
        detail: {
          sentBytes,
          totalBytes: this.file.size,
          bytesPerSecond,
          secondsLeft: bytesPerSecond > 0 ? left / bytesPerSecond : Infinity,
          resumedChunks,
        },
      }),
    );
  }
}
