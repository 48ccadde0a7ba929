"""Which published partitions a request reads: a day's, the latest, or those of a range; and
which cells are the published grid's."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date
from typing import cast

import h3

from api.errors import NotFoundError, not_published, unknown_date
from api.grid import ServedGrid, served_grid
from api.params import LATEST
from api.store import PublishedLayers
from chicago_risk.publish.layers import MAP_LAYERS, RISK, PublishedTable
from chicago_risk.publish.store import Manifest, PartitionEntry


def published(reader: PublishedLayers, layer: PublishedTable) -> Manifest:
    manifest = reader.manifest(layer.table)
    if manifest is None or not manifest.partitions:
        raise not_published(layer.table)
    return manifest


def days_of_every_layer(manifests: Iterable[Manifest | None]) -> list[date]:
    """The days each of the manifests publishes, in order (none if a layer is not published)."""
    common: set[date] | None = None
    for manifest in manifests:
        days = set(manifest.days()) if manifest else set()
        common = days if common is None else common & days
    return sorted(common or ())


class _CommonDays:
    """`days_of_every_layer` of the map layers, recomputed only when a manifest changes (every
    request that names no date, or `latest`, asks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._days: list[date] = []

    def __call__(self, reader: PublishedLayers) -> list[date]:
        manifests = [reader.manifest(layer.table) for layer in MAP_LAYERS]
        stamp = (id(reader), *(m.updated_at if m else None for m in manifests))
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._days = stamp, days_of_every_layer(manifests)
            return self._days


common_days = _CommonDays()


def resolve_day(reader: PublishedLayers, day: date | str | None) -> date | None:
    """`latest` (or no date) is the newest day every map layer is published; None when no day
    has them all (each layer then answers with its own newest)."""
    if day is None or day == LATEST:
        days = common_days(reader)
        return days[-1] if days else None
    return cast(date, day)  # a Day query is a date once validated (typed str for its error messages)


def day_entry(
    reader: PublishedLayers, layer: PublishedTable, day: date | str | None, parameter: str = "date"
) -> PartitionEntry:
    """The partition of `day` (`latest` or None: the newest common day, else the layer's newest);
    404 with the published dates otherwise."""
    manifest = published(reader, layer)
    asked = day not in (None, LATEST)
    resolved = resolve_day(reader, day)
    entry = manifest.entry(resolved) if resolved else None
    if entry is None and not asked:
        return cast(PartitionEntry, manifest.latest())  # `published`: it has partitions
    if entry is None:
        raise unknown_date(layer.table, parameter, cast(date, resolved), manifest.days())  # asked: a day
    return entry


def grid(reader: PublishedLayers) -> ServedGrid:
    """The grid the layers were published on (its resolution from the risk layer's manifest)."""
    return served_grid(published(reader, RISK).h3_resolution)


def city_cell(reader: PublishedLayers, name: str, value: str, layer: PublishedTable = RISK) -> str:
    """`value` (15 hexadecimal characters, as the schema says) as a cell of the published grid,
    or a 404 saying why it is not one (with `layer`'s dates)."""
    cells = grid(reader)
    cell = value.lower()
    if cell in cells.cell_set:
        return cell
    if not h3.is_valid_cell(cell):
        why = "is not an H3 cell id"
    elif h3.get_resolution(cell) != cells.resolution:
        why = (
            f"is an H3 cell of resolution {h3.get_resolution(cell)}; the grid's cells are resolution {cells.resolution}"
        )
    else:
        why = "is not a cell of the city grid"
    raise NotFoundError("unknown_cell", f"{cell} {why}", name, published(reader, layer).days())
