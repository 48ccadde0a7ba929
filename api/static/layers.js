// The four map layers: how each is fetched, drawn and explained in the legend.
// Risk and cost are values painted on the grid's hexagons (cells.js), fetched as columns;
// recommendations and events are GeoJSON. Each drawn SVG path carries a class naming its layer
// (`hex-risk`, `hex-cost`, `rec-outline`, `event-dot`) and a data attribute with its id.

import * as L from "./vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { rowsById } from "./cells.js";
import { shiftDate } from "./dates.js";
import { escapeHtml } from "./dom.js";

export const RISK_COLORS = { low: "#fdd49e", medium: "#fc8d59", high: "#d7301f" };
export const COST_COLORS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
const ACTION_COLORS = ["#1b7837", "#762a83", "#b35806", "#2166ac"];
const EVENT_COLORS = { open: "#b2182b", closed: "#4d4d4d" };

export const usd = (value) =>
  value === null || value === undefined ? "n/a" : `$${Math.round(value).toLocaleString("en-US")}`;
export const percent = (value) =>
  value === null || value === undefined ? "n/a" : `${(100 * value).toFixed(1)}%`;
// A band threshold as a short percentage: 0.2 -> "20%", 0.125 -> "12.5%".
const threshold = (value) => `${Number((100 * value).toFixed(1))}%`;

// The p_event_7d range of each band, from /api/meta's `risk_bands` (as the model bands cells:
// low below medium_from, high from high_from).
export function bandRanges({ medium_from: medium, high_from: high }) {
  return {
    low: `p < ${threshold(medium)}`,
    medium: `${threshold(medium)} ≤ p < ${threshold(high)}`,
    high: `p ≥ ${threshold(high)}`,
  };
}

// Leaflet panes, bottom to top: the outline, the cells, the recommendations' outlines, events.
export const PANES = { outline: 350, cells: 410, recommendations: 450, events: 460 };

export function createPanes(map) {
  for (const [name, zIndex] of Object.entries(PANES)) map.createPane(name).style.zIndex = zIndex;
}

export function drawCityOutline(map, outline) {
  return L.geoJSON(outline, {
    pane: "outline",
    interactive: false,
    style: { color: "#555", weight: 1.5, fill: true, fillColor: "#ffffff", fillOpacity: 1 },
  }).addTo(map);
}

// The selected cell or recommendation is drawn last, so its outline is not hidden by neighbours.
export function raiseSelected(group, selection) {
  group.eachLayer((layer) => {
    const p = layer.feature.properties;
    if ((p.h3_id && p.h3_id === selection.cell) || (p.rec_id && p.rec_id === selection.rec)) layer.bringToFront();
  });
}

function tagElements(group, attribute, idOf) {
  group.eachLayer((layer) => {
    const element = layer.getElement && layer.getElement();
    if (element) element.setAttribute(attribute, idOf(layer.feature));
  });
}

function swatch(color, label, { round = false, outline = null } = {}) {
  const row = document.createElement("div");
  row.className = "legend-row";
  const box = document.createElement("span");
  box.className = round ? "swatch swatch-round" : "swatch";
  box.style.background = color;
  if (outline) box.style.border = `2px dashed ${outline}`;
  row.append(box, document.createTextNode(label));
  return row;
}

// Class breaks at the quintiles of `values` (duplicates dropped), for the cost colours.
function quintileBreaks(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (!sorted.length) return [];
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [...new Set([0.2, 0.4, 0.6, 0.8].map(at))].filter((b) => b > sorted[0]);
}

function classOf(value, breaks) {
  let index = 0;
  while (index < breaks.length && value >= breaks[index]) index += 1;
  // Spread fewer classes over the whole ramp, so two classes are still far apart in colour.
  return breaks.length ? Math.round((index * (COST_COLORS.length - 1)) / breaks.length) : 0;
}

function actionColor(actionType, actionTypes) {
  const index = Math.max(0, actionTypes.indexOf(actionType));
  return ACTION_COLORS[index % ACTION_COLORS.length];
}

// A cell layer's paint: fill from `fill(row)`, the selected cell outlined.
function cellPaint(kind, values, selection, fill, tooltip) {
  return {
    kind,
    rows: rowsById(values),
    style: (row, h3Id) => ({
      stroke: true,
      fill: true,
      color: h3Id === selection.cell ? "#000" : "#ffffff",
      weight: h3Id === selection.cell ? 3 : 0.8,
      fillColor: fill(row),
      fillOpacity: 0.85,
    }),
    tooltip,
  };
}

