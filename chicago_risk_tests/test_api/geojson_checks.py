"""RFC 7946 checks written independently of the API's own geometry code."""

import h3

# Chicago's bounds with a margin: [lon, lat] swapped would fall far outside.
LON, LAT = (-88.0, -87.4), (41.6, 42.1)


def signed_area(ring: list) -> float:
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1] for i in range(len(ring) - 1)) / 2


def assert_ring(ring: list, exterior: bool) -> None:
    assert len(ring) >= 4 and ring[0] == ring[-1], "a ring is closed: its last position repeats the first"
    for lon, lat in ring:
        assert LON[0] < lon < LON[1] and LAT[0] < lat < LAT[1], f"[{lon}, {lat}] is not [lon, lat] in Chicago"
    assert (signed_area(ring) > 0) == exterior, "exterior rings run counter-clockwise, holes clockwise"


def assert_geometry(geometry: dict) -> None:
    assert "crs" not in geometry
    polygons = {"Polygon": [geometry.get("coordinates")], "MultiPolygon": geometry.get("coordinates")}.get(geometry["type"])
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"]
        assert LON[0] < lon < LON[1] and LAT[0] < lat < LAT[1]
        return
    assert polygons, f"unexpected geometry type {geometry['type']}"
    for rings in polygons:
        assert_ring(rings[0], exterior=True)
        for hole in rings[1:]:
            assert_ring(hole, exterior=False)


def assert_feature_collection(body: dict) -> None:
    assert body["type"] == "FeatureCollection" and "crs" not in body
    assert body["count"] == len(body["features"])
    for feature in body["features"]:
        assert feature["type"] == "Feature" and "crs" not in feature
        assert_geometry(feature["geometry"])


def assert_is_hexagon_of(geometry: dict, cell: str) -> None:
    """The polygon is the cell's H3 boundary, [lon, lat], to 1e-6 degrees."""
    ring = geometry["coordinates"][0][:-1]
    expected = [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]
    assert len(ring) == len(expected)
    for x, y in expected:
        assert any(abs(x - a) < 2e-6 and abs(y - b) < 2e-6 for a, b in ring), f"vertex [{x}, {y}] missing"
