// The Chat page: pick a ready model, stream answers token by token, stop them, and keep
// conversations (new, switch, delete) whose history is reloaded from the server.

import { ApiError, api, streamEvents } from "./api.js";
import { byId, confirmAction, h, showState } from "./dom.js";
import { formatNumber, formatShortTime } from "./format.js";
import { renderMarkdown } from "./markdown.js";
import { statusFeed } from "./ws.js";

const MODEL_KEY = "premrunner.chatModel";

const els = {};
let conversationId = null;
let conversations = [];
let running = null; // the AbortController of the answer being streamed

function setHashQuietly(hash) {
  // replaceState changes the address without a hashchange, so the router does not reload the page.
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

// ---- models ----------------------------------------------------------------------------------

async function loadModels() {
  const select = els.model;
  try {
    const data = await api("/v1/models");
    const ready = (data.models ?? []).filter((model) => model.status === "ready");
    const wanted = select.value || localStorage.getItem(MODEL_KEY);
    select.replaceChildren(
      ...ready.map((model) =>
        h(
          "option",
          { value: model.name },
          model.alias && model.alias !== model.name ? `${model.alias} (${model.name})` : model.name,
        ),
      ),
    );
    if (!ready.length) {
      select.append(h("option", { value: "" }, "No ready models — upload one in Models"));
    } else if (ready.some((model) => model.name === wanted)) {
      select.value = wanted;
    }
    select.disabled = !ready.length;
  } catch (error) {
    select.replaceChildren(h("option", { value: "" }, `Models unavailable: ${error.message}`));
    select.disabled = true;
  }
}

// ---- conversations ---------------------------------------------------------------------------

function renderConversations() {
  els.conversations.replaceChildren(
    ...conversations.map((conversation) => {
      const current = conversation.id === conversationId;
      return h(
        "li",
        { class: current ? "conversation is-current" : "conversation" },
        h(
          "button",
          {
            type: "button",
            class: "conversation-open",
            "aria-current": current ? "true" : null,
            onclick: () => {
              location.hash = `#/chat/${conversation.id}`;
              showDrawer(false);
            },
          },
          h("span", { class: "conversation-title" }, conversation.title || "Untitled"),
          h(
            "span",
            { class: "conversation-meta" },
            [conversation.model, formatShortTime(conversation.updatedAt)]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
        h(
          "button",
          {
            type: "button",
            class: "icon-button conversation-delete",
            title: "Delete conversation",
            "aria-label": `Delete conversation “${conversation.title || "Untitled"}”`,
            onclick: () => deleteConversation(conversation),
          },
          "×",
        ),
      );
    }),
  );
  showState(els.conversationsState, conversations.length ? "" : "No conversations yet.");
}

async function loadConversations() {
  try {
    const data = await api("/api/chat/conversations");
    conversations = data.conversations ?? [];
    renderConversations();
  } catch (error) {
    showState(els.conversationsState, `Could not load conversations: ${error.message}`, "error");
  }
}

async function deleteConversation(conversation) {
  const confirmed = await confirmAction({
    title: "Delete this conversation?",
    message: `“${conversation.title || "Untitled"}” and all its messages will be deleted.`,
  });
  if (!confirmed) return;
  try {
    await api(`/api/chat/conversations/${encodeURIComponent(conversation.id)}`, {
      method: "DELETE",
    });
  } catch (error) {
    showState(els.conversationsState, `Could not delete: ${error.message}`, "error");
    return;
  }
  if (conversation.id === conversationId) startNewConversation();
  await loadConversations();
}

/** On narrow screens the conversations are a drawer over the chat. */
function showDrawer(open) {
  els.page.classList.toggle("show-conversations", open);
  els.drawerToggle.setAttribute("aria-expanded", String(open));
  if (open) els.page.querySelector(".conversations button")?.focus();
}

function startNewConversation() {
  showDrawer(false);
  running?.abort();
  conversationId = null;
  els.thread.replaceChildren(els.empty);
  setHashQuietly("#/chat");
  renderConversations();
  els.input.focus();
}

async function openConversation(id) {
  running?.abort();
  conversationId = id;
  renderConversations();
  els.thread.replaceChildren(
    h("p", { class: "state", "data-kind": "loading" }, "Loading messages…"),
  );
  try {
    const data = await api("/api/chat/history", { query: { conversationId: id } });
    const messages = (data.messages ?? []).filter((message) => message.role !== "system");
    els.thread.replaceChildren(...messages.map((message) => messageView(message)));
    if (!messages.length) els.thread.replaceChildren(els.empty);
    const conversation = conversations.find((item) => item.id === id);
    if (conversation?.model) selectModel(conversation.model);
    scrollToEnd(true);
  } catch (error) {
    const message =
      error instanceof ApiError && error.status === 404
        ? "This conversation no longer exists."
        : `Could not load this conversation: ${error.message}`;
    els.thread.replaceChildren(h("p", { class: "state", "data-kind": "error" }, message));
    conversationId = null;
  }
}

function selectModel(name) {
  if ([...els.model.options].some((option) => option.value === name)) els.model.value = name;
}

// ---- messages --------------------------------------------------------------------------------

function messageView({ role, content, model, error }) {
  const body = h("div", { class: role === "user" ? "message-body" : "message-body markdown" });
  if (role === "user") body.textContent = content;
  else body.append(renderMarkdown(content));
  const view = h(
    "article",
    { class: `message message--${role}` },
    h("header", { class: "message-head" }, role === "user" ? "You" : model || "Assistant"),
    body,
  );
  if (error) view.append(errorNote(error));
  return view;
}

function errorNote(text) {
  return h("p", { class: "message-error", role: "alert" }, text);
}

function scrollToEnd(force = false) {
  const thread = els.thread;
  const nearEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
  if (force || nearEnd) thread.scrollTop = thread.scrollHeight;
}

function setRunning(controller) {
  running = controller;
  els.send.hidden = Boolean(controller);
  els.stop.hidden = !controller;
  els.page.classList.toggle("is-streaming", Boolean(controller));
  if (controller) els.stop.focus();
}

function chatOptions() {
  const options = {};
  const system = els.system.value.trim();
  if (system) options.system = system;
  if (els.temperature.value !== "") options.temperature = Number(els.temperature.value);
  if (els.maxTokens.value !== "") options.max_tokens = Number(els.maxTokens.value);
  return options;
}

/** Send the composer's text and stream the answer into a new assistant message. */
async function sendMessage() {
  const text = els.input.value.trim();
  const model = els.model.value;
  if (!text || running) return;
  if (!model) {
    els.thread.append(errorNote("Choose a ready model first (upload one on the Models page)."));
    scrollToEnd(true);
    return;
  }
  localStorage.setItem(MODEL_KEY, model);
  els.empty.remove();
  els.input.value = "";
  autoSize();
  els.thread.append(messageView({ role: "user", content: text }));

  const body = h(
    "div",
    { class: "message-body markdown" },
    h("span", { class: "typing" }, "Thinking…"),
  );
  const foot = h("footer", { class: "message-foot" });
  const answer = h(
    "article",
    { class: "message message--assistant is-streaming", "aria-busy": "true" },
    h("header", { class: "message-head" }, model),
    body,
    foot,
  );
  els.thread.append(answer);
  scrollToEnd(true);

  let content = "";
  let frame = 0;
  const render = () => {
    frame = 0;
    body.replaceChildren(renderMarkdown(content));
    scrollToEnd();
  };
  const controller = new AbortController();
  setRunning(controller);
  const request = { message: text, model, ...chatOptions() };
  if (conversationId) request.conversationId = conversationId;
  try {
    for await (const event of streamEvents("/api/chat/stream", {
      json: request,
      signal: controller.signal,
    })) {
      if (event.type === "start") {
        conversationId = event.conversationId;
        setHashQuietly(`#/chat/${conversationId}`);
      } else if (event.type === "token") {
        content += event.content;
        frame ||= requestAnimationFrame(render);
      } else if (event.type === "done") {
        content = event.message?.content ?? content;
        foot.textContent = usageText(event.usage);
      } else if (event.type === "error") {
        answer.append(errorNote(event.message || "The model failed to answer."));
      }
    }
  } catch (error) {
    if (error.name === "AbortError") {
      foot.textContent = "Stopped.";
      answer.classList.add("is-stopped");
    } else {
      answer.append(errorNote(error.message));
    }
  } finally {
    cancelAnimationFrame(frame);
    if (content) render();
    else body.replaceChildren();
    answer.classList.remove("is-streaming");
    answer.removeAttribute("aria-busy");
    if (running === controller) setRunning(null);
    els.input.focus();
    loadConversations();
  }
}

function usageText(usage) {
  if (!usage) return "";
  const answer = formatNumber(usage.completion_tokens);
  return `${answer} tokens · ${formatNumber(usage.prompt_tokens)} in the prompt`;
}

function autoSize() {
  els.input.style.height = "auto";
  els.input.style.height = `${Math.min(els.input.scrollHeight, 240)}px`;
}

// ---- page ------------------------------------------------------------------------------------

export function init() {
  Object.assign(els, {
    page: byId("page-chat"),
    model: byId("chat-model"),
    conversations: byId("chat-conversations"),
    conversationsState: byId("chat-conversations-state"),
    thread: byId("chat-thread"),
    empty: byId("chat-empty"),
    input: byId("chat-input"),
    send: byId("chat-send"),
    stop: byId("chat-stop"),
    system: byId("chat-system"),
    temperature: byId("chat-temperature"),
    maxTokens: byId("chat-max-tokens"),
    drawerToggle: byId("chat-conversations-toggle"),
  });
  byId("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  els.input.addEventListener("input", autoSize);
  els.stop.addEventListener("click", () => running?.abort());
  byId("chat-new").addEventListener("click", startNewConversation);
  els.drawerToggle.addEventListener("click", () => showDrawer(true));
  byId("chat-conversations-close").addEventListener("click", () => {
    showDrawer(false);
    els.drawerToggle.focus();
  });
  els.page.addEventListener("click", (event) => {
    // A tap beside the open drawer closes it, as on any phone app.
    const drawerOpen = els.page.classList.contains("show-conversations");
    if (drawerOpen && !event.target.closest(".conversations, #chat-conversations-toggle")) {
      showDrawer(false);
    }
  });
  els.page.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && els.page.classList.contains("show-conversations")) {
      showDrawer(false);
      els.drawerToggle.focus();
    }
  });
  statusFeed.addEventListener("model.progress", (event) => {
    const status = event.detail.model?.status;
    if (status === "ready" || status === "failed") loadModels();
  });
}

/** Called by the router each time the page is shown; `params[0]` is a conversation id. */
export async function show([id] = []) {
  await Promise.all([loadModels(), loadConversations()]);
  if (id && id !== conversationId) await openConversation(id);
  else if (conversationId) setHashQuietly(`#/chat/${conversationId}`);
}
