"""The published store: copies of the map layers that readers (the API, notebooks) open instead
of the live warehouse, laid out so that a reader never sees a partition half written.

    <layer>/manifest.json                       the partitions readers may use
    <layer>/<partition key>/<sha256[:16]>.parquet  one file per partition, named by its content

The partition key is the day (`YYYY-MM-DD`) of a daily layer, `current` for a one-partition
table (the served model, the feature registry). Publishing writes each partition's file (atomic,
under its content's name, never rewritten), then replaces the manifest atomically under a lock.
A reader takes the manifest, then opens only files it lists; a file replaced in the manifest stays
for `retain_superseded_s` so that a reader holding the previous manifest still finds it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property

import polars as pl

from chicago_risk.publish.storage import Storage, open_storage, utc_now_iso
from chicago_risk.resources.manifests import parquet_bytes, read_manifest, replace_manifest, write_content_addressed

MANIFEST_FORMAT = 1
CURRENT = "current"  # the partition key of a one-partition table


@dataclass(frozen=True)
class PartitionEntry:
    key: str
    path: str
    sha256: str
    rows: int
    bytes: int
    published_at: str  # UTC, ISO 8601
    source_version: str  # code version of the upstream asset that produced the rows
    # Distinct values of a few columns (e.g. action types), so readers need not open the file.
    facets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.key)

    @property
    def version(self) -> str:
        """Short id of the partition's content: what an ETag is made of."""
        return self.sha256[:16]


@dataclass(frozen=True)
class Manifest:
    layer: str
    h3_resolution: int
    updated_at: str
    partitions: dict[str, PartitionEntry]
    # Files no longer listed, with the time they were superseded (epoch seconds).
    superseded: dict[str, float] = field(default_factory=dict)

    @cached_property
    def _days(self) -> list[date]:
        return sorted(date.fromisoformat(key) for key in self.partitions if key != CURRENT)

    def days(self) -> list[date]:
        """The published days, in order (computed once: readers ask on every request)."""
        return self._days

    def entry(self, key: date | str) -> PartitionEntry | None:
        return self.partitions.get(key.isoformat() if isinstance(key, date) else key)

    @cached_property
    def _latest(self) -> PartitionEntry | None:
        return self.partitions[max(self.partitions)] if self.partitions else None

    def latest(self) -> PartitionEntry | None:
        return self._latest

    def files(self) -> set[str]:
        return {entry.path for entry in self.partitions.values()}

    def to_json(self) -> bytes:
        payload = {
            "format": MANIFEST_FORMAT,
            "layer": self.layer,
            "h3_resolution": self.h3_resolution,
            "updated_at": self.updated_at,
            "partitions": {key: asdict(e) for key, e in sorted(self.partitions.items())},
            "superseded": self.superseded,
        }
        return json.dumps(payload, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        payload = json.loads(data)
        if payload.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {payload.get('format')} is not {MANIFEST_FORMAT}: republish the layer")
        return cls(
            layer=payload["layer"],
            h3_resolution=payload["h3_resolution"],
            updated_at=payload["updated_at"],
            partitions={key: PartitionEntry(**e) for key, e in payload["partitions"].items()},
            superseded=payload.get("superseded", {}),
        )


class PublishedStore:
    """Publish and read layers at `url` (see the module docstring for the layout)."""

    def __init__(self, url: str, retain_superseded_s: float = 600.0, storage: Storage | None = None) -> None:
        self.url = url
        self.retain_superseded_s = retain_superseded_s
        self.storage = storage or open_storage(url)

    @staticmethod
    def manifest_key(layer: str) -> str:
        return f"{layer}/manifest.json"

    # --- writing ------------------------------------------------------------------------------

    def write_partition(
        self, layer: str, key: str, frame: pl.DataFrame, source_version: str, facets: Iterable[str] = ()
    ) -> PartitionEntry:
        """Write one partition's file (not yet visible to readers: see `commit`)."""
        data = parquet_bytes(frame)
        path, digest = write_content_addressed(self.storage, f"{layer}/{key}", data)
        return PartitionEntry(
            key=key,
            path=path,
            sha256=digest,
            rows=frame.height,
            bytes=len(data),
            published_at=utc_now_iso(),
            source_version=source_version,
            facets={name: sorted(frame[name].drop_nulls().unique().cast(pl.String).to_list()) for name in facets},
        )

    def commit(self, layer: str, entries: Iterable[PartitionEntry], h3_resolution: int) -> Manifest:
        """Make `entries` visible: one atomic manifest replacement, serialised among writers."""
        entries = list(entries)

        def build(current: Manifest | None) -> Manifest:
            partitions = dict(current.partitions) if current else {}
            partitions.update((entry.key, entry) for entry in entries)
            return Manifest(layer, h3_resolution, utc_now_iso(), partitions)

        return replace_manifest(
            self.storage, self.manifest_key(layer), Manifest.from_json, build, self.retain_superseded_s
        )

    def publish(
        self,
        layer: str,
        partitions: Iterable[tuple[str, pl.DataFrame]],
        h3_resolution: int,
        source_version: str,
        facets: Iterable[str] = (),
    ) -> Manifest:
        facets = tuple(facets)
        entries = [self.write_partition(layer, key, frame, source_version, facets) for key, frame in partitions]
        return self.commit(layer, entries, h3_resolution)

    # --- reading ------------------------------------------------------------------------------

    def manifest_stamp(self, layer: str) -> str | None:
        """Changes whenever the layer's manifest is replaced: a cheap freshness test."""
        return self.storage.stamp(self.manifest_key(layer))

    def read_manifest(self, layer: str) -> Manifest | None:
        return read_manifest(self.storage, self.manifest_key(layer), Manifest.from_json)

    def read_partition(self, entry: PartitionEntry) -> pl.DataFrame:
        return pl.read_parquet(self.storage.uri(entry.path))

    def scan(self, entries: Iterable[PartitionEntry]) -> pl.LazyFrame:
        """Several partitions of one layer as one lazy frame (filters are pushed to the files)."""
        uris = [self.storage.uri(e.path) for e in entries]
        return pl.scan_parquet(uris) if uris else pl.LazyFrame()

    def read_layer(self, layer: str, start: date | None = None, end: date | None = None) -> pl.DataFrame:
        """Every published partition of `layer` with start <= day <= end (for notebooks)."""
        manifest = self.read_manifest(layer)
        if manifest is None:
            raise LookupError(f"{layer} is not published in {self.url} yet: materialize published/{layer}")
        if CURRENT in manifest.partitions:
            return self.read_partition(manifest.partitions[CURRENT])
        chosen = [
            manifest.partitions[d.isoformat()]
            for d in manifest.days()
            if (start is None or d >= start) and (end is None or d <= end)
        ]
        return self.scan(chosen).collect()
