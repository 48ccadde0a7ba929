// The map page: sets itself up from GET /api/meta (then draws the city outline from the route it
// names), draws the chosen layers for the chosen date, opens a cell's drill-down or a
// recommendation's plan on click, and shows every API error. The date picker offers only the days
// every layer is published (meta's `published_dates`): previous/next step over the others, and a
// date picked between them moves to the nearest published day; the note beside it says so.
// State lives in the URL hash (#date=…&layers=…&cell=… or &rec=…), so a view can be shared.
// The cells' shapes come once from the route /api/meta names (grid.path); risk and cost are
// values painted on them. The page records `performance` measures `first-draw` (navigation to
// the first layers drawn) and `date-switch` (a date picked to its layers drawn).

import * as L from "./vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { CellGrid } from "./cells.js";
import { PublishedDays, daysBetween, describeSkipped } from "./dates.js";
import { escapeHtml, h } from "./dom.js";
import { showCell, showRecommendation } from "./drilldown.js";
import { LAYERS, createPanes, drawCityOutline, raiseSelected } from "./layers.js";
import { renderLegend } from "./legend.js";

const LAYER_ORDER = ["risk", "cost", "recommendations", "events"];
const CELL_LAYERS = ["risk", "cost"]; // both colour the cells: one at a time
const COST_MODES = ["total", "energy", "water", "repair"];
const CHICAGO = [41.8375, -87.6866];

const state = {
  meta: null,
  days: null, // PublishedDays: what the date picker offers
  date: null,
  layers: new Set(["risk", "recommendations", "events"]),
  costMode: "total",
  cell: null,
  rec: null,
  grid: null, // CellGrid: the hexagons, drawn once
};
const drawn = new Map(); // layer name -> {group, fc}
const loaded = new Map(); // "name|date|mode" -> FeatureCollection
let generation = 0;

const $ = (id) => document.getElementById(id);
const map = L.map("map", { zoomSnap: 0.25, attributionControl: true, minZoom: 8, maxZoom: 16 }).setView(CHICAGO, 10);
map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>'); // the outline's credit: drawOutline
createPanes(map);
new ResizeObserver(() => map.invalidateSize()).observe($("map")); // e.g. when errors push it down
const legend = L.control({ position: "bottomleft" });
legend.onAdd = () => h("div", { className: "legend", id: "legend" });
legend.addTo(map);

// --- errors --------------------------------------------------------------------------------

export function showError(error) {
  console.warn(error);
  const box = $("errors");
  const message = error && error.message ? error.message : String(error);
  if ([...box.children].some((item) => item.dataset.message === message)) return;
  const item = h("div", { className: "error" },
    h("span", {}, message),
    h("button", { type: "button", "aria-label": "dismiss", onclick: () => item.remove() }, "×"));
  item.dataset.message = message;
  box.append(item);
}

window.addEventListener("unhandledrejection", (event) => showError(event.reason));

// --- URL hash --------------------------------------------------------------------------------

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("date")) state.date = params.get("date");
  if (params.has("layers")) {
    state.layers = new Set(params.get("layers").split(",").filter((n) => n in LAYERS));
    if (state.layers.has("risk")) state.layers.delete("cost"); // one layer colours the cells
  }
  if (COST_MODES.includes(params.get("cost_mode"))) state.costMode = params.get("cost_mode");
  state.cell = params.get("cell");
  state.rec = state.cell ? null : params.get("rec");
}

function writeHash() {
  const params = new URLSearchParams({ date: state.date, layers: LAYER_ORDER.filter((n) => state.layers.has(n)).join(",") });
  if (state.costMode !== "total") params.set("cost_mode", state.costMode);
  if (state.cell) params.set("cell", state.cell);
  if (state.rec) params.set("rec", state.rec);
  history.replaceState(null, "", `#${params}`);
}

// --- layers ----------------------------------------------------------------------------------

function cacheKey(name) {
  return `${name}|${state.date}|${name === "cost" ? state.costMode : ""}`;
}

function drawGrid(grid) {
  state.grid?.group.remove();
  state.grid = new CellGrid(map, grid, { onCell: selectCell });
}

async function loadGrid(reload = false) {
  drawGrid(await api.grid(state.meta.grid.path, reload));
}

async function fetchLayer(name) {
  const key = cacheKey(name);
  if (!loaded.has(key)) {
    if (LAYERS[name].cells && !state.grid) throw new Error("the grid's shapes could not be loaded: cells cannot be drawn");
    const data = await LAYERS[name].load(state);
    // Values name the grid they belong to: a new grid (after a deploy) is fetched again.
    if (LAYERS[name].cells && data.grid_version !== state.grid.version) await loadGrid(true);
    loaded.set(key, data);
  }
  return loaded.get(key);
}

