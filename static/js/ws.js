// The live feed from /ws/status: Ollama's state and model-import progress. One WebSocket for the
// whole page that reconnects by itself; pages listen for the event types they care about.

import { logout } from "./api.js";

const FIRST_RETRY_MS = 1000;
// The close code the server uses for a wrong token, like an HTTP 401.
const CLOSE_UNAUTHORIZED = 4401;
const MAX_RETRY_MS = 15000;

class StatusFeed extends EventTarget {
  #socket = null;
  #token = null;
  #retryMs = FIRST_RETRY_MS;
  #retryTimer = null;
  connected = false;

  /** Connect with `token` and keep the connection up until `stop()`. */
  start(token) {
    this.#token = token;
    this.#open();
  }

  stop() {
    this.#token = null;
    clearTimeout(this.#retryTimer);
    this.#socket?.close();
  }

  #open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws/status?token=${encodeURIComponent(this.#token)}`;
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#retryMs = FIRST_RETRY_MS;
      this.#setConnected(true);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event && typeof event.type === "string") {
        this.dispatchEvent(new CustomEvent(event.type, { detail: event }));
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.#socket !== socket) return;
      if (event.code === CLOSE_UNAUTHORIZED) {
        logout();
        return;
      }
      this.#setConnected(false);
      if (this.#token === null) return;
      this.#retryTimer = setTimeout(() => this.#open(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    });
  }

  #setConnected(connected) {
    this.connected = connected;
    this.dispatchEvent(new CustomEvent("connection", { detail: { connected } }));
  }
}

export const statusFeed = new StatusFeed();
