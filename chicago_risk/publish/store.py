"""The published store: the map layers as Delta tables that readers (the API, notebooks) open
instead of the live warehouse, every answer read from one pinned version of each layer.

    <url>/<layer>/_delta_log/...                              the layer's versions
    <url>/<layer>/day=<YYYY-MM-DD>/<content>-<uuid>.parquet   one file per published day
    <url>/<layer>/<content>-<uuid>.parquet                    a one-partition layer (`current`)

- Publishing days is one Delta commit (delta-rs's transaction API): each day's file is written
  first, invisible, then the commit swaps those days' files in at once. A day without rows is a
  file without rows, so it stays published (empty) instead of vanishing.
- A file's name starts with a hash of its bytes: the partition's `version` in ETags (the same rows
  republished keep it). Its Parquet footer carries the upstream's code version and the distinct
  values of the layer's facet columns, read only when asked for.
- A reader takes a `Manifest`: the layer at one table version. It reads only through that version,
  so a backfill republishing days meanwhile is invisible to it until it takes the next manifest:
  no answer mixes two publications.
- A file a commit supersedes stays `retain_superseded_s` (rounded up to whole hours), then is
  vacuumed; a reader still holding an older manifest then gets FileNotFoundError and starts over.
- Concurrent publishers are ordered by delta-rs's commit protocol; one that lost a conflicting
  race is redone (`with_commit_retries`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property, lru_cache
from threading import Lock
from typing import cast

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction

from chicago_risk.config.settings import ObjectStoreSettings
from chicago_risk.storage.delta_tables import (
    add_new_columns,
    filesystem,
    open_table,
    vacuum_superseded,
    with_commit_retries,
)
from chicago_risk.storage.object_store import ObjectStoreConfig, join_url, table_root
from chicago_risk.upstream import materialize_command

CURRENT = "current"  # the partition key of a one-partition table
DAY = "day"
RESOLUTION_PROPERTY = "chicago_risk.h3_resolution"
SOURCE_VERSION = "chicago_risk.source_version"
FACETS = "chicago_risk.facets"


@dataclass(frozen=True)
class Footer:
    """What a partition's file says about its publication."""

    source_version: str  # code version of the upstream asset that produced the rows
    facets: dict[str, list[str]]  # distinct values of a few columns (e.g. action types)


@dataclass(frozen=True)
class Written:
    """A partition's file, written but not yet committed."""

    key: str
    action: AddAction
    schema: pa.Schema  # of its rows, partition column included
    rows: int

    @property
    def bytes(self) -> int:
        return self.action.size


@dataclass(frozen=True)
class PartitionEntry:
    key: str  # the day (YYYY-MM-DD), or CURRENT
    path: str  # the partition's file, under the store's root
    rows: int
    bytes: int
    published_at: str  # UTC, ISO 8601
    pinned: Pinned = field(compare=False, repr=False)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.key)

    @property
    def version(self) -> str:
        """Short id of the partition's content: what an ETag is made of."""
        return self.path.rsplit("/", 1)[-1].split("-", 1)[0]

    @property
    def source_version(self) -> str:
        return self.pinned.store.footer(self.path).source_version

    @property
    def facets(self) -> dict[str, list[str]]:
        return self.pinned.store.footer(self.path).facets


@dataclass(frozen=True)
class Pinned:
    """One version of a layer's table: every read of its entries goes through it."""

    store: PublishedStore
    table: DeltaTable

    def dataset(self, entries: Iterable[PartitionEntry]) -> ds.Dataset:
        """The rows of `entries`, through this version only."""
        dataset = self.table.to_pyarrow_dataset()
        days = [e.day for e in entries if e.key != CURRENT]
        return dataset.filter(ds.field(DAY).isin(days)) if days else dataset


@dataclass(frozen=True)
class Manifest:
    """A layer at one table version: its partitions, and the pinned table they are read through."""

    layer: str
    table_version: int
    h3_resolution: int
    updated_at: str  # when its newest partition was published
    partitions: dict[str, PartitionEntry]

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


class PublishedFiles:
    """The store's files by path under its root (what `/ready` checks)."""

    def __init__(self, files: pafs.FileSystem) -> None:
        self.files = files

    def exists(self, path: str) -> bool:
        return self.files.get_file_info(path).type == pafs.FileType.File


