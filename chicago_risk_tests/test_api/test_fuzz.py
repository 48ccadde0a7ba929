"""Property-based fuzzing of the API on the small published city: no input gives a 5xx, and every
response conforms to the app's own OpenAPI schema (status, content type, headers, body).

- Schemathesis generates valid and invalid requests for every operation of the schema.
- A second property draws requests a map client could send (real cells, dates around the
  published range, boxes inside the city), which reach the 200 paths the schema alone rarely hits.

Every check runs, `positive_data_acceptance` included: no request valid by the schema is refused
(400 or 422); one naming an unpublished date or a cell outside the grid is a 404, which the check
accepts. Driven through schemathesis's Python API and hypothesis (its pytest plugin is not used).

Bounded: a fixed number of examples, derandomized so every run sees the same cases.
"""

from datetime import timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api.schemas import CellDetail, CellHistory, CostLayer, EventsLayer, RecommendationsLayer, RiskLayer
from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.api import API_KEY, make_app
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, LAST_DAY, RESOLUTION

BOUNDED = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def app(small_city):
    return make_app(small_city.published_url, rate_limit_per_minute=1_000_000)


@pytest.fixture(scope="module")
def schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gives_a_server_error_or_breaks_the_schema(schema, mode):
    operations = _operations(schema)
    assert {op.path for op in operations} >= {
        "/api/meta",
        "/api/city",
        "/api/grid",
        "/api/layers/risk",
        "/api/layers/risk/values",
        "/api/layers/cost/values",
        "/api/layers/cost",
        "/api/layers/recommendations",
        "/api/layers/events",
        "/api/cell/{h3_id}/history",
        "/api/cell/{h3_id}",
        "/api/recommendations/{rec_id}",
        "/api/v1/predict/flood",
        "/health",
        "/ready",
        "/metrics",
    }
    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not (operation.query or operation.path_parameters or operation.body):
            continue  # nothing to make invalid (/health, /ready, /metrics, /api/meta)

        @BOUNDED
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            case.call_and_validate(headers={"X-API-Key": API_KEY})

        check()


days = st.integers(-3, (LAST_DAY - FIRST_DAY).days + 3).map(lambda n: FIRST_DAY + timedelta(days=n))
cells = st.sampled_from(city_cells(RESOLUTION))
lons, lats = st.floats(-87.95, -87.5), st.floats(41.64, 42.03)
boxes = st.tuples(lons, lats, lons, lats).map(
    lambda b: f"{min(b[0], b[2])},{min(b[1], b[3])},{max(b[0], b[2])},{max(b[1], b[3])}"
)
# (url, the model a 200 response must validate against)
requests = st.one_of(
    st.builds(
        lambda d, b, m: (f"/api/layers/risk?date={d}&bbox={b}&min_risk={m}", RiskLayer), days, boxes, st.floats(0, 1)
    ),
    st.builds(
        lambda d, m, c: (f"/api/layers/cost?date={d}&cost_mode={m}&min_cost_usd={c}", CostLayer),
        days,
        st.sampled_from(["total", "energy", "water", "repair"]),
        st.floats(0, 5_000),
    ),
    st.builds(lambda d, b: (f"/api/layers/recommendations?date={d}&bbox={b}", RecommendationsLayer), days, boxes),
    st.builds(
        lambda d, n, t: (f"/api/layers/events?start_date={d}&end_date={d + timedelta(days=n)}&status={t}", EventsLayer),
        days,
        st.integers(-1, 95),
        st.sampled_from(["open", "closed", "all"]),
    ),
    st.builds(lambda c, n: (f"/api/cell/{c}/history?days={n}", CellHistory), cells, st.integers(1, 365)),
    st.builds(
        lambda c, n, d: (f"/api/cell/{c}/history?days={n}&end_date={d}", CellHistory), cells, st.integers(1, 365), days
    ),
    st.builds(lambda c, d: (f"/api/cell/{c}?date={d}", CellDetail), cells, days),
)


def test_client_shaped_requests_never_fail_the_server(app):
    with TestClient(app) as client:

        @BOUNDED
        @given(request=requests)
        def check(request):
            url, model = request
            response = client.get(url)
            assert response.status_code in (200, 404, 422), (url, response.text)
            if response.status_code == 200:
                model.model_validate(response.json())

        check()
