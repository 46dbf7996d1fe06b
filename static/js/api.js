// Every call the web UI makes to PremRunner's API: the token from localStorage, readable
// errors from the `{"error": {"message"}}` shape, and sign-out on any 401.

const TOKEN_KEY = "authToken";

export class ApiError extends Error {
  constructor(message, { status = 0, code = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

let signingOut = false;

/** Forget the token and start over at the sign-in dialog. */
export function logout() {
  if (signingOut) return;
  signingOut = true;
  localStorage.removeItem(TOKEN_KEY);
  location.reload();
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`.trim();
  let code = null;
  try {
    const body = await response.json();
    if (body?.error?.message) {
      message = body.error.message;
      code = body.error.code ?? null;
    }
  } catch {
    // Not JSON (a proxy's page, say): the status line is the best message there is.
  }
  return new ApiError(message, { status: response.status, code });
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Send one request with the token and return the Response when it is a success.
 * Throws ApiError (with the server's message) otherwise; a 401 also signs out.
 * An aborted request rethrows the AbortError untouched so callers can tell "stopped" apart.
 */
export async function send(path, { method = "GET", json, body, query, headers = {}, signal } = {}) {
  const init = { method, signal, headers: { Authorization: `Bearer ${getToken()}`, ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach PremRunner; check the connection and try again.");
  }
  if (response.status === 401) {
    logout();
    throw new ApiError("The access token is no longer valid.", { status: 401 });
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** `send` for JSON answers: the parsed body, or null when there is none. */
export async function api(path, options) {
  const response = await send(path, options);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function parseEventBlock(block) {
  const data = block
    .split("\n")
    .filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
    .join("\n");
  if (!data || data === "[DONE]") return null;
  return JSON.parse(data);
}

/**
 * POST `json` to an SSE endpoint and yield each `data:` payload, parsed, as it arrives.
 * Aborting `signal` cancels the request, which makes the server stop generating.
 */
export async function* streamEvents(path, { json, signal }) {
  const response = await send(path, {
    method: "POST",
    json,
    signal,
    headers: { Accept: "text/event-stream" },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let boundary = buffer.indexOf("\n\n");
      while (boundary !== -1) {
        const event = parseEventBlock(buffer.slice(0, boundary));
        buffer = buffer.slice(boundary + 2);
        if (event) yield event;
        boundary = buffer.indexOf("\n\n");
      }
    }
    const last = parseEventBlock(buffer);
    if (last) yield last;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** True when the server accepts `token`, false when it refuses it; throws when unreachable. */
export async function verifyToken(token) {
  let response;
  try {
    response = await fetch("/api/auth/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
  } catch {
    throw new ApiError("Cannot reach PremRunner; check the connection and try again.");
  }
  if (response.ok) return true;
  if (response.status === 401) return false;
  throw await errorFrom(response);
}
