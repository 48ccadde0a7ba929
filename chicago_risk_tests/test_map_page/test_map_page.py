"""The map page at `/` in headless Chromium, over the small published city: it loads, draws every
layer from the API (nothing from elsewhere), toggles layers, follows the date picker, opens a
cell's drill-down with its charts and a recommendation's plan on a real click, and shows the
API's errors. Saves a screenshot under data/test-artifacts/."""

from __future__ import annotations

import math
import struct
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ARTIFACTS = Path(__file__).resolve().parents[2] / "data" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "map_page.png"
RISK_COLORS = {"low": "#fdd49e", "medium": "#fc8d59", "high": "#d7301f"}  # layers.js


# --- helpers ---------------------------------------------------------------------------------

def js(browser, script: str, *args):
    return browser.execute_script(script, *args)


def page_state(browser) -> str:
    body, errors, status = js(browser, """return [document.body.dataset.state,
        document.getElementById('errors').innerText, document.getElementById('status').innerText]""")
    return f"body state {body!r}, errors {errors!r}, status {status!r}"


def wait_until(browser, condition, what: str, timeout: float = 15):
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda _: condition())
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}: {page_state(browser)}") from None


def wait_ready(browser):
    wait_until(browser, lambda: js(browser, "return document.body.dataset.state") in ("ready", "error"), "the layers")
    assert js(browser, "return document.body.dataset.state") == "ready", page_state(browser)


def open_page(browser, base_url: str, fragment: str = "", ready: bool = True):
    browser.get("about:blank")  # a new document each time: the page reads its hash on load
    browser.get(f"{base_url}/" + (f"#{fragment}" if fragment else ""))
    if ready:
        wait_ready(browser)


def count(browser, selector: str) -> int:
    return js(browser, "return document.querySelectorAll(arguments[0]).length", selector)


def text(browser, selector: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, selector).text


def click_checkbox(browser, layer: str):
    browser.find_element(By.CSS_SELECTOR, f'#layer-toggles input[value="{layer}"]').click()
    wait_ready(browser)


def click_inside(browser, target_selector: str, expect_selector: str):
    """A real mouse click at the centre of `target_selector` (a hexagon), after checking that
    the element on top there is `expect_selector`: what a person clicking there would hit."""
    x, y = js(browser, """
        const r = document.querySelector(arguments[0]).getBoundingClientRect();
        return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)];
    """, target_selector)
    on_top = js(browser, "return document.elementFromPoint(arguments[0], arguments[1]).matches(arguments[2])", x, y, expect_selector)
    assert on_top, f"{expect_selector} is not what lies on top at ({x}, {y})"
    actions = ActionBuilder(browser)
    actions.pointer_action.move_to_location(x, y)
    actions.pointer_action.click()
    actions.perform()


def wait_panel(browser, kind: str, ident: str):
    wait_until(
        browser,
        lambda: js(browser, "const p = document.getElementById('panel').dataset; return [p.kind, p.id, p.state]")
        in ([kind, ident, "ready"], [kind, ident, "error"]),
        f"the {kind} panel of {ident}",
    )
    state = js(browser, "return document.getElementById('panel').dataset.state")
    assert state == "ready", f"panel: {text(browser, '#panel')!r}; {page_state(browser)}"


