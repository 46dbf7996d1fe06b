// Small DOM helpers shared by the pages. Text always goes in as text nodes, never as HTML.

/**
 * Create an element: `h("button", { class: "button", onclick }, "Label", child)`.
 * Attributes starting with "on" become listeners; `false`/null attributes are left out.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(
    ...children.flat().filter((child) => child !== null && child !== undefined && child !== false),
  );
  return element;
}

export function byId(id) {
  return document.getElementById(id);
}

/**
 * Show a loading, empty or error message in a state paragraph (`kind`: "loading", "empty",
 * "error"), or hide it when `text` is empty.
 */
export function showState(element, text, kind = "empty") {
  element.hidden = !text;
  element.textContent = text || "";
  element.dataset.kind = kind;
}

/** Ask before something that cannot be undone; resolves true when the person confirms. */
export function confirmAction({ title, message, confirmLabel = "Delete" }) {
  const dialog = byId("confirm-dialog");
  byId("confirm-title").textContent = title;
  byId("confirm-message").textContent = message;
  byId("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  dialog.showModal();
  byId("confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
  });
}
