"""`GET /api/grid` (every cell's shape, once) and `GET /api/layers/{risk,cost}/values` (columns,
JSON or Arrow IPC): the same cells and numbers as the GeoJSON layers, with the same filters."""


import pyarrow as pa
import pytest

from api.grid import served_grid
from api.schemas import CostValues, GridLayer, RiskValues
from chicago_risk.grid import city_cells
from chicago_risk_tests.fixtures.geojson import assert_feature_collection, assert_is_hexagon_of
from chicago_risk_tests.fixtures.small_city import FIRST_DAY, RESOLUTION

ARROW = "application/vnd.apache.arrow.stream"


def test_the_grid_is_every_cell_once_with_a_version_of_its_own(client):
    response = client.get("/api/grid", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "public, max-age=86400"
    grid = GridLayer.model_validate(response.json())
    assert [f.properties.h3_id for f in grid.features] == list(city_cells(RESOLUTION)) and grid.count == len(
        grid.features
    )
    assert_feature_collection(response.json())
    for feature in response.json()["features"]:
        assert_is_hexagon_of(feature["geometry"], feature["properties"]["h3_id"])
    assert grid.h3_resolution == RESOLUTION and response.headers["etag"] == f'W/"grid-{grid.grid_version}"'
    meta = client.get("/api/meta").json()["grid"]
    assert (meta["version"], meta["path"]) == (grid.grid_version, "/api/grid")
    again = client.get("/api/grid", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "public, max-age=86400"


def test_the_grid_version_follows_the_cells():
    assert served_grid(RESOLUTION).version != served_grid(RESOLUTION + 1).version
    assert served_grid(RESOLUTION).version == served_grid(RESOLUTION).version


def _columns_of(features: list[dict], names: list[str]) -> dict[str, list]:
    return {name: [f["properties"][name] for f in features] for name in names}


@pytest.mark.parametrize(
    ("query", "model"),
    [
        ("risk?date={day}", RiskValues),
        ("risk?min_risk=0.2&bbox=-87.8,41.75,-87.6,41.95", RiskValues),
        ("cost?cost_mode=water&min_cost_usd=5", CostValues),
        ("cost?date={day}", CostValues),
    ],
)
def test_values_are_the_geojson_layers_numbers_as_columns(client, query, model):
    path, _, params = query.format(day=FIRST_DAY).partition("?")
    layer = client.get(f"/api/layers/{path}?{params}").json()
    response = client.get(f"/api/layers/{path}/values?{params}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = model.model_validate(response.json())
    assert (str(body.date), body.partition, body.count) == (layer["date"], layer["partition"], layer["count"])
    assert body.grid_version == served_grid(RESOLUTION).version
    values = response.json()["values"]
    assert values == _columns_of(layer["features"], list(values))
    assert "drivers" not in values and len(values["h3_id"]) == layer["count"] > 0


def test_arrow_when_asked_with_the_same_values_and_its_own_etag(client):
    as_json = client.get("/api/layers/risk/values")
    response = client.get("/api/layers/risk/values", headers={"Accept": ARROW, "Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"] == ARROW
    assert response.headers["content-encoding"] == "gzip" and response.headers["vary"] == "Accept, Accept-Encoding"
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.to_pydict() == as_json.json()["values"]
    assert table.schema.field("h3_id").type == pa.string() and table.schema.field("p_event_7d").type == pa.float64()
    assert table.schema.metadata[b"grid_version"].decode() == as_json.json()["grid_version"]
    assert response.headers["etag"] != as_json.headers["etag"]
    assert (
        client.get(
            "/api/layers/risk/values", headers={"Accept": ARROW, "If-None-Match": response.headers["etag"]}
        ).status_code
        == 304
    )
    not_arrow = client.get("/api/layers/risk/values", headers={"Accept": f"{ARROW};q=0, application/json"})
    assert not_arrow.headers["content-type"] == "application/json"


def test_values_are_a_fraction_of_the_geojson(client):
    def size(path: str, **headers) -> int:
        return len(client.get(path, headers={"Accept-Encoding": "identity", **headers}).content)

    layer = size("/api/layers/risk")
    assert size("/api/layers/risk/values") * 5 < layer and size("/api/layers/risk/values", Accept=ARROW) * 5 < layer