def severe_console_messages(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def percent(value: float) -> str:
    """layers.js `percent`: JavaScript's toFixed(1) rounds ties up."""
    return f"{Decimal(100 * value).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def usd(value: float) -> str:
    return f"${math.floor(value + 0.5):,}"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def cell_centre_selector(h3_id: str) -> str:
    return f'path.hex-risk[data-h3-id="{h3_id}"]'


# --- tests -----------------------------------------------------------------------------------

def test_page_loads_and_draws_every_layer_from_the_api(browser, base_url, get_json):
    meta = get_json("/api/meta")
    risk = get_json("/api/layers/risk")
    recommendations = get_json("/api/layers/recommendations")
    events = get_json("/api/layers/events")
    open_page(browser, base_url)

    date_input = browser.find_element(By.ID, "date")
    assert [date_input.get_attribute(a) for a in ("value", "min", "max")] == [meta["date_max"], meta["date_min"], meta["date_max"]]
    assert risk["count"] > 100 and recommendations["count"] > 0 and events["count"] > 0
    assert count(browser, "path.hex-risk") == risk["count"]
    drawn = js(browser, "return [...document.querySelectorAll('path.hex-risk')].map(p => p.dataset.h3Id)")
    assert sorted(drawn) == sorted(f["properties"]["h3_id"] for f in risk["features"])
    assert count(browser, "path.rec-outline") == recommendations["count"]
    assert count(browser, "path.event-dot") == events["count"]
    assert count(browser, ".leaflet-outline-pane path") == 1, "the city outline"

    high = next(f["properties"]["h3_id"] for f in risk["features"] if f["properties"]["risk_band"] == "high")
    assert js(browser, "return document.querySelector(arguments[0]).getAttribute('fill')", cell_centre_selector(high)) == RISK_COLORS["high"]
    legend = text(browser, "#legend")
    for band in ("low", "medium", "high"):
        n = sum(f["properties"]["risk_band"] == band for f in risk["features"])
        assert f"{band} ({n} cells)" in legend
    assert "Recommended pressure tests" in legend and "311 requests" in legend
    assert text(browser, "#status").startswith(meta["date_max"])
    assert meta["risk_model_version"] in text(browser, "#meta")

    # Everything came from the API's own origin: no tiles, no CDN.
    resources = js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(base_url) for url in resources), resources
    assert count(browser, "img.leaflet-tile") == 0
    assert text(browser, "#errors") == ""
    assert severe_console_messages(browser) == []


def test_layer_toggles_add_and_remove_layers(browser, base_url, get_json):
    events = get_json("/api/layers/events")
    open_page(browser, base_url)
    assert count(browser, "path.event-dot") == events["count"]

    click_checkbox(browser, "events")
    assert count(browser, "path.event-dot") == 0
    assert count(browser, ".legend-events") == 0
    assert "events" not in browser.current_url.split("layers=")[1]
    click_checkbox(browser, "events")
    assert count(browser, "path.event-dot") == events["count"]
    assert count(browser, ".legend-events") == 1

    # Risk and cost both colour the cells: turning cost on turns risk off.
    cost = get_json("/api/layers/cost")
    click_checkbox(browser, "cost")
    assert not browser.find_element(By.CSS_SELECTOR, '#layer-toggles input[value="risk"]').is_selected()
    assert count(browser, "path.hex-risk") == 0
    assert count(browser, "path.hex-cost") == cost["count"]
    assert "expected_cost_usd_7d" in text(browser, ".legend-cost")
    browser.find_element(By.CSS_SELECTOR, '#cost-mode option[value="water"]').click()
    wait_until(browser, lambda: "cost_water_usd_mean" in text(browser, ".legend-cost"), "the water cost legend")
    wait_ready(browser)
    assert count(browser, "path.hex-cost") == cost["count"]
    click_checkbox(browser, "recommendations")
    assert count(browser, "path.rec-outline") == 0
    assert severe_console_messages(browser) == []


def test_the_date_picker_shows_another_published_day(browser, base_url, get_json):
    meta = get_json("/api/meta")
    first = meta["date_min"]
    risk = get_json(f"/api/layers/risk?date={first}")
    open_page(browser, base_url)
    js(browser, """
        const input = document.getElementById('date');
        input.value = arguments[0];
        input.dispatchEvent(new Event('change', {bubbles: true}));
    """, first)
    wait_until(browser, lambda: text(browser, "#status").startswith(first), f"the layers of {first}")
    wait_ready(browser)
    assert f"date={first}" in browser.current_url
    legend = text(browser, "#legend")
    for band in ("low", "medium", "high"):
        n = sum(f["properties"]["risk_band"] == band for f in risk["features"])
        assert f"{band} ({n} cells)" in legend
    assert not browser.find_element(By.ID, "day-prev").is_enabled()
    browser.find_element(By.ID, "day-next").click()
    second = str(date.fromisoformat(first) + timedelta(days=1))
    wait_until(browser, lambda: text(browser, "#status").startswith(second), f"the layers of {second}")
    assert severe_console_messages(browser) == []


