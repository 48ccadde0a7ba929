"""Feature drift as the API can see it: the population stability index of the newest published
`cell_day_features` day against the published days of the trailing window before it, by the same
function and threshold as the Dagster check `drift_psi` (`chicago_risk.features.drift`).

Why recompute: the check's result lives in the Dagster instance, which the API never reads; the
published feature layer is what it reads. With the full window published the figures are the
check's; with fewer days published, `reference_days` says how much history they stand on.
Computed once per newest partition (a scrape after that costs nothing).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from api.store import PublishedLayers
from chicago_risk.config import FeatureChecks
from chicago_risk.features.drift import drift_table
from chicago_risk.features.registry import PER_CELL_FEATURES
from chicago_risk.publish.layers import FEATURES

CHECKS = FeatureChecks()


@dataclass(frozen=True)
class DriftReading:
    psi: dict[str, float]  # per per-cell feature (NaN where a day had no values)
    reference_days: int
    threshold: float = CHECKS.drift_psi_warn


class PublishedDrift:
    def __init__(self, reader: PublishedLayers) -> None:
        self.reader = reader
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._reading: DriftReading | None = None

    def reading(self) -> DriftReading | None:
        """None until a feature day and at least one day before it are published."""
        manifest = self.reader.manifest(FEATURES.table)
        days = manifest.days() if manifest else []
        if manifest is None or len(days) < 2:
            return None
        newest = days[-1]
        first = newest - timedelta(days=CHECKS.drift_reference_days)
        reference = [manifest.partitions[d.isoformat()] for d in days if first <= d < newest]
        if not reference:
            return None
        newest_entry = manifest.partitions[newest.isoformat()]
        key = (newest_entry.version, *(e.version for e in reference))
        with self._lock:
            if key != self._key:
                self._reading, self._key = self._compute(reference, newest_entry), key
            return self._reading

    def _compute(self, reference: list, newest) -> DriftReading:
        scanned = self.reader.scan([*reference, newest], FEATURES.table)
        assert scanned is not None  # never None: the entries are not empty
        frame = scanned.select("day", *PER_CELL_FEATURES).collect()
        is_newest = pl.col("day") == newest.day
        table = drift_table(frame.filter(~is_newest), frame.filter(is_newest), PER_CELL_FEATURES)
        return DriftReading(dict(table.iter_rows()), len(reference))