function drawLayer(name, fc) {
  drawn.get(name)?.group.remove();
  const { group, tag } = LAYERS[name].draw(fc, {
    onCell: selectCell,
    onRecommendation: selectRecommendation,
    selection: state, // read when styling: a new selection restyles, no redraw
    actionTypes: state.meta.recommendation_action_types,
    grid: state.grid,
  });
  group.addTo(map);
  tag();
  raiseSelected(group, state);
  drawn.set(name, { group, fc });
}

function updateLegendAndStatus() {
  const shown = LAYER_ORDER.filter((n) => state.layers.has(n) && drawn.has(n));
  renderLegend($("legend"), shown.map((n) => ({
    name: n,
    title: LAYERS[n].title,
    rows: LAYERS[n].legend(drawn.get(n).fc, {
      actionTypes: state.meta.recommendation_action_types,
      riskBands: state.meta.risk_bands,
    }),
  })));
  $("status").textContent = shown.length
    ? `${state.date}: ${shown.map((n) => LAYERS[n].countLabel(drawn.get(n).fc)).join(" · ")}`
    : `${state.date}: no layer shown`;
}

// After the next frame: what was drawn has been painted.
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
let measureNext = "first-draw";
let measureFrom = 0;

async function refresh() {
  const run = ++generation;
  document.body.dataset.state = "loading";
  $("status").textContent = `Loading ${state.date}…`;
  for (const name of LAYER_ORDER) {
    if (!state.layers.has(name)) {
      drawn.get(name)?.group.remove();
      drawn.delete(name);
    }
  }
  const wanted = LAYER_ORDER.filter((n) => state.layers.has(n));
  const results = await Promise.allSettled(wanted.map(fetchLayer));
  if (run !== generation) return; // a newer date or toggle took over
  results.forEach((result, i) => {
    const name = wanted[i];
    if (result.status === "fulfilled") drawLayer(name, result.value);
    else {
      drawn.get(name)?.group.remove();
      drawn.delete(name);
      showError(result.reason);
    }
  });
  updateLegendAndStatus();
  writeHash();
  if (measureNext) {
    await nextFrame();
    performance.measure(measureNext, { start: measureFrom, end: performance.now() });
    measureNext = null;
  }
  document.body.dataset.state = results.some((r) => r.status === "rejected") ? "error" : "ready";
}

function restyleSelectable() {
  for (const name of ["risk", "cost", "recommendations"]) {
    const layer = drawn.get(name);
    if (!layer) continue;
    layer.group.resetStyle();
    raiseSelected(layer.group, state);
  }
}

// --- selection -------------------------------------------------------------------------------

const panel = $("panel");
const panelHint = [...panel.childNodes].map((node) => node.cloneNode(true));

function closePanel() {
  state.cell = null;
  state.rec = null;
  panel.replaceChildren(...panelHint.map((node) => node.cloneNode(true)));
  delete panel.dataset.kind;
  delete panel.dataset.id;
  delete panel.dataset.state;
  restyleSelectable();
  writeHash();
}

function selectCell(h3Id) {
  state.cell = h3Id;
  state.rec = null;
  restyleSelectable();
  writeHash();
  showCell(panel, h3Id, state.date, { onError: showError, onClose: closePanel });
}

function selectRecommendation(recId) {
  state.rec = recId;
  state.cell = null;
  restyleSelectable();
  writeHash();
  showRecommendation(panel, recId, { onError: showError, onClose: closePanel, onCell: selectCell });
}

// --- controls --------------------------------------------------------------------------------

// The note beside the picker: how the date was reached, and whether its inputs were degraded
// (weather filled, a 311 day missing: `/api/meta`'s degraded_days).
function showDateNote(note, date) {
  const degraded = (state.meta.degraded_days || []).find((day) => day.date === date);
  $("date-note").textContent = [note, degraded && `degraded inputs: ${degraded.reasons.join("; ")}`].filter(Boolean).join(" · ");
}

// A step button names the day it goes to, and the days it steps over.
function labelStep(button, from, to, which) {
  button.disabled = !to;
  const skips = to && Math.abs(daysBetween(from, to)) > 1 ? ` (skips ${describeSkipped(from, to)}: not published)` : "";
  button.title = to ? `${which} published day: ${to}${skips}` : `no ${which === "previous" ? "earlier" : "later"} published day`;
}

// Shows `date`, or the nearest published day when it is not published (saying so); `note` says
// how the date was reached. False when the date is outside the published range (nothing shown).
function setDate(date, note = "") {
  const { first, last } = state.days;
  if (!date || date < first || date > last) {
    showError(new Error(date ? `${date} is outside the published dates ${first}..${last}` : `pick a date in ${first}..${last}`));
    $("date").value = state.date;
    return false;
  }
  const shown = state.days.nearest(date);
  state.date = shown;
  $("date").value = shown;
  showDateNote(shown === date ? note : `${date} is not published: showing ${shown}, the nearest published day`, shown);
  labelStep($("day-prev"), shown, state.days.step(shown, -1), "previous");
  labelStep($("day-next"), shown, state.days.step(shown, 1), "next");
  refresh();
  if (state.cell) showCell(panel, state.cell, shown, { onError: showError, onClose: closePanel });
  return true;
}

