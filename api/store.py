"""The API's view of the published store: each layer's manifest (the layer's Delta table at one
version), taken again when a newer version is committed, and the partitions it lists, decoded
once per file.

The API never opens the warehouse. A manifest pins its version: everything an answer reads of a
layer comes from that version, so a backfill republishing days meanwhile never shows a torn
partition (see `chicago_risk.publish.store`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from api.cache import LruCache
from chicago_risk.models.aliases import CHAMPION
from chicago_risk.models.model import FittedModel
from chicago_risk.publish.layers import CHAMPION_DECISION, MODEL
from chicago_risk.publish.store import CURRENT, Manifest, PartitionEntry, PublishedStore


class PartitionGoneError(RuntimeError):
    """A pinned version's file was vacuumed: the manifest is older than the retention; retry."""


@dataclass
class _Polled:
    stamp: int | None
    manifest: Manifest | None
    checked_at: float


class PublishedLayers:
    def __init__(
        self,
        store: PublishedStore,
        poll_s: float = 1.0,
        partition_entries: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self.clock = clock
        self.frames: LruCache[pl.DataFrame] = LruCache("partitions", partition_entries)
        self.models: LruCache[FittedModel] = LruCache("model", 2)
        self._polled: dict[str, _Polled] = {}
        self._lock = threading.Lock()

    def manifest(self, layer: str) -> Manifest | None:
        """The layer's current manifest, looked for again at most every `poll_s` seconds."""
        now = self.clock()
        with self._lock:
            polled = self._polled.get(layer)
        if polled is not None and now - polled.checked_at < self.poll_s:
            return polled.manifest
        stamp = self.store.manifest_stamp(layer)
        if polled is not None and stamp == polled.stamp:
            manifest = polled.manifest
        else:
            manifest = self.store.read_manifest(layer, stamp) if stamp is not None else None
        with self._lock:
            self._polled[layer] = _Polled(stamp, manifest, now)
        return manifest

    def forget(self, layer: str) -> None:
        with self._lock:
            self._polled.pop(layer, None)

    def frame(self, entry: PartitionEntry, layer: str) -> pl.DataFrame:
        """One partition, decoded (cached by its file, which never changes)."""
        return self.frames.get_or_build(entry.path, lambda: self._read(entry, layer))

    def _read(self, entry: PartitionEntry, layer: str) -> pl.DataFrame:
        try:
            return self.store.read_partition(entry)
        except FileNotFoundError:
            self.forget(layer)
            raise PartitionGoneError(f"{entry.path} is no longer published; retry the request") from None

    def scan(self, entries: Iterable[PartitionEntry], layer: str) -> pl.LazyFrame | None:
        """Several partitions as one lazy frame, None when there are none."""
        entries = list(entries)
        missing = [e for e in entries if not self.store.storage.exists(e.path)]
        if missing:
            self.forget(layer)
            raise PartitionGoneError(f"{missing[0].path} is no longer published; retry the request")
        return self.store.scan(entries) if entries else None

    def entries_between(self, layer: str, first: date, last: date) -> list[PartitionEntry]:
        manifest = self.manifest(layer)
        if manifest is None:
            return []
        return [manifest.partitions[d.isoformat()] for d in manifest.days() if first <= d <= last]

    def _current(self, layer: str) -> PartitionEntry | None:
        """A one-partition layer's `current` partition, None if not published."""
        manifest = self.manifest(layer)
        return manifest.entry(CURRENT) if manifest else None

    def model(self) -> FittedModel | None:
        """The champion as published (`published/model_registry`, alias champion), None if not published."""
        entry = self._current(MODEL.table)
        if entry is None:
            return None
        return self.models.get_or_build(entry.path, lambda: FittedModel.from_record(
            self._read(entry, MODEL.table).filter(pl.col("alias") == CHAMPION).row(0, named=True)
        ))

    def champion_decision(self) -> dict | None:
        """The newest week's decision as published (`published/model_champion`), None if not published."""
        entry = self._current(CHAMPION_DECISION.table)
        return self.frame(entry, CHAMPION_DECISION.table).row(0, named=True) if entry is not None else None
