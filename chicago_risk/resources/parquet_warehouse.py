"""The warehouse as Parquet partitions under a folder (`CHICAGO_RISK_STORAGE=parquet`), read
through DuckDB. The same promises as the DuckDB file (`chicago_risk.resources.warehouse`), kept by
content-addressed files behind one atomically replaced manifest per table
(`chicago_risk.resources.manifests`, shared with the published store):

    <url>/<table>/manifest.json                  the files readers may use, and the partition column
    <url>/<table>/<key>/<sha256[:16]>.parquet    one file per partition: the ISO date of the
                                                 partition column (`day`, `cutoff`), or `current`
                                                 for a table written whole
    <url>/<table>/_schema/<sha256[:16]>.parquet  no rows: every column the table has had

- A write puts its files first (invisible), then replaces the manifest under the table's lock:
  writers of a table are serialised, readers take no lock, and a reader or a killed writer sees
  the previous window or the new one, never a mix.
- Replacing days start..end drops every partition in that window (a day without rows is simply
  absent) and adds the frame's; identical rows give identical file names.
- A query opens an in-memory DuckDB with one view per table it names, over exactly the files its
  manifest lists plus the schema file, `union_by_name`: columns match by name, and a column added
  later reads NULL in older partitions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb
import polars as pl

from chicago_risk.resources.manifests import parquet_bytes, read_manifest, replace_manifest, write_content_addressed
from chicago_risk.resources.storage import Storage, utc_now_iso
from chicago_risk.resources.warehouse import check_window, fetch_frame, missing_table, quote

MANIFEST_FORMAT = 1
CURRENT = "current"  # the one partition of a table written whole
SCHEMA_FOLDER = "_schema"
_IDENTIFIER = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_]*)')


@dataclass(frozen=True)
class TablePartition:
    key: str  # ISO date of the partition column, or CURRENT
    path: str
    sha256: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class TableManifest:
    table: str
    partition_column: str | None  # None: one CURRENT partition (the table was written whole)
    schema_path: str  # a file without rows holding every column, so reads of any days have all
    updated_at: str
    partitions: dict[str, TablePartition]
    superseded: dict[str, float] = field(default_factory=dict)

    def files(self) -> set[str]:
        return {self.schema_path, *(p.path for p in self.partitions.values())}

    def between(self, start: date, end: date) -> list[TablePartition]:
        return [p for key, p in sorted(self.partitions.items()) if start <= date.fromisoformat(key) <= end]

    def to_json(self) -> bytes:
        payload = asdict(self) | {"format": MANIFEST_FORMAT}
        payload["partitions"] = {key: asdict(p) for key, p in sorted(self.partitions.items())}
        return json.dumps(payload, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> TableManifest:
        payload = json.loads(data)
        if payload.pop("format", None) != MANIFEST_FORMAT:
            raise ValueError(
                f"warehouse manifest of {payload.get('table')} is not format {MANIFEST_FORMAT}: "
                "re-materialize the table"
            )
        payload["partitions"] = {key: TablePartition(**p) for key, p in payload["partitions"].items()}
        return cls(**payload)


class ParquetWarehouse:
    """The tables under one storage location; see the module docstring."""

    def __init__(self, storage: Storage, lock_timeout_s: float = 600.0, retain_superseded_s: float = 600.0) -> None:
        self.storage = storage
        self.lock_timeout_s = lock_timeout_s
        self.retain_superseded_s = retain_superseded_s

    @staticmethod
    def manifest_key(table: str) -> str:
        return f"{table}/manifest.json"

    def manifest(self, table: str) -> TableManifest | None:
        return read_manifest(self.storage, self.manifest_key(table), TableManifest.from_json)

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def writing(self, table: str) -> Iterator[None]:
        """The table's writer lock (what every write takes while it replaces the manifest)."""
        with self.storage.lock(self.manifest_key(table), self.lock_timeout_s):
            yield

    def replace_table(self, table: str, frame: pl.DataFrame) -> None:
        current = self._write(table, CURRENT, frame)
        schema = self._schema_file(table, frame.schema)
        self._commit(table, lambda _: TableManifest(table, None, schema, utc_now_iso(), {CURRENT: current}))

    def replace_partitions(
        self, table: str, frame: pl.DataFrame, start: date, end: date, partition_column: str = "day"
    ) -> None:
        check_window(table, frame, start, end, partition_column)
        written = self._write_partitions(table, frame, partition_column)  # invisible until the commit

        def build(current: TableManifest | None) -> TableManifest:
            if current is not None and current.partition_column != partition_column:
                return self._repartitioned(current, frame, start, end, partition_column)
            kept = {} if current is None else {
                key: p for key, p in current.partitions.items() if not start <= date.fromisoformat(key) <= end
            }
            schema = self._merged_schema(table, current, frame)
            return TableManifest(table, partition_column, schema, utc_now_iso(), kept | written)

        self._commit(table, build)

    def _commit(self, table: str, build) -> TableManifest:
        return replace_manifest(
            self.storage, self.manifest_key(table), TableManifest.from_json, build,
            self.retain_superseded_s, self.lock_timeout_s,
        )

    def _write(self, table: str, key: str, frame: pl.DataFrame) -> TablePartition:
        data = parquet_bytes(frame)
        path, digest = write_content_addressed(self.storage, f"{table}/{key}", data)
        return TablePartition(key, path, digest, frame.height, len(data))

    def _write_partitions(self, table: str, frame: pl.DataFrame, column: str) -> dict[str, TablePartition]:
        if frame.schema[column] != pl.Date:
            raise TypeError(
                f"{table}: partition column {column} is {frame.schema[column]}, not Date; "
                "partition columns are DATE (see ARCHITECTURE.md, Storage and serving)"
            )
        parts = frame.partition_by(column, as_dict=True, maintain_order=True) if frame.height else {}
        return {value.isoformat(): self._write(table, value.isoformat(), part) for (value,), part in parts.items()}

    def _schema_file(self, table: str, schema: pl.Schema | dict) -> str:
        path, _ = write_content_addressed(self.storage, f"{table}/{SCHEMA_FOLDER}", parquet_bytes(pl.DataFrame(schema=schema)))
        return path

    def _merged_schema(self, table: str, current: TableManifest | None, frame: pl.DataFrame) -> str:
        """The schema file of the table's columns plus the frame's new ones (appended, as DuckDB's
        ALTER TABLE ADD COLUMN does in the file warehouse)."""
        if current is None:
            return self._schema_file(table, frame.schema)
        existing = pl.read_parquet_schema(self.storage.uri(current.schema_path))
        added = {name: dtype for name, dtype in frame.schema.items() if name not in existing}
        return self._schema_file(table, {**existing, **added}) if added else current.schema_path

    def _repartitioned(
        self, current: TableManifest, frame: pl.DataFrame, start: date, end: date, column: str
    ) -> TableManifest:
        """A table written whole (or by another column) becomes partitioned by `column`: its rows
        outside the window are kept, re-filed per value (under the lock; rare)."""
        table = current.table
        existing = self._read(current, current.partitions.values())
        if column not in existing.columns:
            raise ValueError(f"{table} has no column {column} to hold its partitions: replace the table whole")
        if existing[column].null_count():
            raise ValueError(f"{table}: {existing[column].null_count()} stored rows have no {column}; replace the table whole")
        outside = existing.filter(~pl.col(column).is_between(start, end))
        rows = pl.concat([outside, frame], how="diagonal_relaxed") if outside.height else frame
        schema = self._merged_schema(table, current, frame)
        return TableManifest(table, column, schema, utc_now_iso(), self._write_partitions(table, rows, column))

    # --- reading ------------------------------------------------------------------------------

    def table_exists(self, table: str) -> bool:
        return self.storage.exists(self.manifest_key(table))

    def read_table(self, table: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {quote(table)}")

    def read_partitions(
        self, table: str, start: date, end: date, partition_column: str = "day"
    ) -> pl.DataFrame:
        manifest = self.manifest(table)
        if manifest is None:
            raise missing_table(table)
        # Only the window's files when the table is filed by this column (the common case).
        chosen = manifest.between(start, end) if manifest.partition_column == partition_column else manifest.partitions.values()
        with duckdb.connect() as connection:
            relation = _scan_sql(self.storage, manifest, chosen)
            return fetch_frame(
                connection, f"SELECT * FROM ({relation}) WHERE {quote(partition_column)} BETWEEN ? AND ?", [start, end]
            )

    def query(self, sql: str, parameters: list | None = None) -> pl.DataFrame:
        """`sql` over the tables it names, each as a view of its manifest's files."""
        with duckdb.connect() as connection:
            for name in _identifiers(sql):
                manifest = self.manifest(name)
                if manifest is not None:
                    view = _scan_sql(self.storage, manifest, manifest.partitions.values())
                    connection.execute(f"CREATE VIEW {quote(name)} AS {view}")
            return fetch_frame(connection, sql, parameters)

    def _read(self, manifest: TableManifest, partitions: Iterable[TablePartition]) -> pl.DataFrame:
        with duckdb.connect() as connection:
            return fetch_frame(connection, _scan_sql(self.storage, manifest, partitions))


def _scan_sql(storage: Storage, manifest: TableManifest, partitions: Iterable[TablePartition]) -> str:
    """SELECT over the schema file and `partitions`, matched by column name, in key order."""
    ordered = sorted(partitions, key=lambda p: p.key)
    files = ", ".join(_literal(storage.uri(path)) for path in [manifest.schema_path, *(p.path for p in ordered)])
    return f"SELECT * FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false)"


def _identifiers(sql: str) -> set[str]:
    """Every word or quoted name in `sql`: a superset of the tables it reads (a view for a word that
    is no table is never made; one for a table it only mentions costs little)."""
    return {quoted.replace('""', '"') if quoted else bare for quoted, bare in _IDENTIFIER.findall(sql)}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
