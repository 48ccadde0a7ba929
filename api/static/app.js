// The map page: sets itself up from GET /api/meta, draws the chosen layers for the chosen date,
// opens a cell's drill-down or a recommendation's plan on click, and shows every API error.
// State lives in the URL hash (#date=…&layers=…&cell=… or &rec=…), so a view can be shared.

import * as L from "./vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { h } from "./dom.js";
import { showCell, showRecommendation } from "./drilldown.js";
import { LAYERS, createPanes, drawCityOutline, raiseSelected, shiftDate } from "./layers.js";
import { renderLegend } from "./legend.js";

const LAYER_ORDER = ["risk", "cost", "recommendations", "events"];
const CELL_LAYERS = ["risk", "cost"]; // both colour the cells: one at a time
const COST_MODES = ["total", "energy", "water", "repair"];
const CHICAGO = [41.8375, -87.6866];

const state = {
  meta: null,
  date: null,
  layers: new Set(["risk", "recommendations", "events"]),
  costMode: "total",
  cell: null,
  rec: null,
};
const drawn = new Map(); // layer name -> {group, fc}
const loaded = new Map(); // "name|date|mode" -> FeatureCollection
let generation = 0;

const $ = (id) => document.getElementById(id);
const map = L.map("map", { zoomSnap: 0.25, attributionControl: true, minZoom: 8, maxZoom: 16 }).setView(CHICAGO, 10);
map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
map.attributionControl.addAttribution("City limits: City of Chicago (Chicago Data Portal)");
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

async function fetchLayer(name) {
  const key = cacheKey(name);
  if (!loaded.has(key)) loaded.set(key, await LAYERS[name].load(state));
  return loaded.get(key);
}

function drawLayer(name, fc) {
  drawn.get(name)?.group.remove();
  const { group, tag } = LAYERS[name].draw(fc, {
    onCell: selectCell,
    onRecommendation: selectRecommendation,
    selection: state, // read when styling: a new selection restyles, no redraw
    actionTypes: state.meta.recommendation_action_types,
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
    rows: LAYERS[n].legend(drawn.get(n).fc, { actionTypes: state.meta.recommendation_action_types }),
  })));
  $("status").textContent = shown.length
    ? `${state.date}: ${shown.map((n) => LAYERS[n].countLabel(drawn.get(n).fc)).join(" · ")}`
    : `${state.date}: no layer shown`;
}

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

function publishedDays() {
  const { date_min: first, date_max: last } = state.meta;
  return { first, last };
}

function setDate(date) {
  const { first, last } = publishedDays();
  if (!date || date < first || date > last) {
    showError(new Error(date ? `${date} is outside the published dates ${first}..${last}` : `pick a date in ${first}..${last}`));
    $("date").value = state.date;
    return;
  }
  state.date = date;
  $("date").value = date;
  $("day-prev").disabled = date <= first;
  $("day-next").disabled = date >= last;
  refresh();
  if (state.cell) showCell(panel, state.cell, date, { onError: showError, onClose: closePanel });
}

function setUpControls() {
  const { first, last } = publishedDays();
  const input = $("date");
  input.min = first;
  input.max = last;
  input.addEventListener("change", () => setDate(input.value));
  $("day-prev").addEventListener("click", () => setDate(shiftDate(state.date, -1)));
  $("day-next").addEventListener("click", () => setDate(shiftDate(state.date, 1)));

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

function showMeta(meta) {
  const parts = [
    `${meta.city}, H3 resolution ${meta.grid.h3_resolution} (${meta.grid.cells} cells)`,
    `published ${meta.date_min}..${meta.date_max}`,
    meta.risk_model_version && `risk model ${meta.risk_model_version}`,
    meta.last_refresh_utc && `refreshed ${meta.last_refresh_utc.replace("T", " ").replace("Z", " UTC")}`,
  ];
  $("meta").textContent = parts.filter(Boolean).join(" · ");
}

async function start() {
  readHash();
  let meta;
  try {
    [meta] = await Promise.all([
      api.meta(),
      fetch("vendor/chicago_city_limits.geojson")
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`city outline: ${r.status}`))))
        .then((outline) => map.fitBounds(drawCityOutline(map, outline).getBounds(), { padding: [8, 8] }))
        .catch(showError),
    ]);
  } catch (error) {
    showError(error);
    $("status").textContent = "The API's metadata could not be read: nothing to show.";
    document.body.dataset.state = "error";
    return;
  }
  state.meta = meta;
  showMeta(meta);
  if (!meta.date_max) {
    showError(new Error("nothing is published yet: materialize the graph (chicago-risk materialize), then reload"));
    $("status").textContent = "No published layers.";
    document.body.dataset.state = "error";
    return;
  }
  const wanted = state.date;
  state.date = meta.date_max;
  setUpControls();
  setDate(wanted && wanted >= meta.date_min && wanted <= meta.date_max ? wanted : meta.date_max);
  if (wanted && state.date !== wanted) showError(new Error(`${wanted} is not published (${meta.date_min}..${meta.date_max}): showing ${state.date}`));
  if (!state.cell && state.rec) selectRecommendation(state.rec);
}

start();
