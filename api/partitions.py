"""Which published partitions a request reads: a day's, the latest, or those of a range."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from api.errors import NotFoundError, not_published, unknown_date
from api.params import validate_cell
from api.store import PublishedLayers
from chicago_risk.grid import city_cells
from chicago_risk.publish.layers import RISK, PublishedTable
from chicago_risk.publish.store import Manifest, PartitionEntry


def published(reader: PublishedLayers, layer: PublishedTable) -> Manifest:
    manifest = reader.manifest(layer.table)
    if manifest is None or not manifest.partitions:
        raise not_published(layer.table)
    return manifest


def day_entry(reader: PublishedLayers, layer: PublishedTable, day: date | None, parameter: str = "date") -> PartitionEntry:
    """The partition of `day`, or the latest when no day is asked; 404 with the dates otherwise."""
    manifest = published(reader, layer)
    if day is None:
        return manifest.latest()
    entry = manifest.entry(day)
    if entry is None:
        raise unknown_date(layer.table, parameter, day, manifest.days())
    return entry


def grid_resolution(reader: PublishedLayers) -> int:
    """The H3 resolution the layers were published at."""
    return published(reader, RISK).h3_resolution


@lru_cache(maxsize=2)
def _city_cell_set(resolution: int) -> frozenset[str]:
    return frozenset(city_cells(resolution))


def city_cell(reader: PublishedLayers, location: str, name: str, value: str, layer: PublishedTable = RISK) -> str:
    """`value` as a cell of the published city grid: 422 if it is no H3 cell of the grid's
    resolution, 404 (with `layer`'s dates) if it lies outside the city."""
    resolution = grid_resolution(reader)
    cell = validate_cell(location, name, value.lower(), resolution)
    if cell not in _city_cell_set(resolution):
        raise NotFoundError("unknown_cell", f"{cell} is not a cell of the city grid", name, published(reader, layer).days())
    return cell
