"""The drill-down routes: a cell's history, a cell on a day, a recommendation."""

from datetime import date, timedelta

import h3
import polars as pl
import pytest

from api.schemas import CellDetail, CellHistory, RecommendationDetail
from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.geojson import assert_geometry
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, LAST_DAY, RESOLUTION


@pytest.fixture(scope="module")
def published(small_city) -> dict[str, pl.DataFrame]:
    store = small_city.store()
    return {
        layer: store.read_layer(layer)
        for layer in ("risk_predictions", "cost_layer", "raw_311_requests", "weather_daily",
                      "recommendation_clusters", "recommendation_schedule")
    }


@pytest.fixture(scope="module")
def busy_cell(published) -> str:
    """The cell with the most requests over the published days."""
    return published["raw_311_requests"].group_by("h3_id").len().sort("len", "h3_id", descending=True)["h3_id"][0]


def _incidents(events: pl.DataFrame, cell: str) -> dict[date, int]:
    counted = events.filter((pl.col("h3_id") == cell) & ~pl.col("is_duplicate")).group_by("day").agg(
        pl.col("incident_key").n_unique()
    )
    return dict(counted.iter_rows())


def test_history_is_one_point_per_published_day_with_risk_cost_and_incidents(client, published, busy_cell):
    response = client.get(f"/api/cell/{busy_cell}/history")
    assert response.status_code == 200
    body = CellHistory.model_validate(response.json())
    assert body.h3_id == busy_cell and body.days == 180 and body.end_date == LAST_DAY
    assert [p.date for p in body.history] == [FIRST_DAY + timedelta(days=i) for i in range(14)]
    risk = published["risk_predictions"].filter(pl.col("h3_id") == busy_cell)
    cost = published["cost_layer"].filter(pl.col("h3_id") == busy_cell)
    incidents = _incidents(published["raw_311_requests"], busy_cell)
    assert sum(incidents.values()) > 0
    for point in body.history:
        assert point.p_event_7d == pytest.approx(risk.filter(pl.col("day") == point.date)["p_event_7d"][0], abs=5e-5)
        assert point.risk_band == risk.filter(pl.col("day") == point.date)["risk_band"][0]
        assert point.expected_cost_usd == pytest.approx(
            cost.filter(pl.col("day") == point.date)["expected_cost_usd_7d"][0], abs=0.01
        )
        assert point.events == incidents.get(point.date, 0)
    short = client.get(f"/api/cell/{busy_cell}/history?days=3").json()["history"]
    assert [p["date"] for p in short] == [str(LAST_DAY - timedelta(days=d)) for d in (2, 1, 0)]


def test_history_ends_at_end_date_and_counts_days_back_from_it(client, busy_cell):
    full = {p["date"]: p for p in client.get(f"/api/cell/{busy_cell}/history").json()["history"]}
    end = LAST_DAY - timedelta(days=4)
    body = CellHistory.model_validate(client.get(f"/api/cell/{busy_cell}/history?end_date={end}&days=5").json())
    assert body.end_date == end and body.days == 5
    assert [p.date for p in body.history] == [end - timedelta(days=d) for d in (4, 3, 2, 1, 0)]
    assert [p.model_dump(mode="json") for p in body.history] == [full[str(p.date)] for p in body.history]
    # A window reaching before the first published day holds the published days only.
    early = client.get(f"/api/cell/{busy_cell}/history?end_date={FIRST_DAY + timedelta(days=1)}&days=30").json()
    assert [p["date"] for p in early["history"]] == [str(FIRST_DAY), str(FIRST_DAY + timedelta(days=1))]


@pytest.mark.parametrize(
    ("asked", "error", "nearest"),
    [(LAST_DAY + timedelta(days=10), "not_yet_published", [LAST_DAY - timedelta(days=d) for d in (2, 1, 0)]),
     (FIRST_DAY - timedelta(days=1), "unknown_date", [FIRST_DAY + timedelta(days=d) for d in (0, 1, 2)])],
)
def test_an_unpublished_end_date_is_a_404_with_the_range_and_nearest_dates(client, busy_cell, asked, error, nearest):
    response = client.get(f"/api/cell/{busy_cell}/history?end_date={asked}")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert (detail["error"], detail["parameter"]) == (error, "end_date")
    assert (detail["date_min"], detail["date_max"]) == (str(FIRST_DAY), str(LAST_DAY))
    assert detail["nearest_dates"] == [str(d) for d in nearest]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/history?days=0", "days"),
        ("/history?days=366", "days"),
        ("/history?days=x", "days"),
        ("?date=2024-5-1", "date"),
        ("/history?end_date=2024-5-20", "end_date"),
        ("/history?end_date=2024-02-30", "end_date"),
        ("/history?end_date=1716163200", "end_date"),
    ],
)
def test_cell_routes_validate_their_query(client, busy_cell, path, parameter):
    response = client.get(f"/api/cell/{busy_cell}{path}")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == parameter


