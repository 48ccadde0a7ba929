"""A copy of the small city's published store with some days of some layers missing, as after a
day whose 311 extract or cost run failed (publication never retracts a day, so the test deletes
it from the layer's Delta table)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from deltalake import DeltaTable

from chicago_risk.publish.store import PublishedStore


def published_without(small_city, target: Path, missing: dict[str, list[date]]) -> str:
    """The published store copied to `target`, each layer of `missing` without those days: its URL."""
    shutil.copytree(small_city.root / "published", target)
    store = PublishedStore(str(target))
    for layer, days in missing.items():
        manifest = store.read_manifest(layer)
        dropped = {d.isoformat() for d in days}
        assert dropped <= set(manifest.partitions), f"{layer} does not publish all of {sorted(dropped)}"
        DeltaTable(str(target / layer)).delete(" OR ".join(f"day = '{day}'" for day in sorted(dropped)))
    return str(target)
