// The Traces page: a chart of use over time, a filtered and paginated table of calls, and the
// detail of one call (its input and output) in a dialog at #/traces/<id>.

import { api } from "./api.js";
import { drawChart } from "./chart.js";
import { byId, h, showState } from "./dom.js";
import { formatDateTime, formatDuration, formatNumber } from "./format.js";

const PAGE_SIZE = 20;
const RANGES = {
  "24h": { bucket: "hour", hours: 24 },
  "7d": { bucket: "hour", hours: 24 * 7 },
  "30d": { bucket: "day", hours: 24 * 30 },
};

const els = {};
let page = 1;
let filters = {};
let lastStats = null;

// ---- chart -----------------------------------------------------------------------------------

async function loadChart() {
  const range = RANGES[els.range.value];
  const since = new Date(Date.now() - range.hours * 3600 * 1000).toISOString();
  try {
    const data = await api("/v1/traces/stats", { query: { bucket: range.bucket, since } });
    lastStats = { buckets: data.buckets ?? [], bucket: range.bucket };
    renderChart();
  } catch (error) {
    lastStats = null;
    els.chart.replaceChildren();
    showState(els.chartState, `Could not load the chart: ${error.message}`, "error");
  }
}

function renderChart() {
  if (!lastStats) return;
  const { buckets, bucket } = lastStats;
  const requests = buckets.reduce((sum, item) => sum + item.requests, 0);
  const tokens = buckets.reduce((sum, item) => sum + item.tokens, 0);
  const errors = buckets.reduce((sum, item) => sum + item.errors, 0);
  drawChart(els.chart, buckets, { bucket });
  const totals = [
    `${formatNumber(requests)} requests`,
    `${formatNumber(tokens)} tokens`,
    `${formatNumber(errors)} errors`,
  ];
  els.chart.setAttribute("aria-label", `${totals.join(", ")} in this period`);
  showState(els.chartState, requests ? "" : "No requests in this period yet.");
}

// ---- table -----------------------------------------------------------------------------------

function statusBadge(status) {
  return h("span", { class: `badge badge--${status}` }, status);
}

function traceRow(trace) {
  const open = () => {
    location.hash = `#/traces/${trace.id}`;
  };
  return h(
    "tr",
    { class: "is-clickable", "data-trace-id": trace.id, onclick: open },
    h(
      "td",
      { class: "cell-time" },
      h(
        "a",
        { href: `#/traces/${trace.id}`, class: "trace-link" },
        formatDateTime(trace.createdAt),
      ),
    ),
    h("td", { class: "cell-model" }, trace.model),
    h("td", { class: "mono hide-narrow" }, trace.endpoint),
    h(
      "td",
      {
        class: "num",
        "data-label": "Tokens",
        title: `${formatNumber(trace.promptTokens)} in, ${formatNumber(trace.completionTokens)} out`,
      },
      formatNumber(trace.totalTokens),
    ),
    h("td", { class: "num", "data-label": "Duration" }, formatDuration(trace.duration)),
    h("td", { class: "num", "data-label": "TTFT" }, formatDuration(trace.ttft)),
    h("td", { class: "cell-status" }, statusBadge(trace.status)),
  );
}

async function loadTraces() {
  showState(els.state, "Loading traces…", "loading");
  try {
    const data = await api("/v1/traces", { query: { ...filters, page, limit: PAGE_SIZE } });
    const traces = data.traces ?? [];
    els.rows.replaceChildren(...traces.map(traceRow));
    els.tableWrap.hidden = !traces.length;
    const filtered = Object.values(filters).some(Boolean);
    showState(
      els.state,
      traces.length
        ? ""
        : filtered
          ? "No traces match these filters."
          : "No traces yet. Every chat or API call will appear here.",
    );
    els.pagination.hidden = data.pages <= 1;
    const pages = Math.max(data.pages, 1);
    els.pageInfo.textContent = `Page ${data.page} of ${pages} · ${formatNumber(data.total)} traces`;
    els.prev.disabled = data.page <= 1;
    els.next.disabled = data.page >= data.pages;
    updateModelOptions(traces);
  } catch (error) {
    els.tableWrap.hidden = true;
    els.pagination.hidden = true;
    showState(els.state, `Could not load traces: ${error.message}`, "error");
  }
}

function updateModelOptions(traces) {
  const known = new Set([...els.modelOptions.options].map((option) => option.value));
  for (const trace of traces) {
    if (!known.has(trace.model)) {
      known.add(trace.model);
      els.modelOptions.append(h("option", { value: trace.model }));
    }
  }
}

function readFilters() {
  const when = (input) => (input.value ? new Date(input.value).toISOString() : "");
  return {
    model: els.model.value.trim(),
    status: els.status.value,
    since: when(els.since),
    until: when(els.until),
  };
}

// ---- detail ----------------------------------------------------------------------------------

