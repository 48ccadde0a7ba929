// Calls to the read API (the routes of MAP_UI_CONTRACT.md). Every failure becomes an ApiError
// whose message says which request failed and what the API answered, for the page to show.

export class ApiError extends Error {
  constructor(path, status, message, detail) {
    super(`${path}: ${status ? `${status} ` : ""}${message}`);
    this.name = "ApiError";
    this.path = path;
    this.status = status;
    this.detail = detail;
  }
}

// The API's error bodies: {detail: {message, date_min, date_max, ...}} for 404 and its own 422s,
// {detail: [{loc, msg}, ...]} for FastAPI's validation errors, {detail: "text"} otherwise.
function describe(body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`).join("; ");
  }
  if (detail && detail.message) return detail.message;
  return null;
}

export async function getJson(path, params = {}, init = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  const url = query.toString() ? `${path}?${query}` : path;
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json, application/geo+json" }, ...init });
  } catch (error) {
    throw new ApiError(url, 0, `the API did not answer (${error.message})`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (response.ok) throw new ApiError(url, response.status, "the answer is not JSON");
  }
  if (!response.ok) {
    const message = describe(body) || text.slice(0, 200) || response.statusText;
    throw new ApiError(url, response.status, message, body && body.detail);
  }
  return body;
}

export const api = {
  meta: () => getJson("/api/meta"),
  city: (path) => getJson(path), // the route /api/meta names (city_outline_path)
  // Every cell's shape, once (the browser keeps it a day); `reload` when the grid changed.
  grid: (path, reload = false) => getJson(path, {}, reload ? { cache: "reload" } : {}),
  riskValues: (date) => getJson("/api/layers/risk/values", { date }),
  costValues: (date, costMode) => getJson("/api/layers/cost/values", { date, cost_mode: costMode }),
  recommendations: (date) => getJson("/api/layers/recommendations", { date }),
  events: (startDate, endDate) => getJson("/api/layers/events", { start_date: startDate, end_date: endDate }),
  cell: (h3Id, date) => getJson(`/api/cell/${encodeURIComponent(h3Id)}`, { date }),
  cellHistory: (h3Id, days, endDate) =>
    getJson(`/api/cell/${encodeURIComponent(h3Id)}/history`, { days, end_date: endDate }),
  recommendation: (recId) => getJson(`/api/recommendations/${encodeURIComponent(recId)}`),
};
