"""High-risk cells -> connected clusters on the H3 grid, at most `max_cells` each, and outlines.

Cells of one day are connected when they share an edge (H3 ring 1). A connected group larger
than the cap is split along the H3 hierarchy: into its parts within each ancestor cell holding
at most `max_cells` cells (7 children per level: the resolution-8 parent of a resolution-9 cell
for a cap of 7 to 48), each part again split into its connected pieces. Blocks of the hierarchy
are compact and the same every day, so a hot area keeps the same clusters from day to day.
All days are one graph (days never share an edge), labelled by one connected-components call.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import cast

import h3
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from chicago_risk.grid import city_cells, ring1_pairs

_COORDINATE_DIGITS = 6  # ~0.1 m


@lru_cache(maxsize=8)
def hierarchy_blocks(resolution: int, max_cells: int) -> pl.DataFrame:
    """`h3_id` -> `block`: its ancestor with at most `max_cells` descendants at `resolution`."""
    levels_up = min(math.floor(math.log(max_cells, 7) + 1e-9), resolution)
    cells = city_cells(resolution)
    blocks = [h3.cell_to_parent(c, resolution - levels_up) for c in cells] if levels_up else list(cells)
    return pl.DataFrame({"h3_id": cells, "block": blocks})


def component_labels(node_count: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Connected-component label of each node of an undirected graph given by its edges."""
    graph = coo_matrix((np.ones(first.size, dtype=np.int8), (first, second)), shape=(node_count, node_count))
    return connected_components(graph, directed=False)[1]


def _edges(nodes: pl.DataFrame, resolution: int, within: list[str]) -> pl.DataFrame:
    """Ring-1 edges between nodes (node, h3_id, *within) that agree on every `within` column."""
    other = nodes.select(
        pl.col("node").alias("nbr_node"),
        pl.col("h3_id").alias("nbr_h3_id"),
        *[pl.col(c).alias(f"nbr_{c}") for c in within],
    )
    edges = nodes.join(ring1_pairs(resolution), on="h3_id").join(
        other, left_on=["nbr_h3_id", *within], right_on=["nbr_h3_id", *[f"nbr_{c}" for c in within]]
    )
    return edges.select("node", "nbr_node")


def find_clusters(candidates: pl.DataFrame, resolution: int, max_cells: int) -> pl.DataFrame:
    """(day, h3_id) candidates -> (day, h3_id, cluster): `cluster` numbers connected groups of at
    most `max_cells` cells, unique across the frame (cells of one cluster share a day)."""
    nodes = candidates.select("day", "h3_id").sort("day", "h3_id").with_row_index("node")
    edges = _edges(nodes, resolution, ["day"])
    labels = component_labels(nodes.height, edges["node"].to_numpy(), edges["nbr_node"].to_numpy())
    nodes = nodes.with_columns(component=labels).with_columns(size=pl.len().over("component"))
    if cast(int, nodes["size"].max() or 0) > max_cells:
        # Oversized groups keep only the edges inside one hierarchy block.
        nodes = nodes.join(hierarchy_blocks(resolution, max_cells), on="h3_id", how="left").with_columns(
            block=pl.when(pl.col("size") > max_cells).then(pl.col("block")).otherwise(pl.lit(""))
        ).sort("node")
        edges = _edges(nodes, resolution, ["day", "component", "block"])
        labels = component_labels(nodes.height, edges["node"].to_numpy(), edges["nbr_node"].to_numpy())
        nodes = nodes.with_columns(component=labels)
    return nodes.select("day", "h3_id", cluster=pl.col("component").cast(pl.Int64))


def members_connected(day_members: pl.DataFrame, resolution: int) -> pl.DataFrame:
    """(rec_id, day, h3_id) -> (rec_id, pieces): connected pieces of each cluster's members."""
    nodes = day_members.select("rec_id", "day", "h3_id").with_row_index("node")
    edges = _edges(nodes, resolution, ["rec_id"])
    labels = component_labels(nodes.height, edges["node"].to_numpy(), edges["nbr_node"].to_numpy())
    return nodes.with_columns(piece=labels).group_by("rec_id").agg(pieces=pl.col("piece").n_unique())


def _signed_area(ring: list) -> float:
    """Shoelace area in degrees^2: positive for a counter-clockwise ring of [lon, lat]."""
    xy = np.asarray(ring, dtype=np.float64)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def _oriented(rings: list) -> list:
    """RFC 7946 rings: closed, exterior counter-clockwise, holes clockwise, [lon, lat]."""
    out = []
    for index, ring in enumerate(rings):
        points = [[round(lon, _COORDINATE_DIGITS), round(lat, _COORDINATE_DIGITS)] for lon, lat in ring]
        if points[0] != points[-1]:
            points.append(points[0])
        counter_clockwise = _signed_area(points) > 0
        if counter_clockwise != (index == 0):
            points.reverse()
        out.append(points)
    return out


@lru_cache(maxsize=65_536)
def outline_geojson(members: tuple[str, ...]) -> str:
    """The union of the members' hexagons as a GeoJSON Polygon or MultiPolygon (RFC 7946).
    Cached: a hot area's cluster repeats from day to day."""
    geometry = h3.cells_to_geo(list(members))  # h3 gives [lon, lat] rings
    if geometry["type"] == "Polygon":
        coordinates = _oriented(geometry["coordinates"])
    else:
        coordinates = [_oriented(polygon) for polygon in geometry["coordinates"]]
    return json.dumps({"type": geometry["type"], "coordinates": coordinates}, separators=(",", ":"))


def rfc7946_problems(outline: str) -> list[str]:
    """What breaks RFC 7946 in an outline: open rings, wrong orientation, lat/lon swapped."""
    geometry = json.loads(outline)
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    problems = [] if geometry["type"] in ("Polygon", "MultiPolygon") else [f"type {geometry['type']}"]
    for polygon in polygons:
        for index, ring in enumerate(polygon):
            if ring[0] != ring[-1] or len(ring) < 4:
                problems.append("open ring")
            if (_signed_area(ring) > 0) != (index == 0):
                problems.append("exterior clockwise" if index == 0 else "hole counter-clockwise")
            if not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring):
                problems.append("coordinate out of range")
    return problems
