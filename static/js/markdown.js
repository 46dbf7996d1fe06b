// A small Markdown renderer for model answers that builds DOM nodes directly. Every piece of the
// model's text becomes a text node, so an answer can never inject HTML or script, whatever it says.
// It covers what chat answers use: fenced code, inline code, headings, lists, quotes, rules,
// emphasis and links (http, https and mailto only). An unclosed fence, as seen while the answer is
// still streaming, renders as a code block up to the end.

import { h } from "./dom.js";

const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);

const INLINE = new RegExp(
  [
    /(?<code>`+)(?<codeText>[\s\S]*?[^`])\k<code>(?!`)/.source,
    /\*\*(?<strong>\S[\s\S]*?)\*\*/.source,
    /(?<![\w*])\*(?<em>[^\s*][^*]*?)\*(?!\w)/.source,
    /(?<![\w_])_(?<em2>[^\s_][^_]*?)_(?!\w)/.source,
    /~~(?<del>\S[\s\S]*?)~~/.source,
    /\[(?<linkText>[^\]\n]+)\]\((?<href>[^)\s]+)\)/.source,
  ].join("|"),
  "g",
);

function safeHref(href) {
  try {
    const url = new URL(href, location.href);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** Inline Markdown of one block's text, as an array of nodes. */
function inline(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    const g = match.groups;
    if (g.code !== undefined) {
      nodes.push(h("code", {}, g.codeText.replace(/^ (.+) $/, "$1")));
    } else if (g.strong !== undefined) {
      nodes.push(h("strong", {}, inline(g.strong)));
    } else if (g.em !== undefined || g.em2 !== undefined) {
      nodes.push(h("em", {}, inline(g.em ?? g.em2)));
    } else if (g.del !== undefined) {
      nodes.push(h("del", {}, inline(g.del)));
    } else {
      const href = safeHref(g.href);
      nodes.push(
        href
          ? h(
              "a",
              { href, target: "_blank", rel: "noopener noreferrer nofollow" },
              inline(g.linkText),
            )
          : match[0],
      );
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/** Text lines of a paragraph, with the line breaks the model wrote kept. */
function lines(textLines) {
  return textLines.flatMap((line, index) => (index ? [h("br"), ...inline(line)] : inline(line)));
}

function codeBlock(language, code) {
  const copy = h("button", { type: "button", class: "code-copy" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => {
      copy.textContent = "Copy";
    }, 1500);
  });
  return h(
    "div",
    { class: "code-block" },
    h("div", { class: "code-head" }, h("span", {}, language || "code"), copy),
    h("pre", {}, h("code", { "data-language": language || null }, code)),
  );
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)[-*+]\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;

function isBlockStart(line) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    BULLET.test(line) ||
    ORDERED.test(line) ||
    QUOTE.test(line)
  );
}

function list(allLines, start, ordered) {
  const pattern = ordered ? ORDERED : BULLET;
  const first = allLines[start].match(pattern);
  const element = h(ordered ? "ol" : "ul");
  if (ordered && first[2] !== "1") element.start = Number(first[2]);
  let index = start;
  let item = null;
  while (index < allLines.length) {
    const line = allLines[index];
    const match = line.match(pattern);
    if (match) {
      item = h("li", {}, inline(ordered ? match[3] : match[2]));
      element.append(item);
    } else if (line.trim() && /^\s+/.test(line) && item) {
      item.append(h("br"), ...inline(line.trim()));
    } else {
      break;
    }
    index += 1;
  }
  return [element, index];
}

/** Render `text` (Markdown) into a DocumentFragment of safe nodes. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  const allLines = String(text ?? "")
    .replace(/\r\n?/g, "\n")
    .split("\n");
  let index = 0;
  while (index < allLines.length) {
    const line = allLines[index];
    const fence = line.match(FENCE);
    if (fence) {
      const closing = new RegExp(`^ {0,3}${fence[1][0]}{${fence[1].length},}\\s*$`);
      const body = [];
      index += 1;
      while (index < allLines.length && !closing.test(allLines[index])) {
        body.push(allLines[index]);
        index += 1;
      }
      index += 1;
      fragment.append(codeBlock(fence[2], body.join("\n")));
      continue;
    }
    if (!line.trim()) {
      index += 1;
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      fragment.append(h(`h${Math.min(heading[1].length + 2, 6)}`, {}, inline(heading[2])));
      index += 1;
      continue;
    }
    if (RULE.test(line)) {
      fragment.append(h("hr"));
      index += 1;
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      const [element, next] = list(allLines, index, ORDERED.test(line));
      fragment.append(element);
      index = next;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (index < allLines.length && QUOTE.test(allLines[index])) {
        quoted.push(allLines[index].match(QUOTE)[1]);
        index += 1;
      }
      fragment.append(h("blockquote", {}, renderMarkdown(quoted.join("\n"))));
      continue;
    }
    const paragraph = [];
    while (index < allLines.length && allLines[index].trim() && !isBlockStart(allLines[index])) {
      paragraph.push(allLines[index]);
      index += 1;
    }
    fragment.append(h("p", {}, lines(paragraph)));
  }
  return fragment;
}
