"""Clusters on the H3 grid: connected groups per day, the size cap, RFC 7946 outlines."""

import json
from datetime import date

import h3
import polars as pl

from chicago_risk.cost.clusters import (
    find_clusters,
    members_connected,
    outline_geojson,
    rfc7946_problems,
)
from chicago_risk.grid import city_cells

RESOLUTION = 9
CENTRE = h3.latlng_to_cell(41.88, -87.63, RESOLUTION)  # the Loop
FAR = h3.latlng_to_cell(41.75, -87.65, RESOLUTION)
DAY, NEXT_DAY = date(2024, 6, 3), date(2024, 6, 4)


def _candidates(cells_by_day: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [(day, cell) for day, cells in cells_by_day.items() for cell in cells],
        schema={"day": pl.Date, "h3_id": pl.String}, orient="row",
    )


def _groups(clusters: pl.DataFrame) -> set:
    return {
        (day, frozenset(cells))
        for day, cells in clusters.group_by("cluster")
        .agg(pl.col("day").first(), pl.col("h3_id"))
        .select("day", "h3_id")
        .iter_rows()
    }


def test_connected_cells_of_a_day_form_one_cluster_and_days_never_mix():
    disk = set(h3.grid_disk(CENTRE, 1))
    assert disk <= set(city_cells(RESOLUTION)) and FAR in city_cells(RESOLUTION)
    clusters = find_clusters(_candidates({DAY: [*disk, FAR], NEXT_DAY: list(disk)}), RESOLUTION, max_cells=7)
    assert _groups(clusters) == {(DAY, frozenset(disk)), (DAY, frozenset({FAR})), (NEXT_DAY, frozenset(disk))}


def test_a_group_above_the_cap_is_split_into_connected_blocks_within_the_cap():
    big = set(h3.grid_disk(CENTRE, 3))  # 37 cells
    clusters = find_clusters(_candidates({DAY: list(big)}), RESOLUTION, max_cells=7)
    groups = _groups(clusters)
    sizes = sorted(len(cells) for _, cells in groups)
    assert sum(sizes) == 37 and max(sizes) <= 7 and len(groups) >= 6
    members = clusters.select(pl.col("cluster").cast(pl.String).alias("rec_id"), "day", "h3_id")
    assert (members_connected(members, RESOLUTION)["pieces"] == 1).all()
    # each block lies within one resolution-8 parent, the same whatever the day
    parents = clusters.with_columns(
        parent=pl.col("h3_id").map_elements(lambda c: h3.cell_to_parent(c, 8), return_dtype=pl.String)
    )
    assert (parents.group_by("cluster").agg(pl.col("parent").n_unique())["parent"] == 1).all()


def test_a_cap_below_seven_gives_single_cells():
    disk = list(h3.grid_disk(CENTRE, 1))
    clusters = find_clusters(_candidates({DAY: disk}), RESOLUTION, max_cells=3)
    assert clusters["cluster"].n_unique() == 7


def test_connectivity_check_sees_a_split_cluster():
    members = pl.DataFrame({"rec_id": ["a", "a", "b"], "day": [DAY] * 3, "h3_id": [CENTRE, FAR, FAR]})
    pieces = dict(members_connected(members, RESOLUTION).iter_rows())
    assert pieces == {"a": 2, "b": 1}


def test_outline_is_rfc7946_with_a_clockwise_hole():
    ring = tuple(sorted(h3.grid_ring(CENTRE, 1)))  # six cells around an empty centre
    geometry = json.loads(outline_geojson(ring))
    assert geometry["type"] == "Polygon" and len(geometry["coordinates"]) == 2
    assert rfc7946_problems(outline_geojson(ring)) == []
    lon, lat = geometry["coordinates"][0][0]
    assert -88 < lon < -87 and 41 < lat < 43  # [lon, lat], not [lat, lon]
    two = json.loads(outline_geojson((CENTRE, FAR)))
    assert two["type"] == "MultiPolygon"


def test_problems_are_reported_for_a_clockwise_exterior():
    geometry = json.loads(outline_geojson((CENTRE,)))
    geometry["coordinates"][0].reverse()
    assert rfc7946_problems(json.dumps(geometry)) == ["exterior clockwise"]
