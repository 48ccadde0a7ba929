// A small SVG time-series chart: one line (left axis) and optional bars (right axis) over dates,
// with a marker on one date. Null values leave gaps. No chart library.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 150;
const MARGIN = { top: 10, right: 34, bottom: 20, left: 44 };

function el(name, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((m) => m >= value);
}

// points: [{date, ...}]; line: {key, label, color, format}; bars: {key, label, color} or null.
export function timeSeriesChart(points, { line, bars = null, markerDate = null, title }) {
  const svg = el("svg", {
    class: "chart",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": title,
  });
  svg.append(el("title", {}, title));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const n = points.length;
  const barW = Math.max(1, Math.min(8, (plotW / Math.max(n, 1)) * 0.7));
  const inset = barW / 2 + 2; // keeps the first and last bars inside the frame
  const x = (i) => MARGIN.left + (n > 1 ? inset + (i * (plotW - 2 * inset)) / (n - 1) : plotW / 2);
  const lineValues = points.map((p) => p[line.key]).filter((v) => v !== null && v !== undefined);
  const lineMax = niceMax(Math.max(0, ...lineValues));
  const yLine = (v) => MARGIN.top + plotH - (v / lineMax) * plotH;

  svg.append(el("rect", { x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH, class: "chart-frame" }));
  for (const v of [0, lineMax / 2, lineMax]) {
    svg.append(el("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: yLine(v), y2: yLine(v), class: "chart-grid" }));
    svg.append(el("text", { x: MARGIN.left - 4, y: yLine(v) + 3, class: "chart-tick", "text-anchor": "end" }, line.format(v)));
  }

  if (bars) {
    const barValues = points.map((p) => p[bars.key] ?? 0);
    const barMax = niceMax(Math.max(1, ...barValues));
    const group = el("g", { class: "chart-bars", fill: bars.color });
    points.forEach((p, i) => {
      const v = p[bars.key];
      if (!v) return;
      const h = (v / barMax) * plotH;
      group.append(el("rect", { x: x(i) - barW / 2, y: MARGIN.top + plotH - h, width: barW, height: h }));
    });
    svg.append(group);
    svg.append(el("text", { x: MARGIN.left + plotW + 4, y: MARGIN.top + 8, class: "chart-tick" }, String(barMax)));
    svg.append(el("text", { x: MARGIN.left + plotW + 4, y: MARGIN.top + plotH, class: "chart-tick" }, "0"));
  }

  // The line, split where values are missing.
  let d = "";
  let pen = "M";
  points.forEach((p, i) => {
    const v = p[line.key];
    if (v === null || v === undefined) {
      pen = "M";
      return;
    }
    d += `${pen}${x(i).toFixed(1)},${yLine(v).toFixed(1)}`;
    pen = "L";
  });
  if (d) svg.append(el("path", { d, class: "chart-line", stroke: line.color, fill: "none" }));
  if (n === 1 && lineValues.length) {
    svg.append(el("circle", { cx: x(0), cy: yLine(lineValues[0]), r: 3, fill: line.color }));
  }

  const markerIndex = points.findIndex((p) => p.date === markerDate);
  if (markerIndex >= 0) {
    svg.append(el("line", {
      x1: x(markerIndex), x2: x(markerIndex), y1: MARGIN.top, y2: MARGIN.top + plotH, class: "chart-marker",
    }));
  }
  if (n) {
    const bottom = HEIGHT - 6;
    svg.append(el("text", { x: x(0), y: bottom, class: "chart-tick", "text-anchor": "start" }, points[0].date));
    if (n > 1) {
      svg.append(el("text", { x: x(n - 1), y: bottom, class: "chart-tick", "text-anchor": "end" }, points[n - 1].date));
    }
  }

  const figure = document.createElement("figure");
  figure.className = "chart-figure";
  const caption = document.createElement("figcaption");
  for (const series of [line, bars].filter(Boolean)) {
    const key = document.createElement("span");
    key.className = "key";
    key.style.background = series.color;
    caption.append(key, document.createTextNode(`${series.label} `));
  }
  figure.append(svg, caption);
  return figure;
}