@pytest.mark.parametrize("suffix", ["", "/history"])
def test_cell_ids_are_validated_and_unknown_cells_are_404(client, suffix):
    # Well-formed ids (15 hexadecimal characters, as the schema says) that are no cell of the
    # grid are 404 with the reason; malformed ones 422.
    outside = h3.latlng_to_cell(40.71, -74.0, RESOLUTION)  # New York: a valid cell, not Chicago's
    finer = h3.latlng_to_cell(41.88, -87.63, RESOLUTION + 2)
    for cell, status in (
        (outside, 404),
        (finer, 404),
        ("0123456789abcde", 404),
        ("87275934zffffff", 422),
        ("123", 422),
    ):
        response = client.get(f"/api/cell/{cell}{suffix}")
        assert response.status_code == status, cell
        detail = response.json()["detail"]
        if status == 404:
            assert detail["error"] == "unknown_cell" and detail["parameter"] == "h3_id"
            assert (detail["date_min"], detail["date_max"]) == (str(FIRST_DAY), str(LAST_DAY))
        else:
            assert detail[0]["loc"] == ["path", "h3_id"]


def test_cell_detail_on_a_day(client, published, busy_cell):
    day = LAST_DAY - timedelta(days=2)
    response = client.get(f"/api/cell/{busy_cell}?date={day}")
    assert response.status_code == 200
    body = CellDetail.model_validate(response.json())
    row = (
        published["risk_predictions"].filter((pl.col("h3_id") == busy_cell) & (pl.col("day") == day)).row(0, named=True)
    )
    assert body.risk is not None and body.cost is not None
    assert body.date == day and body.risk.p_event_7d == pytest.approx(row["p_event_7d"], abs=5e-5)
    assert body.cost.h3_id == busy_cell and body.cost.expected_cost_usd_7d is not None
    assert [p.date for p in body.series] == [FIRST_DAY + timedelta(days=i) for i in range((day - FIRST_DAY).days + 1)]
    weather = published["weather_daily"].filter(pl.col("day") <= day)
    assert [w.date for w in body.weather] == weather["day"].to_list()
    assert [w.tmin_c for w in body.weather] == weather["tmin_c"].to_list()
    expected = published["raw_311_requests"].filter((pl.col("h3_id") == busy_cell) & (pl.col("day") <= day))
    newest = expected.sort("created_at", "sr_number", descending=True)["sr_number"].head(50)
    assert [e.sr_number for e in body.recent_events] == newest.to_list()
    created = [e.created_date for e in body.recent_events]
    assert created == sorted(created, reverse=True)
    assert body.drivers_summary[0].startswith(row["risk_band"].capitalize() + " risk:")
    assert len(body.drivers_summary) == 1 + len(row["drivers"])


def test_an_explained_cell_has_one_sentence_per_driver(client, published):
    row = published["risk_predictions"].filter(pl.col("drivers").list.len() > 0).row(0, named=True)
    body = client.get(f"/api/cell/{row['h3_id']}?date={row['day']}").json()
    assert body["drivers_summary"][1].startswith(row["drivers"][0]["label"])
    assert ("raises" in body["drivers_summary"][1]) == (row["drivers"][0]["contribution"] > 0)


def test_recommendation_detail(client, published):
    cluster = published["recommendation_clusters"].sort("day").row(-1, named=True)
    response = client.get(f"/api/recommendations/{cluster['rec_id']}")
    assert response.status_code == 200
    body = RecommendationDetail.model_validate(response.json())
    assert body.date == cluster["day"] and body.member_h3_ids == cluster["member_h3_ids"]
    assert body.savings_breakdown.model_dump() == cluster["savings_breakdown"]
    assert body.why == cluster["rationale"]
    plan = published["recommendation_schedule"].filter(pl.col("rec_id") == cluster["rec_id"]).row(0, named=True)
    assert (body.plan_params.night, body.plan_params.slot) == (plan["night"], plan["slot"])
    assert body.plan_params.delta_p_psi == cluster["delta_p_psi"]
    assert body.linked_events and {e.h3_id for e in body.linked_events} <= set(cluster["member_h3_ids"])
    assert_geometry(response.json()["outline"])
    assert set(body.member_h3_ids) <= set(city_cells(RESOLUTION))


def test_an_older_recommendation_is_found_and_an_unknown_one_is_404(client, published):
    oldest = published["recommendation_clusters"].sort("day").row(0, named=True)
    assert client.get(f"/api/recommendations/{oldest['rec_id']}").json()["date"] == str(oldest["day"])
    response = client.get("/api/recommendations/no-such-plan")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["error"] == "unknown_recommendation"
    assert (detail["date_min"], detail["date_max"]) == (str(FIRST_DAY), str(LAST_DAY))


def test_drilldowns_answer_304_to_their_etag(client, busy_cell, published):
    rec_id = published["recommendation_clusters"]["rec_id"][0]
    history = f"/api/cell/{busy_cell}/history"
    for url in (
        history,
        f"{history}?end_date={FIRST_DAY}",
        f"/api/cell/{busy_cell}",
        f"/api/recommendations/{rec_id}",
        "/api/meta",
    ):
        first = client.get(url)
        assert first.headers["etag"].startswith('W/"')
        assert client.get(url, headers={"If-None-Match": first.headers["etag"]}).status_code == 304, url
