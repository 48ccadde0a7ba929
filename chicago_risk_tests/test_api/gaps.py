"""A copy of the small city's published store with some days of some layers missing, as after a
day whose 311 extract or cost run failed (publication never retracts a day, so the test removes
it from the layer's manifest)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

from chicago_risk.publish.storage import utc_now_iso
from chicago_risk.publish.store import PublishedStore


def published_without(small_city, target: Path, missing: dict[str, list[date]]) -> str:
    """The published store copied to `target`, each layer of `missing` without those days: its URL."""
    shutil.copytree(small_city.root / "published", target)
    store = PublishedStore(str(target))
    for layer, days in missing.items():
        manifest = store.read_manifest(layer)
        dropped = {d.isoformat() for d in days}
        assert dropped <= set(manifest.partitions), f"{layer} does not publish all of {sorted(dropped)}"
        kept = {key: entry for key, entry in manifest.partitions.items() if key not in dropped}
        trimmed = replace(manifest, partitions=kept, updated_at=utc_now_iso())
        store.storage.write_bytes(store.manifest_key(layer), trimmed.to_json())
    return str(target)
