"""The map page at `/` in headless Chromium, over the small published city: it loads, draws the
city outline and every layer from the API (nothing from elsewhere), toggles layers, follows the
date picker (stepping over days that are not published), opens a cell's drill-down with its
charts (ending at the chosen date) and a recommendation's plan on a real click, and shows the
API's errors. Saves a screenshot under data/test-artifacts/."""

from __future__ import annotations

import math
import shutil
import struct
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
from selenium.common.exceptions import NoSuchElementException, TimeoutException
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from chicago_risk.publish.store import PublishedStore
from chicago_risk_tests.fixtures.browser import serve_api
from chicago_risk_tests.fixtures.published import published_without
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, RESOLUTION

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
    """The element's text, read in one script: the page redraws its legends, so a handle found
    first and read after can be stale by then (a CI run failed so)."""
    value = js(browser, "const e = document.querySelector(arguments[0]); return e && e.innerText", selector)
    if value is None:
        raise NoSuchElementException(f"no element matches {selector}")  # what waits ignore
    return value


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
    on_top = js(
        browser,
        "return document.elementFromPoint(arguments[0], arguments[1]).matches(arguments[2])",
        x,
        y,
        expect_selector,
    )
    assert on_top, f"{expect_selector} is not what lies on top at ({x}, {y}): " + js(
        browser, "return document.elementFromPoint(arguments[0], arguments[1]).outerHTML.slice(0, 300)", x, y
    )
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


def band_ranges(bands: dict) -> dict[str, str]:
    """layers.js `bandRanges`: the p_event_7d range of each band, from /api/meta's risk_bands."""
    medium, high = (f"{round(100 * bands[k], 1):g}%" for k in ("medium_from", "high_from"))
    return {"low": f"p < {medium}", "medium": f"{medium} ≤ p < {high}", "high": f"p ≥ {high}"}


def pick_date(browser, day: str):
    """Types `day` into the date picker, as a person choosing it would."""
    js(browser, """
        const input = document.getElementById('date');
        input.value = arguments[0];
        input.dispatchEvent(new Event('change', {bubbles: true}));
    """, day)


def wait_shown(browser, day: str):
    wait_until(browser, lambda: text(browser, "#status").startswith(f"{day}:"), f"the layers of {day}")
    wait_ready(browser)


# --- tests -----------------------------------------------------------------------------------

def test_page_loads_and_draws_every_layer_from_the_api(browser, base_url, get_json):
    meta = get_json("/api/meta")
    risk = get_json("/api/layers/risk")
    recommendations = get_json("/api/layers/recommendations")
    events = get_json("/api/layers/events")
    outline = get_json(meta["city_outline_path"])
    open_page(browser, base_url)

    date_input = browser.find_element(By.ID, "date")
    (run,) = meta["published_dates"]
    assert [date_input.get_attribute(a) for a in ("value", "min", "max")] == [run["last"], run["first"], run["last"]]
    assert run["last"] == meta["date_max"]
    assert risk["count"] > 100 and recommendations["count"] > 0 and events["count"] > 0
    assert count(browser, "path.hex-risk") == risk["count"]
    drawn = js(browser, "return [...document.querySelectorAll('path.hex-risk')].map(p => p.dataset.h3Id)")
    assert sorted(drawn) == sorted(f["properties"]["h3_id"] for f in risk["features"])
    assert count(browser, "path.rec-outline") == recommendations["count"]
    assert count(browser, "path.event-dot") == events["count"]
    assert count(browser, ".leaflet-outline-pane path") == 1, "the city outline"
    assert outline["features"][0]["properties"]["attribution"] in text(browser, ".leaflet-control-attribution")

    high = next(f["properties"]["h3_id"] for f in risk["features"] if f["properties"]["risk_band"] == "high")
    assert (
        js(browser, "return document.querySelector(arguments[0]).getAttribute('fill')", cell_centre_selector(high))
        == RISK_COLORS["high"]
    )
    legend = text(browser, "#legend")
    ranges = band_ranges(meta["risk_bands"])
    assert ranges["medium"] == "20% ≤ p < 40%", "the settings' bands, as the page writes them"
    for band in ("low", "medium", "high"):
        n = sum(f["properties"]["risk_band"] == band for f in risk["features"])
        assert f"{band} ({n} cells) · {ranges[band]}" in legend
    assert "Recommended pressure tests" in legend and "311 requests" in legend
    assert text(browser, "#status").startswith(meta["date_max"])
    assert meta["risk_model_version"] in text(browser, "#meta") and "not published" not in text(browser, "#meta")
    assert text(browser, "#date-note") == ""

    # Everything came from the API's own origin: no tiles, no CDN; the outline from its route.
    resources = js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources and all(url.startswith(base_url) for url in resources), resources
    assert f"{base_url}/api/city" in resources and not any(url.endswith(".geojson") for url in resources)
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
    pick_date(browser, first)
    wait_shown(browser, first)
    assert f"date={first}" in browser.current_url
    legend = text(browser, "#legend")
    for band in ("low", "medium", "high"):
        n = sum(f["properties"]["risk_band"] == band for f in risk["features"])
        assert f"{band} ({n} cells)" in legend
    assert not browser.find_element(By.ID, "day-prev").is_enabled()
    browser.find_element(By.ID, "day-next").click()
    second = str(date.fromisoformat(first) + timedelta(days=1))
    wait_until(browser, lambda: text(browser, "#status").startswith(second), f"the layers of {second}")
    assert text(browser, "#date-note") == "", "no day was stepped over"
    assert severe_console_messages(browser) == []