export const LAYERS = {
  risk: {
    title: "Risk: p(leak-related 311 request in 7 days)",
    cells: true,
    load: ({ date }) => api.riskValues(date),
    countLabel: (v) => `${v.count} cells`,
    draw(v, { grid, selection }) {
      const paint = cellPaint("risk", v.values, selection, (row) => RISK_COLORS[row.risk_band] || "#ccc",
        (row) => `${escapeHtml(row.h3_id)}<br>${percent(row.p_event_7d)} (${escapeHtml(row.risk_band)})`);
      return { group: grid.painter(paint), tag: () => {} };
    },
    legend(v, { riskBands }) {
      const ranges = bandRanges(riskBands);
      return ["low", "medium", "high"].map((band) => {
        const n = v.values.risk_band.filter((b) => b === band).length;
        return swatch(RISK_COLORS[band], `${band} (${n} cells) · ${ranges[band]}`);
      });
    },
  },

  cost: {
    title: "Cost: expected over the next 7 days",
    cells: true,
    load: ({ date, costMode }) => api.costValues(date, costMode),
    countLabel: (v) => `${v.count} cells`,
    draw(v, { grid, selection }) {
      const field = v.cost_field;
      const breaks = quintileBreaks(v.values[field]);
      const paint = cellPaint("cost", v.values, selection,
        (row) => (row[field] === null ? "#ddd" : COST_COLORS[classOf(row[field], breaks)]),
        (row) => `${escapeHtml(row.h3_id)}<br>${escapeHtml(v.cost_mode)}: ${usd(row[field])} (p90 ${usd(row.p90_cost)})`);
      return { group: grid.painter(paint), tag: () => {} };
    },
    legend(v) {
      const field = v.cost_field;
      const values = v.values[field].filter((x) => x !== null);
      if (!values.length) return [document.createTextNode("no costs published for this day")];
      const breaks = quintileBreaks(values);
      const edges = [Math.min(...values), ...breaks, Math.max(...values)];
      const rows = [document.createTextNode(`${v.cost_mode} (${field})`)];
      for (let i = 0; i < edges.length - 1; i += 1) {
        rows.push(swatch(COST_COLORS[classOf(edges[i], breaks)], `${usd(edges[i])} – ${usd(edges[i + 1])}`));
      }
      return rows;
    },
  },

  recommendations: {
    title: "Recommended pressure tests",
    load: ({ date }) => api.recommendations(date),
    countLabel: (fc) => `${fc.count} recommendations`,
    draw(fc, { onRecommendation, selection, actionTypes }) {
      const group = L.geoJSON(fc, {
        pane: "recommendations",
        style: (f) => ({
          className: "rec-outline",
          color: actionColor(f.properties.action_type, actionTypes),
          weight: f.properties.rec_id === selection.rec ? 5 : 3,
          dashArray: "6 4",
          fillColor: actionColor(f.properties.action_type, actionTypes),
          fillOpacity: f.properties.rec_id === selection.rec ? 0.25 : 0.1,
        }),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          layer.bindTooltip(`${escapeHtml(p.action_type.replaceAll("_", " "))}: saves ${usd(p.expected_savings_usd)}`, { sticky: true });
          layer.on("click", (event) => {
            L.DomEvent.stopPropagation(event);
            onRecommendation(p.rec_id);
          });
        },
      });
      return { group, tag: () => tagElements(group, "data-rec-id", (f) => f.properties.rec_id) };
    },
    legend(fc, { actionTypes }) {
      const types = [...new Set([...actionTypes, ...fc.features.map((f) => f.properties.action_type)])];
      return types.map((type) => {
        const n = fc.features.filter((f) => f.properties.action_type === type).length;
        const color = actionColor(type, actionTypes);
        return swatch(`${color}22`, `${type.replaceAll("_", " ")} (${n})`, { outline: color });
      });
    },
  },

  events: {
    title: "311 requests, the 7 days to the date",
    load: ({ date }) => api.events(shiftDate(date, -6), date),
    countLabel: (fc) => `${fc.count} events (${fc.start_date} to ${fc.end_date})`,
    draw(fc) {
      const group = L.geoJSON(fc, {
        pane: "events",
        pointToLayer: (f, latlng) => {
          const open = f.properties.status === "Open";
          return L.circleMarker(latlng, {
            pane: "events",
            className: "event-dot",
            radius: 3.5,
            weight: 1,
            color: "#ffffff",
            fillColor: open ? EVENT_COLORS.open : EVENT_COLORS.closed,
            fillOpacity: 0.9,
          });
        },
        onEachFeature: (f, layer) => {
          const p = f.properties;
          const popup = document.createElement("div");
          popup.className = "event-popup";
          for (const line of [p.summary, `${p.sr_number} · ${p.status}`, `created ${p.created_date.replace("T", " ")}`]) {
            const row = document.createElement("div");
            row.textContent = line;
            popup.append(row);
          }
          layer.bindPopup(popup);
        },
      });
      return { group, tag: () => tagElements(group, "data-sr-number", (f) => f.properties.sr_number) };
    },
    legend(fc) {
      const open = fc.features.filter((f) => f.properties.status === "Open").length;
      return [
        swatch(EVENT_COLORS.open, `open (${open})`, { round: true }),
        swatch(EVENT_COLORS.closed, `closed (${fc.features.length - open})`, { round: true }),
      ];
    },
  },
};
