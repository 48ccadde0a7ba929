"""Content-addressed files behind an atomically replaced manifest: what the Parquet warehouse
(`chicago_risk.resources.parquet_warehouse`) and the published store (`chicago_risk.publish.store`)
both stand on. Each keeps its own manifest schema; the protocol is the same:

1. write each new file under the name of its content (`<folder>/<sha256[:16]>.parquet`, atomic,
   never rewritten: the same rows give the same name, so re-writing them is a no-op);
2. under the manifest's lock, read the current manifest, build the next one, and replace it in one
   atomic write. Until then readers see none of the new files; after it, all of them;
3. a file the new manifest no longer lists is kept for `retain_superseded_s` (a reader holding the
   previous manifest still finds it), then deleted by a later commit, after the manifest stops
   naming it.

A process killed at any point leaves the previous manifest and every file it lists intact; at
worst a few unlisted files remain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import polars as pl

from chicago_risk.resources.storage import Storage


class FileManifest(Protocol):
    """A manifest this module can replace: a frozen dataclass with a `superseded` field."""

    superseded: dict[str, float]  # file -> when it stopped being listed (epoch seconds)

    def files(self) -> set[str]:
        """Every file the manifest lists (readers may open exactly these)."""

    def to_json(self) -> bytes: ...


M = TypeVar("M", bound=FileManifest)


class ConcurrentCleanupError(RuntimeError):
    """A file about to be listed was deleted meanwhile by another writer's clean-up."""


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    return buffer.getvalue()


def write_content_addressed(storage: Storage, folder: str, data: bytes, suffix: str = ".parquet") -> tuple[str, str]:
    """Store `data` as `<folder>/<sha256[:16]><suffix>` unless it is there already: (key, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{folder}/{digest[:16]}{suffix}"
    if not storage.exists(key):  # same content, same name: nothing to write
        storage.write_bytes(key, data)
    return key, digest


def read_manifest(storage: Storage, key: str, parse: Callable[[bytes], M]) -> M | None:
    try:
        return parse(storage.read_bytes(key))
    except FileNotFoundError:
        return None


def replace_manifest(
    storage: Storage,
    key: str,
    parse: Callable[[bytes], M],
    build: Callable[[M | None], M],
    retain_superseded_s: float,
    lock_timeout_s: float | None = None,
) -> M:
    """Replace the manifest at `key` with `build(current)`, serialised among writers; files it
    stops listing become superseded, and superseded files older than the retention go."""
    with storage.lock(key, lock_timeout_s):
        current = read_manifest(storage, key, parse)
        proposed = build(current)
        listed, previously = proposed.files(), current.files() if current else set()
        # Clean-ups delete only under this lock, so a file checked here stays until the next commit.
        missing = sorted(path for path in listed - previously if not storage.exists(path))
        if missing:
            raise ConcurrentCleanupError(
                f"{key}: {missing[0]} (and {len(missing) - 1} more) vanished before it was listed: "
                "another writer removed it as superseded; run the write again"
            )
        now = time.time()
        superseded = dict(current.superseded) if current else {}
        superseded.update({path: now for path in previously - listed})
        expired = {path for path, at in superseded.items() if path not in listed and now - at >= retain_superseded_s}
        kept = {path: at for path, at in superseded.items() if path not in listed and path not in expired}
        manifest = dataclasses.replace(proposed, superseded=kept)
        storage.write_bytes(key, manifest.to_json())
        # The manifest no longer names these files, so no new reader is sent to them.
        for path in sorted(expired):
            storage.delete(path)
        return manifest