function pretty(value) {
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

function inputView(input) {
  if (
    Array.isArray(input) &&
    input.every((item) => item && typeof item === "object" && "role" in item)
  ) {
    return h(
      "div",
      { class: "trace-messages" },
      input.map((message) =>
        h(
          "div",
          { class: `trace-message trace-message--${message.role}` },
          h("span", { class: "trace-role" }, message.role),
          h(
            "pre",
            {},
            typeof message.content === "string" ? message.content : pretty(message.content),
          ),
        ),
      ),
    );
  }
  return h("pre", {}, pretty(input));
}

function metric(label, value) {
  return h("div", { class: "metric" }, h("dt", {}, label), h("dd", {}, value));
}

function traceDetail(trace) {
  const params =
    trace.requestParams && Object.keys(trace.requestParams).length ? trace.requestParams : null;
  return h(
    "div",
    { class: "trace-detail" },
    h(
      "p",
      { class: "trace-summary" },
      statusBadge(trace.status),
      " ",
      h("strong", {}, trace.model),
      " · ",
      h("span", { class: "mono" }, trace.endpoint),
      " · ",
      formatDateTime(trace.createdAt),
    ),
    h(
      "dl",
      { class: "metrics" },
      metric("Prompt tokens", formatNumber(trace.promptTokens)),
      metric("Completion tokens", formatNumber(trace.completionTokens)),
      metric("Total tokens", formatNumber(trace.totalTokens)),
      metric("Duration", formatDuration(trace.duration)),
      metric("Time to first token", formatDuration(trace.ttft)),
      metric("Model load", formatDuration(trace.loadDuration)),
      metric(
        "Tokens per second",
        trace.tokensPerSecond == null ? "—" : trace.tokensPerSecond.toFixed(1),
      ),
      metric("Streamed", trace.stream ? "Yes" : "No"),
    ),
    trace.error
      ? h(
          "div",
          { class: "callout callout--error", role: "note" },
          h("strong", {}, "Error: "),
          trace.error,
        )
      : null,
    h("h3", {}, "Input"),
    inputView(trace.input),
    h("h3", {}, "Output"),
    trace.output
      ? h("pre", { class: "trace-output" }, trace.output)
      : h("p", { class: "state" }, "No output."),
    params ? h("h3", {}, "Request parameters") : null,
    params ? h("pre", {}, pretty(params)) : null,
    h("p", { class: "trace-id" }, "Trace ", h("code", {}, trace.id)),
  );
}

async function openTrace(id) {
  els.detail.replaceChildren(h("p", { class: "state", "data-kind": "loading" }, "Loading trace…"));
  if (!els.dialog.open) els.dialog.showModal();
  try {
    const trace = await api(`/v1/traces/${encodeURIComponent(id)}`);
    els.detail.replaceChildren(traceDetail(trace));
  } catch (error) {
    els.detail.replaceChildren(
      h(
        "p",
        { class: "state", "data-kind": "error" },
        `Could not load this trace: ${error.message}`,
      ),
    );
  }
}

// ---- page ------------------------------------------------------------------------------------

export function init() {
  Object.assign(els, {
    range: byId("chart-range"),
    chart: byId("traces-chart"),
    chartState: byId("chart-state"),
    form: byId("traces-filters"),
    model: byId("traces-model"),
    modelOptions: byId("traces-model-options"),
    status: byId("traces-status"),
    since: byId("traces-since"),
    until: byId("traces-until"),
    state: byId("traces-state"),
    rows: byId("traces-rows"),
    tableWrap: byId("traces-table-wrap"),
    pagination: byId("traces-pagination"),
    pageInfo: byId("traces-page-info"),
    prev: byId("traces-prev"),
    next: byId("traces-next"),
    dialog: byId("trace-dialog"),
    detail: byId("trace-detail"),
  });
  els.range.addEventListener("change", loadChart);
  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = readFilters();
    page = 1;
    loadTraces();
  });
  els.form.addEventListener("reset", () => {
    filters = {};
    page = 1;
    setTimeout(loadTraces);
  });
  els.status.addEventListener("change", () => els.form.requestSubmit());
  els.prev.addEventListener("click", () => {
    page -= 1;
    loadTraces();
  });
  els.next.addEventListener("click", () => {
    page += 1;
    loadTraces();
  });
  byId("trace-close").addEventListener("click", () => els.dialog.close());
  els.dialog.addEventListener("close", () => {
    if (location.hash.startsWith("#/traces/")) location.hash = "#/traces";
  });
  new ResizeObserver(() => renderChart()).observe(els.chart);
}

/** Called by the router each time the page is shown; `params[0]` is a trace id. */
export async function show([id] = []) {
  if (id) {
    await openTrace(id);
    if (!els.rows.children.length) await Promise.all([loadChart(), loadTraces()]);
    return;
  }
  if (els.dialog.open) els.dialog.close();
  await Promise.all([loadChart(), loadTraces()]);
}