def test_the_date_picker_steps_over_days_that_are_not_published_and_says_so(browser, small_city, tmp_path_factory):
    # The cost run failed on one day and the 311 extract on the next: the risk layer has both
    # days, but neither has every layer, so the picker offers neither.
    gap = FIRST_DAY + timedelta(days=5)
    before, skipped, after = (
        str(gap - timedelta(days=1)),
        (str(gap), str(gap + timedelta(days=1))),
        str(gap + timedelta(days=2)),
    )
    url = published_without(small_city, tmp_path_factory.mktemp("gapped") / "published", {
        "cost_layer": [gap], "raw_311_requests": [gap + timedelta(days=1)],
    })
    with serve_api(url) as gapped:
        # A shared link to a day that is not published shows the nearest published day (one day
        # later here, two days earlier).
        open_page(browser, gapped, f"date={skipped[1]}", ready=False)
        wait_shown(browser, after)
        assert (
            text(browser, "#date-note") == f"{skipped[1]} is not published: showing {after}, the nearest published day"
        )
        assert "2 days in between not published (the date picker steps over them)" in text(browser, "#meta")
        previous = browser.find_element(By.ID, "day-prev")
        assert (
            previous.get_attribute("title")
            == f"previous published day: {before} (skips {skipped[0]} to {skipped[1]}: not published)"
        )

        previous.click()
        wait_shown(browser, before)
        assert text(browser, "#date-note") == f"skipped {skipped[0]} to {skipped[1]}: not published"
        assert (
            browser.find_element(By.ID, "date").get_attribute("value") == before
            and f"date={before}" in browser.current_url
        )
        assert (
            browser.find_element(By.ID, "day-next").get_attribute("title").startswith(f"next published day: {after} ")
        )

        browser.find_element(By.ID, "day-next").click()
        wait_shown(browser, after)
        assert text(browser, "#date-note") == f"skipped {skipped[0]} to {skipped[1]}: not published"

        pick_date(browser, skipped[0])  # one day after `before`, two before `after`
        wait_shown(browser, before)
        assert (
            text(browser, "#date-note") == f"{skipped[0]} is not published: showing {before}, the nearest published day"
        )
        assert text(browser, "#errors") == ""
    assert severe_console_messages(browser) == []


