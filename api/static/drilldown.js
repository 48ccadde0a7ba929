// The side panel: a cell's drill-down (GET /api/cell/{h3_id} and its /history, both ending at the
// chosen date) with its charts, and a recommendation's plan (GET /api/recommendations/{rec_id}).
// Failed requests are shown in the panel and reported through `onError`; the parts that did
// arrive are still shown.

import { api } from "./api.js";
import { timeSeriesChart } from "./chart.js";
import { h } from "./dom.js";
import { RISK_COLORS, percent, usd } from "./layers.js";

export const HISTORY_DAYS = 180;
const LIST_LIMIT = 8;
let shown = 0; // the latest request for the panel wins; earlier answers are dropped

function header(title, subtitle, onClose) {
  return h("header", { className: "panel-header" },
    h("div", {}, h("h2", {}, title), subtitle ? h("p", { className: "subtitle" }, subtitle) : null),
    h("button", { type: "button", className: "close", "aria-label": "close the panel", onclick: onClose }, "×"));
}

function facts(rows) {
  return h("dl", { className: "facts" }, rows.filter(Boolean).flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function section(title, ...content) {
  return h("section", {}, h("h3", {}, title), ...content);
}

function failed(error) {
  return h("p", { className: "panel-error" }, error.message);
}

function eventList(events, { withCell = false } = {}) {
  if (!events.length) return h("p", { className: "muted" }, "none");
  const items = events.slice(0, LIST_LIMIT).map((e) =>
    h("li", {}, h("span", { className: "event-status" }, e.status), " ", e.summary,
      h("span", { className: "muted" }, ` · ${e.created_date.slice(0, 10)}${withCell ? ` · ${e.h3_id}` : ""}`)));
  const more = events.length > LIST_LIMIT ? h("li", { className: "muted" }, `and ${events.length - LIST_LIMIT} more`) : null;
  return h("ul", { className: "events" }, items, more);
}

function bandChip(band) {
  return h("span", { className: `chip band-${band}`, style: `background:${RISK_COLORS[band] || "#ccc"}` }, band);
}

function riskSection(detail) {
  const risk = detail.risk;
  if (!risk) return section("Risk", h("p", { className: "muted" }, `no risk published for this cell on ${detail.date}`));
  return section("Risk",
    h("p", { className: "headline" }, h("strong", {}, percent(risk.p_event_7d)), " chance of a leak-related 311 request in 7 days ", bandChip(risk.risk_band)),
    facts([["confidence", percent(risk.confidence)], ["expected requests", risk.expected_events.toFixed(2)]]));
}

function driversSection(detail) {
  if (!detail.risk) return null;
  return section("Why this risk",
    detail.drivers_summary.length
      ? h("ul", { className: "drivers" }, detail.drivers_summary.map((sentence) => h("li", {}, sentence)))
      : h("p", { className: "muted" }, "no drivers computed for this cell"));
}

function costSection(cost) {
  if (!cost) return section("Cost", h("p", { className: "muted" }, "no cost published for this cell and day"));
  return section("Expected cost, next 7 days",
    facts([
      ["total (mean)", usd(cost.expected_cost_usd_7d)],
      ["p90", usd(cost.p90_cost)],
      ["energy", usd(cost.cost_energy_usd_mean)],
      ["water", usd(cost.cost_water_usd_mean)],
      ["repair", usd(cost.cost_repair_usd_mean)],
      ["leak volume", cost.leak_volume_m3_mean === null ? "n/a" : `${cost.leak_volume_m3_mean.toFixed(1)} m³`],
      ["rank among cells", cost.cost_quantile === null ? "n/a" : percent(cost.cost_quantile)],
    ]));
}

function historySection(history, date) {
  const points = history.history;
  if (!points.length) return section("History", h("p", { className: "muted" }, "no history published"));
  const span = points.length > 1 ? `${points.length} days to ${points[points.length - 1].date}` : points[0].date;
  return section(`History, ${span}`,
    timeSeriesChart(points, {
      title: `p_event_7d and observed requests of ${history.h3_id}`,
      line: { key: "p_event_7d", label: "p(event in 7 days)", color: "#d7301f", format: (v) => `${Math.round(100 * v)}%` },
      bars: { key: "events", label: "requests observed that day", color: "#9ecae1" },
      markerDate: date,
    }),
    timeSeriesChart(points, {
      title: `expected 7-day cost of ${history.h3_id}`,
      line: { key: "expected_cost_usd", label: "expected 7-day cost (USD)", color: "#08519c", format: (v) => usd(v) },
      markerDate: date,
    }));
}

function weatherSection(weather) {
  if (!weather.length) return null;
  const rows = weather.slice(-7).map((w) => h("tr", {},
    h("td", {}, w.date), h("td", {}, w.tmin_c === null ? "n/a" : `${w.tmin_c.toFixed(1)} °C`),
    h("td", {}, w.precip_mm === null ? "n/a" : `${w.precip_mm.toFixed(1)} mm`), h("td", {}, w.freeze ? "freeze" : "")));
  return section("Weather",
    h("table", { className: "weather" },
      h("thead", {}, h("tr", {}, h("th", {}, "date"), h("th", {}, "min"), h("th", {}, "rain"), h("th", {}, ""))),
      h("tbody", {}, rows)));
}

export async function showCell(panel, h3Id, date, { onError, onClose }) {
  const request = ++shown;
  panel.replaceChildren(header(`Cell ${h3Id}`, `on ${date}`, onClose), h("p", { className: "muted" }, "Loading…"));
  panel.dataset.kind = "cell";
  panel.dataset.id = h3Id;
  panel.dataset.state = "loading";
  const [detail, history] = await Promise.allSettled([api.cell(h3Id, date), api.cellHistory(h3Id, HISTORY_DAYS, date)]);
  if (request !== shown) return;
  const parts = [header(`Cell ${h3Id}`, `on ${date}`, onClose)];
  if (detail.status === "fulfilled") parts.push(riskSection(detail.value));
  else {
    parts.push(section("Risk and cost", failed(detail.reason)));
    onError(detail.reason);
  }
  if (history.status === "fulfilled") parts.push(historySection(history.value, date));
  else {
    parts.push(section("History", failed(history.reason)));
    onError(history.reason);
  }
  if (detail.status === "fulfilled") {
    const { value } = detail;
    parts.push(driversSection(value), costSection(value.cost), weatherSection(value.weather),
      section("Recent 311 requests", eventList(value.recent_events)));
  }
  panel.replaceChildren(...parts.filter(Boolean));
  panel.dataset.state = detail.status === "fulfilled" && history.status === "fulfilled" ? "ready" : "error";
}

function savingsBar(breakdown) {
  const parts = [["water", breakdown.water_usd, "#6baed6"], ["energy", breakdown.energy_usd, "#fdae6b"], ["repair", breakdown.repair_usd, "#74c476"]];
  const total = parts.reduce((sum, [, v]) => sum + (v || 0), 0);
  const bar = h("div", { className: "stacked-bar", role: "img", "aria-label": "savings by kind" },
    parts.filter(([, v]) => v > 0).map(([name, v, color]) =>
      h("span", { style: `width:${(100 * v) / total}%;background:${color}`, title: `${name} ${usd(v)}` })));
  return [total > 0 ? bar : null, facts(parts.map(([name, v]) => [name, usd(v)]))];
}

export async function showRecommendation(panel, recId, { onError, onClose, onCell }) {
  const request = ++shown;
  panel.replaceChildren(header(`Recommendation ${recId}`, null, onClose), h("p", { className: "muted" }, "Loading…"));
  panel.dataset.kind = "recommendation";
  panel.dataset.id = recId;
  panel.dataset.state = "loading";
  let rec;
  try {
    rec = await api.recommendation(recId);
  } catch (error) {
    if (request !== shown) return;
    panel.replaceChildren(header(`Recommendation ${recId}`, null, onClose), failed(error));
    panel.dataset.state = "error";
    onError(error);
    return;
  }
  if (request !== shown) return;
  const plan = rec.plan_params;
  const psi = plan.delta_p_psi === null ? "n/a" : `${plan.delta_p_psi > 0 ? "+" : ""}${plan.delta_p_psi} psi`;
  panel.replaceChildren(
    header(`Recommendation ${rec.rec_id}`, `${rec.action_type.replaceAll("_", " ")}, published ${rec.date}`, onClose),
    section("Plan", h("div", { className: "plan" }, facts([
      ["pressure change", psi],
      ["time window", plan.time_window || "n/a"],
      ["night", plan.night || "not scheduled"],
      plan.slot !== null ? ["slot", String(plan.slot)] : null,
    ]))),
    section("Expected savings",
      h("p", { className: "headline" }, h("strong", {}, usd(rec.expected_savings_usd)), ` expected, ${usd(rec.expected_savings_usd_p90)} at p90`),
      ...savingsBar(rec.savings_breakdown)),
    section("Why", h("ul", { className: "why" }, rec.why.map((reason) => h("li", {}, reason)))),
    section(`Cells (${rec.member_h3_ids.length})`, h("div", { className: "cells" },
      rec.member_h3_ids.map((id) => h("button", { type: "button", className: "cell-link", onclick: () => onCell(id) }, id)))),
    section("Linked 311 requests", eventList(rec.linked_events, { withCell: true })),
  );
  panel.dataset.state = "ready";
}
