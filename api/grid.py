"""The grid the layers are published on, as clients fetch it once (`GET /api/grid`): every
cell's id and hexagon, and a version derived from the cells themselves, so a new grid (another
resolution, more edge cells) is a new version and a new ETag."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from api import geojson
from api.http import RenderedBody
from chicago_risk.grid import city_cells


@dataclass(frozen=True)
class ServedGrid:
    resolution: int
    cells: tuple[str, ...]
    cell_set: frozenset[str]
    version: str

    def body(self) -> RenderedBody:
        return _geojson(self.resolution)


@lru_cache(maxsize=4)
def served_grid(resolution: int) -> ServedGrid:
    cells = city_cells(resolution)
    version = hashlib.sha256(f"h3:{resolution}:{','.join(cells)}".encode()).hexdigest()[:16]
    return ServedGrid(resolution, cells, frozenset(cells), version)


@lru_cache(maxsize=2)
def _geojson(resolution: int) -> RenderedBody:
    """A FeatureCollection of every cell's hexagon with its `h3_id` (RFC 7946), built once."""
    grid = served_grid(resolution)
    features = ",".join(
        f'{{"type":"Feature","geometry":{geojson.hexagon(cell)[0]},"properties":{{"h3_id":"{cell}"}}}}'
        for cell in grid.cells
    )
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "h3_resolution": resolution,
            "grid_version": grid.version,
            "count": len(grid.cells),
        },
        separators=(",", ":"),
    )
    return RenderedBody.of(f'{head[:-1]},"features":[{features}]}}'.encode())
