// A hand-drawn SVG chart of requests (bars, errors in red) and tokens (a line, right axis) per
// hour or day. Sized to its container in pixels so labels stay readable at any width.

import { formatNumber } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 220;
const MARGIN = { top: 14, right: 52, bottom: 28, left: 40 };

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** A tidy top for an axis at or above `value`, whose half (the middle tick) is a whole number. */
function niceMax(value) {
  if (value <= 2) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 4, 6, 8, 10].map((step) => step * power).find((candidate) => candidate >= value);
}

function compact(value) {
  return new Intl.NumberFormat(undefined, { notation: "compact" }).format(value);
}

function bucketLabel(start, bucket, long = false) {
  const date = new Date(start);
  if (bucket === "day")
    return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return long
    ? `${date.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`
    : time;
}

/** Draw `buckets` ({start, requests, tokens, errors}, oldest first) into `container`. */
export function drawChart(container, buckets, { bucket }) {
  const width = Math.max(container.clientWidth, 280);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxRequests = niceMax(Math.max(...buckets.map((b) => b.requests), 0));
  const maxTokens = niceMax(Math.max(...buckets.map((b) => b.tokens), 0));
  const band = plotWidth / Math.max(buckets.length, 1);
  const barWidth = Math.max(1, Math.min(band * 0.7, 28));
  const x = (index) => MARGIN.left + index * band + band / 2;
  const yRequests = (value) => MARGIN.top + plotHeight * (1 - value / maxRequests);
  const yTokens = (value) => MARGIN.top + plotHeight * (1 - value / maxTokens);

  const root = svg("svg", {
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    class: "chart-svg",
  });
  root.setAttribute("aria-hidden", "true");

  for (const fraction of [0, 0.5, 1]) {
    const y = MARGIN.top + plotHeight * (1 - fraction);
    root.append(
      svg("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: "chart-grid" }),
      svg(
        "text",
        { x: MARGIN.left - 8, y: y + 4, "text-anchor": "end", class: "chart-axis" },
        compact(maxRequests * fraction),
      ),
      svg(
        "text",
        { x: width - MARGIN.right + 8, y: y + 4, class: "chart-axis chart-axis--tokens" },
        compact(maxTokens * fraction),
      ),
    );
  }

  const labelEvery = Math.max(
    1,
    Math.ceil(buckets.length / Math.max(2, Math.floor(plotWidth / 70))),
  );
  const points = [];
  buckets.forEach((item, index) => {
    const center = x(index);
    const group = svg("g", { class: "chart-bucket" });
    group.append(
      svg(
        "title",
        {},
        `${bucketLabel(item.start, bucket, true)}: ${formatNumber(item.requests)} requests, ` +
          `${formatNumber(item.tokens)} tokens, ${formatNumber(item.errors)} errors`,
      ),
      svg("rect", {
        x: MARGIN.left + index * band,
        y: MARGIN.top,
        width: band,
        height: plotHeight,
        class: "chart-hover",
      }),
    );
    // Errors are drawn over the requests bar of the same bucket, on the same scale.
    const bar = (count, className) => {
      const top = yRequests(count);
      group.append(
        svg("rect", {
          x: center - barWidth / 2,
          y: top,
          width: barWidth,
          height: MARGIN.top + plotHeight - top,
          rx: 2,
          class: className,
        }),
      );
    };
    if (item.requests) bar(item.requests, "chart-bar");
    if (item.errors) bar(item.errors, "chart-bar chart-bar--errors");
    if (index % labelEvery === 0) {
      group.append(
        svg(
          "text",
          { x: center, y: HEIGHT - 8, "text-anchor": "middle", class: "chart-axis" },
          bucketLabel(item.start, bucket),
        ),
      );
    }
    root.append(group);
    points.push(`${center},${yTokens(item.tokens)}`);
  });
  if (points.length) {
    root.append(svg("polyline", { points: points.join(" "), class: "chart-line" }));
  }
  container.replaceChildren(root);
}