def test_the_cell_drilldown_history_ends_at_the_chosen_date(browser, base_url, get_json):
    chosen = str(FIRST_DAY + timedelta(days=4))
    risk = get_json(f"/api/layers/risk?date={chosen}")
    cell = max((f["properties"] for f in risk["features"]), key=lambda p: p["p_event_7d"])["h3_id"]
    history = get_json(f"/api/cell/{cell}/history?end_date={chosen}")["history"]
    assert len(history) == 5 < len(get_json(f"/api/cell/{cell}/history")["history"])

    open_page(browser, base_url, f"date={chosen}&layers=risk&cell={cell}", ready=False)
    wait_panel(browser, "cell", cell)
    titles = js(browser, "return [...document.querySelectorAll('#panel h3')].map(t => t.textContent)")
    assert f"History, {len(history)} days to {chosen}" in titles, titles
    line = js(browser, "return document.querySelector('#panel svg.chart path.chart-line').getAttribute('d')")
    assert line.count("L") == sum(p["p_event_7d"] is not None for p in history) - 1
    resources = js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(f"/api/cell/{cell}/history?" in url and f"end_date={chosen}" in url for url in resources), resources
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
    assert (
        js(browser, "return document.querySelector(arguments[0]).getAttribute('stroke')", cell_centre_selector(cell))
        == "#000"
    )
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
    wait_until(
        browser,
        lambda: js(browser, "return document.getElementById('panel').dataset.state") == "error",
        "the failed drill-down",
    )
    errors = text(browser, "#errors")
    assert f"/api/cell/{outside}" in errors and f"404 {outside} is not a cell of the city grid" in errors
    assert "is not a cell of the city grid" in text(browser, "#panel .panel-error")

    open_page(browser, base_url, "rec=no-such-plan")
    wait_until(
        browser, lambda: "no published recommendation" in text(browser, "#errors"), "the unknown recommendation's error"
    )
    assert "404 no published recommendation has rec_id 'no-such-plan'" in text(browser, "#errors")
    # The browser logs the failed requests; nothing else went wrong.
    assert all("404 (Not Found)" in message for message in severe_console_messages(browser))


def test_the_page_draws_from_the_compact_routes_and_a_date_switch_fetches_only_values(browser, base_url, get_json):
    meta = get_json("/api/meta")
    first = get_json(f"/api/layers/risk/values?date={meta['date_min']}")
    open_page(browser, base_url, "layers=risk")

    def fetched() -> list[str]:
        return js(
            browser, "return performance.getEntriesByType('resource').map(e => e.name.replace(location.origin, ''))"
        )

    on_load = fetched()
    assert on_load.count(meta["grid"]["path"]) == 1
    assert any(url.startswith("/api/layers/risk/values") for url in on_load)
    assert not any(url.startswith("/api/layers/risk?") or url == "/api/layers/risk" for url in on_load), on_load
    first_draw = js(browser, "return performance.getEntriesByName('first-draw').map(m => m.duration)")
    assert len(first_draw) == 1 and 0 < first_draw[0] < 15_000

    pick_date(browser, meta["date_min"])
    wait_shown(browser, meta["date_min"])
    switch = js(browser, "return performance.getEntriesByName('date-switch').map(m => m.duration)")
    assert len(switch) == 1 and 0 < switch[0] < 15_000
    new = fetched()[len(on_load):]
    assert new and all(url.startswith(("/api/layers/risk/values", "/api/cell/")) for url in new), new
    # The hexagons drawn are the day's values, painted on the shapes fetched once.
    by_band = dict(zip(first["values"]["h3_id"], first["values"]["risk_band"], strict=True))
    fills = js(
        browser,
        "return [...document.querySelectorAll('path.hex-risk')].map(p => [p.dataset.h3Id, p.getAttribute('fill')])",
    )
    assert len(fills) == first["count"] and all(RISK_COLORS[by_band[h3_id]] == fill for h3_id, fill in fills)
    assert severe_console_messages(browser) == []


def test_a_link_to_a_day_not_yet_published_shows_the_newest_with_a_note(browser, base_url, get_json):
    newest = get_json("/api/meta")["latest_date"]
    tomorrow = str(date.fromisoformat(newest) + timedelta(days=1))
    open_page(browser, base_url, f"date={tomorrow}")
    assert text(browser, "#status").startswith(f"{newest}:")
    assert text(browser, "#date-note") == f"{tomorrow} is not published yet: showing {newest}, the newest published day"
    assert text(browser, "#errors") == ""


def test_a_day_with_degraded_inputs_says_so_beside_the_picker(browser, small_city, tmp_path_factory):
    folder = tmp_path_factory.mktemp("degraded") / "published"
    shutil.copytree(small_city.root / "published", folder)
    store = PublishedStore(str(folder))
    day = FIRST_DAY + timedelta(days=3)
    weather = store.read_layer("weather_daily", day, day).with_columns(filled_by=pl.lit("forecast_api"))
    store.publish("weather_daily", [(day.isoformat(), weather)], RESOLUTION, "test")
    with serve_api(str(folder)) as served:
        open_page(browser, served, f"date={day}", ready=False)
        wait_shown(browser, str(day))
        assert (
            text(browser, "#date-note") == "degraded inputs: weather filled (forecast_api): the source lacked the day"
        )
        browser.find_element(By.ID, "day-next").click()
        wait_shown(browser, str(day + timedelta(days=1)))
        assert text(browser, "#date-note") == ""
    assert severe_console_messages(browser) == []