function pickDate(date, note = "") {
  const [previous, from] = [measureNext, measureFrom];
  [measureNext, measureFrom] = ["date-switch", performance.now()];
  if (!setDate(date, note)) [measureNext, measureFrom] = [previous, from];
}

function stepDate(step) {
  const from = state.date;
  const to = state.days.step(from, step);
  if (!to) return;
  pickDate(to, Math.abs(daysBetween(from, to)) > 1 ? `skipped ${describeSkipped(from, to)}: not published` : "");
}

function setUpControls() {
  const { first, last } = state.days;
  const input = $("date");
  input.min = first;
  input.max = last;
  input.addEventListener("change", () => pickDate(input.value));
  $("day-prev").addEventListener("click", () => stepDate(-1));
  $("day-next").addEventListener("click", () => stepDate(1));

  const boxes = [...document.querySelectorAll('#layer-toggles input[name="layer"]')];
  const sync = () => boxes.forEach((box) => { box.checked = state.layers.has(box.value); });
  for (const box of boxes) {
    box.addEventListener("change", () => {
      if (box.checked) {
        state.layers.add(box.value);
        if (CELL_LAYERS.includes(box.value)) CELL_LAYERS.filter((n) => n !== box.value).forEach((n) => state.layers.delete(n));
      } else state.layers.delete(box.value);
      sync();
      refresh();
    });
  }
  sync();
  const mode = $("cost-mode");
  mode.value = state.costMode;
  mode.addEventListener("change", () => {
    state.costMode = mode.value;
    if (state.layers.has("cost")) refresh();
    else writeHash();
  });
}

function showMeta(meta, days) {
  const missing = days ? days.missing() : 0;
  const parts = [
    `${meta.city}, H3 resolution ${meta.grid.h3_resolution} (${meta.grid.cells} cells)`,
    days && days.first ? `published ${days.first}..${days.last}` : "nothing published",
    missing && `${missing} day${missing > 1 ? "s" : ""} in between not published (the date picker steps over them)`,
    meta.risk_model_version && `risk model ${meta.risk_model_version}`,
    meta.last_refresh_utc && `refreshed ${meta.last_refresh_utc.replace("T", " ").replace("Z", " UTC")}`,
  ];
  $("meta").textContent = parts.filter(Boolean).join(" · ");
}

// The city outline under the cells (and its credit), from the route /api/meta names; a failure
// is shown and the map goes on without it.
async function drawOutline(path) {
  try {
    const outline = await api.city(path);
    map.fitBounds(drawCityOutline(map, outline).getBounds(), { padding: [8, 8] });
    const credit = outline.features[0].properties.attribution;
    if (credit) map.attributionControl.addAttribution(escapeHtml(credit));
  } catch (error) {
    showError(error);
  }
}

async function start() {
  readHash();
  let meta;
  try {
    meta = await api.meta();
  } catch (error) {
    showError(error);
    $("status").textContent = "The API's metadata could not be read: nothing to show.";
    document.body.dataset.state = "error";
    return;
  }
  state.meta = meta;
  // The shapes download while the outline is drawn; drawn after it (fitting the map moves them).
  const grid = api.grid(meta.grid.path).catch((error) => showError(error)); // cell layers say so if it failed
  await drawOutline(meta.city_outline_path);
  const shapes = await grid;
  if (shapes) drawGrid(shapes);
  if (!meta.date_max) {
    showMeta(meta, null);
    showError(new Error("nothing is published yet: materialize the graph (chicago-risk materialize), then reload"));
    $("status").textContent = "No published layers.";
    document.body.dataset.state = "error";
    return;
  }
  if (!meta.published_dates.length) {
    // Some layer has none of the risk layer's days: offer those, and let the layers' errors say which.
    showError(new Error(`no day has every map layer published: the date picker offers the risk layer's ${meta.date_min}..${meta.date_max}`));
  }
  state.days = new PublishedDays(meta.published_dates.length ? meta.published_dates : [{ first: meta.date_min, last: meta.date_max }]);
  showMeta(meta, state.days);
  const { first, last } = state.days;
  const wanted = state.date;
  state.date = last;
  setUpControls();
  const inRange = wanted && wanted >= first && wanted <= last;
  if (wanted && wanted > last) {
    // A link to today, or a map opened before the night's layers: the newest day, said plainly.
    setDate(last, `${wanted} is not published yet: showing ${last}, the newest published day`);
  } else {
    setDate(inRange ? wanted : last); // an unpublished day in range moves to the nearest, with a note
    if (wanted && !inRange) showError(new Error(`${wanted} is not published (${first}..${last}): showing ${state.date}`));
  }
  if (!state.cell && state.rec) selectRecommendation(state.rec);
}

start();
