"""The city grid holds every cell that overlaps the city limits, so no point inside is 'outside'."""

from itertools import pairwise

import h3
import numpy as np
import polars as pl
import pytest

from chicago_risk.grid import cells_for_points, city_cells, city_limits_geojson


def inside(rings: list[list[list[float]]], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Even-odd ray casting over every ring (holes included), vectorised over the points."""
    result = np.zeros(lon.shape, dtype=bool)
    for ring in rings:
        xs, ys = np.array(ring)[:, 0], np.array(ring)[:, 1]
        for (x1, y1), (x2, y2) in pairwise(zip(xs, ys, strict=True)):
            crosses = ((y1 > lat) != (y2 > lat)) & (lon < (x2 - x1) * (lat - y1) / (y2 - y1 + 1e-300) + x1)
            result ^= crosses
    return result


@pytest.mark.parametrize("resolution", [7, 8, 9])
def test_every_point_inside_the_outline_and_on_it_lies_in_a_grid_cell(resolution):
    rings = city_limits_geojson()["features"][0]["geometry"]["coordinates"]
    outer = np.array(rings[0])
    rng = np.random.default_rng(resolution)
    lon = rng.uniform(outer[:, 0].min(), outer[:, 0].max(), 60_000)
    lat = rng.uniform(outer[:, 1].min(), outer[:, 1].max(), 60_000)
    keep = inside(rings, lon, lat)
    # ...and every vertex of the outline and of its holes: the points closest to the edge.
    vertices = np.concatenate([np.array(ring) for ring in rings])
    lon, lat = np.concatenate([lon[keep], vertices[:, 0]]), np.concatenate([lat[keep], vertices[:, 1]])

    cells = cells_for_points(pl.Series(lat), pl.Series(lon), resolution)

    assert keep.sum() > 20_000
    assert cells.is_in(pl.Series(city_cells(resolution)).implode()).all()


def test_the_grid_adds_the_edge_cells_to_those_whose_centre_is_inside():
    rings = city_limits_geojson()["features"][0]["geometry"]["coordinates"]
    outer, *holes = ([(lat, lon) for lon, lat in ring] for ring in rings)
    centres = set(h3.polygon_to_cells(h3.LatLngPoly(outer, *holes), 9))
    grid = set(city_cells(9))

    assert centres < grid
    assert {resolution: len(city_cells(resolution)) for resolution in (7, 8, 9)} == {7: 160, 8: 944, 9: 6032}