class PublishedStore:
    """Publish and read layers at `url`, a folder or s3://bucket/prefix (see the module docstring).
    `object_store` says how to reach a bucket; default: the `AWS_*` environment."""

    def __init__(
        self, url: str, retain_superseded_s: float = 600.0, object_store: ObjectStoreConfig | None = None
    ) -> None:
        self.url = url
        self.root = table_root(url, "CHICAGO_RISK_PUBLISHED_URL")
        self.retain_superseded_s = retain_superseded_s
        object_store = object_store or ObjectStoreSettings.from_env().config(as_env_vars=False)
        self.storage_options = object_store.storage_options()
        self.storage = PublishedFiles(filesystem(self.root, self.storage_options))
        self.footer = lru_cache(maxsize=65_536)(self._read_footer)  # files never change
        self._latest: dict[str, DeltaTable] = {}
        self._lock = Lock()

    def _uri(self, layer: str) -> str:
        return join_url(self.root, layer)

    # --- writing ------------------------------------------------------------------------------

    def write_partition(
        self, layer: str, key: str, frame: pl.DataFrame, source_version: str, facets: Iterable[str] = ()
    ) -> Written:
        """One partition's file, not yet visible to readers (see `commit`): a day (`YYYY-MM-DD`)
        of a daily layer, whose day lives in the log rather than the file, or CURRENT."""
        daily = key != CURRENT
        footer = {
            SOURCE_VERSION: source_version,
            FACETS: json.dumps(
                {name: sorted(frame[name].drop_nulls().unique().cast(pl.String).to_list()) for name in facets}
            ),
        }
        rows = frame.to_arrow()
        if daily and DAY in rows.column_names:
            rows = rows.drop_columns([DAY])
        buffer = pa.BufferOutputStream()
        pq.write_table(rows.replace_schema_metadata(footer), buffer, compression="zstd")
        data = buffer.getvalue()
        name = f"{hashlib.sha256(data).hexdigest()[:16]}-{uuid.uuid4().hex}.parquet"
        path = f"{DAY}={key}/{name}" if daily else name
        self.storage.files.create_dir(f"{layer}/{path}".rsplit("/", 1)[0])  # a folder needs it, a bucket not
        with self.storage.files.open_output_stream(f"{layer}/{path}") as out:
            out.write(data)
        action = AddAction(
            path, data.size, {DAY: key} if daily else {}, int(time.time() * 1000), True,
            json.dumps({"numRecords": frame.height}),
        )
        schema = frame.to_arrow().schema
        if daily and DAY not in schema.names:
            schema = schema.insert(0, pa.field(DAY, pa.date32()))
        return Written(key, action, schema, frame.height)

    def commit(self, layer: str, written: Iterable[Written], h3_resolution: int) -> Manifest:
        """Make `written` the layer's published partitions of their keys: one Delta commit."""
        written = list(written)
        daily = any(w.key != CURRENT for w in written)
        if daily and any(w.key == CURRENT for w in written):
            raise ValueError(f"{layer}: a publication is either days or the {CURRENT} partition, not both")
        schema = _columns([w.schema for w in written])

        def commit() -> None:
            table = self._prepared(layer, schema, daily, h3_resolution)
            table.create_write_transaction(
                [w.action for w in written],
                mode="overwrite",
                # pa.schema takes any Arrow PyCapsule schema (delta's is arro3's); its stubs list only pyarrow's own.
                schema=pa.schema(table.schema().to_arrow()),  # type: ignore[arg-type]
                partition_by=[DAY] if daily else None,
                partition_filters=[(DAY, "in", [w.key for w in written])] if daily else None,
            )

        with_commit_retries(commit)
        committed = open_table(self._uri(layer), self.storage_options)
        assert committed is not None, f"{layer} was just committed"
        vacuum_superseded(committed, self.retain_superseded_s)
        manifest = self.read_manifest(layer)  # after the vacuum, whose commits move the version
        assert manifest is not None, f"{layer} was just committed"
        return manifest

    def publish(
        self,
        layer: str,
        partitions: Iterable[tuple[str, pl.DataFrame]],
        h3_resolution: int,
        source_version: str,
        facets: Iterable[str] = (),
    ) -> Manifest:
        """Write and commit `partitions` (key, rows) at once."""
        facets = tuple(facets)
        return self.commit(
            layer,
            [self.write_partition(layer, key, frame, source_version, facets) for key, frame in partitions],
            h3_resolution,
        )

    def _prepared(self, layer: str, schema: pa.Schema, daily: bool, h3_resolution: int) -> DeltaTable:
        """The layer's table, created if new, with `schema`'s new columns and the resolution."""
        table = open_table(self._uri(layer), self.storage_options)
        if table is None:
            # `ignore`: when another publisher created it in the meantime, publish into theirs.
            table = DeltaTable.create(
                self._uri(layer), schema, partition_by=[DAY] if daily else None, mode="ignore",
                configuration={RESOLUTION_PROPERTY: str(h3_resolution)}, raise_if_key_not_exists=False,
                storage_options=self.storage_options,
            )
        add_new_columns(table, schema)
        if table.metadata().configuration.get(RESOLUTION_PROPERTY) != str(h3_resolution):
            table.alter.set_table_properties({RESOLUTION_PROPERTY: str(h3_resolution)}, raise_if_not_exists=False)
        return table

    # --- reading ------------------------------------------------------------------------------

    def manifest_stamp(self, layer: str) -> int | None:
        """The layer's newest table version (None: never published): a cheap freshness test."""
        with self._lock:
            table = self._latest.get(layer)
            if table is None:
                table = open_table(self._uri(layer), self.storage_options)
                if table is None:
                    return None
                self._latest[layer] = table
            else:
                table.update_incremental()
            return table.version()

    def read_manifest(self, layer: str, version: int | None = None) -> Manifest | None:
        """The layer at `version` (default the newest), None if it was never published."""
        table = open_table(self._uri(layer), self.storage_options, version)
        if table is None:
            return None
        files = pl.DataFrame(pa.table(table.get_add_actions(flatten=True)))
        pinned = Pinned(self, table)
        daily = f"partition.{DAY}" in files.columns
        partitions = {
            (row[f"partition.{DAY}"].isoformat() if daily else CURRENT): PartitionEntry(
                key=row[f"partition.{DAY}"].isoformat() if daily else CURRENT,
                path=f"{layer}/{row['path']}",
                rows=row["num_records"],
                bytes=row["size_bytes"],
                published_at=_iso(row["modification_time"]),
                pinned=pinned,
            )
            for row in files.sort(f"partition.{DAY}" if daily else "path").iter_rows(named=True)
        }
        updated = cast(int, files["modification_time"].max()) if files.height else 0
        resolution = int(table.metadata().configuration[RESOLUTION_PROPERTY])
        return Manifest(layer, table.version(), resolution, _iso(updated), partitions)

    def _read_footer(self, path: str) -> Footer:
        metadata = pq.read_metadata(path, filesystem=self.storage.files).metadata or {}
        return Footer(
            metadata.get(SOURCE_VERSION.encode(), b"").decode(),
            json.loads(metadata.get(FACETS.encode(), b"{}")),
        )

    @staticmethod
    def read_partition(entry: PartitionEntry) -> pl.DataFrame:
        """One partition, as of its manifest's version."""
        return cast(pl.DataFrame, pl.from_arrow(entry.pinned.dataset([entry]).to_table()))

    @staticmethod
    def scan(entries: Iterable[PartitionEntry]) -> pl.LazyFrame:
        """Partitions of one manifest as one lazy frame (filters reach the files)."""
        entries = list(entries)
        return pl.scan_pyarrow_dataset(entries[0].pinned.dataset(entries)) if entries else pl.LazyFrame()

    def read_layer(self, layer: str, start: date | None = None, end: date | None = None) -> pl.DataFrame:
        """Every published partition of `layer` with start <= day <= end, from one version (for
        notebooks)."""
        manifest = self.read_manifest(layer)
        if manifest is None:
            raise LookupError(
                f"{layer} is not published in {self.url} yet: run: "
                f"{materialize_command([layer, f'published/{layer}'], start, end)}"
            )
        chosen = [
            e for e in manifest.partitions.values()
            if e.key == CURRENT or ((start is None or e.day >= start) and (end is None or e.day <= end))
        ]
        return self.scan(chosen).collect()


def _columns(schemas: list[pa.Schema]) -> pa.Schema:
    """Every column of `schemas`, in first-seen order."""
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema:
            fields.setdefault(f.name, f)
    return pa.schema(list(fields.values()))


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