def test_a_click_on_a_cell_opens_its_drilldown_with_its_history_chart(browser, base_url, get_json):
    risk = get_json("/api/layers/risk")
    recommendations = get_json("/api/layers/recommendations")
    in_clusters = {h for f in recommendations["features"] for h in f["properties"]["member_h3_ids"]}
    # The riskiest cell outside every recommendation (an outline on top would take the click).
    cell = max(
        (f["properties"] for f in risk["features"] if f["properties"]["h3_id"] not in in_clusters),
        key=lambda p: p["p_event_7d"],
    )["h3_id"]
    detail = get_json(f"/api/cell/{cell}")
    history = get_json(f"/api/cell/{cell}/history")["history"]

    open_page(browser, base_url, "layers=risk,recommendations")  # no event dots over the cell
    click_inside(browser, cell_centre_selector(cell), cell_centre_selector(cell))
    wait_panel(browser, "cell", cell)

    panel = text(browser, "#panel")
    assert cell in panel and percent(detail["risk"]["p_event_7d"]) in panel
    assert usd(detail["cost"]["expected_cost_usd_7d"]) in panel
    for sentence in detail["drivers_summary"]:
        assert sentence in panel
    assert count(browser, "#panel svg.chart") == 2
    # The risk chart: one line point per published day, a bar per day with requests, and the day shown marked.
    line = js(browser, "return document.querySelector('#panel svg.chart path.chart-line').getAttribute('d')")
    assert line.count("L") == sum(p["p_event_7d"] is not None for p in history) - 1
    assert count(browser, "#panel svg.chart .chart-bars rect") == sum(bool(p["events"]) for p in history)
    assert count(browser, "#panel svg.chart .chart-marker") == 2
    assert js(browser, "return document.querySelector(arguments[0]).getAttribute('stroke')", cell_centre_selector(cell)) == "#000"
    assert f"cell={cell}" in browser.current_url

    # Events back on, and the picture of it all.
    click_checkbox(browser, "events")
    assert count(browser, "path.event-dot") > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    width, height = png_size(SCREENSHOT)
    assert width >= 1200 and height >= 700 and SCREENSHOT.stat().st_size > 20_000
    assert severe_console_messages(browser) == []


def test_a_click_on_a_recommendation_shows_its_plan(browser, base_url, get_json):
    recommendation = get_json("/api/layers/recommendations")["features"][0]["properties"]
    rec_id = recommendation["rec_id"]
    plan = get_json(f"/api/recommendations/{rec_id}")
    member = plan["member_h3_ids"][0]

    open_page(browser, base_url, "layers=risk,recommendations")
    click_inside(browser, cell_centre_selector(member), f'path.rec-outline[data-rec-id="{rec_id}"]')
    wait_panel(browser, "recommendation", rec_id)

    panel = text(browser, "#panel")
    params = plan["plan_params"]
    assert rec_id in panel and plan["action_type"].replace("_", " ") in panel
    assert f"{params['delta_p_psi']:g} psi" in panel and params["time_window"] in panel
    assert (params["night"] or "not scheduled") in panel
    assert usd(plan["expected_savings_usd"]) in panel and usd(plan["expected_savings_usd_p90"]) in panel
    for reason in plan["why"]:
        assert reason in panel
    assert count(browser, "#panel button.cell-link") == len(plan["member_h3_ids"])
    assert f"rec={rec_id}" in browser.current_url

    # From the plan to one of its cells.
    browser.find_element(By.XPATH, f'//button[@class="cell-link"][text()="{member}"]').click()
    wait_panel(browser, "cell", member)
    assert count(browser, "#panel svg.chart") == 2
    assert severe_console_messages(browser) == []


def test_api_errors_are_shown_in_the_page(browser, base_url):
    outside = "872a1072dffffff"  # an H3 cell of the grid's resolution in New York
    open_page(browser, base_url, f"cell={outside}")
    wait_until(browser, lambda: js(browser, "return document.getElementById('panel').dataset.state") == "error", "the failed drill-down")
    errors = text(browser, "#errors")
    assert f"/api/cell/{outside}" in errors and f"404 {outside} is not a cell of the city grid" in errors
    assert "is not a cell of the city grid" in text(browser, "#panel .panel-error")

    open_page(browser, base_url, "rec=no-such-plan")
    wait_until(browser, lambda: "no published recommendation" in text(browser, "#errors"), "the unknown recommendation's error")
    assert "404 no published recommendation has rec_id 'no-such-plan'" in text(browser, "#errors")
    # The browser logs the failed requests; nothing else went wrong.
    assert all("404 (Not Found)" in message for message in severe_console_messages(browser))
