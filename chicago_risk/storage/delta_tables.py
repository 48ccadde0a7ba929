"""What the Delta warehouse and the published store share: opening a table (at a version),
listing the tables under a location, retrying a commit that lost a race, and vacuuming the files
no version within the retention still needs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.schema import Schema

from chicago_risk.storage.object_store import is_object_store

T = TypeVar("T")
# A write that lost a conflicting commit race (same partitions, or both creating the table) is
# redone from the new snapshot; delta-rs itself already rebases commits that do not conflict.
COMMIT_ATTEMPTS = 8


def open_table(uri: str, storage_options: dict[str, str], version: int | None = None) -> DeltaTable | None:
    """The Delta table at `uri` (its `version`, default the latest), None if there is none."""
    try:
        return DeltaTable(uri, version=version, storage_options=storage_options)
    except TableNotFoundError:
        return None


def filesystem(root: str, storage_options: dict[str, str]) -> pafs.FileSystem:
    """pyarrow's file system under `root` (a folder or s3://bucket/prefix), reaching the bucket
    with the same options delta-rs uses."""
    if not is_object_store(root):
        return pafs.SubTreeFileSystem(str(Path(root).absolute()), pafs.LocalFileSystem())
    endpoint = storage_options.get("AWS_ENDPOINT_URL")
    s3 = pafs.S3FileSystem(
        access_key=storage_options.get("AWS_ACCESS_KEY_ID"),
        secret_key=storage_options.get("AWS_SECRET_ACCESS_KEY"),
        session_token=storage_options.get("AWS_SESSION_TOKEN"),
        region=storage_options.get("AWS_REGION"),
        endpoint_override=endpoint,
        scheme="http" if endpoint and endpoint.startswith("http://") else "https",
    )
    return pafs.SubTreeFileSystem(root.removeprefix("s3://"), s3)


def table_names(root: str, storage_options: dict[str, str]) -> set[str]:
    """The folders directly under `root` (each a table once it has a `_delta_log`)."""
    listing = filesystem(root, storage_options).get_file_info(pafs.FileSelector("", allow_not_found=True))
    return {info.base_name for info in listing if info.type == pafs.FileType.Directory}


def add_new_columns(table: DeltaTable, schema: pa.Schema) -> None:
    """Append `schema`'s columns the table lacks (older rows read NULL there), keeping its order."""
    known = {f.name for f in table.schema().fields}
    added = [f for f in schema if f.name not in known]
    if added:
        table.alter.add_columns(Schema.from_arrow(pa.schema(added)).fields)


def with_commit_retries(write: Callable[[], T]) -> T:
    """`write()`, redone when another writer's commit conflicts with it (jittered backoff)."""
    attempt = 1
    while True:
        try:
            return write()
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS:
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
            attempt += 1


def vacuum_superseded(table: DeltaTable, retain_s: float) -> None:
    """Delete the files no current version lists once they have been superseded for `retain_s`
    (rounded up to whole hours: Delta's unit), so a reader pinned to an older version keeps its
    files that long. Files of writers that died before committing go the same way. Only when there
    is something to delete: each vacuum adds two commits to the log."""
    hours = math.ceil(retain_s / 3600)
    if table.vacuum(retention_hours=hours, dry_run=True, enforce_retention_duration=False):
        table.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False)
