"""Where chicago-risk keeps bytes (the Parquet warehouse, the published layers), behind one small
interface chosen by URL.

Only a local folder exists today (a path, or a `file://` URL); it serves a single machine or a
volume shared by every pod (ReadWriteMany, with working `flock`). An object store (`s3://`,
`gs://`) would be another `Storage` with the same methods, returned by `open_storage`, so the
warehouse, the publisher, the API and notebooks would not change. Every write is atomic: a reader
sees the previous object or the new one, never part of one.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

OBJECT_STORE_SCHEMES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "r2")


class LockTimeout(RuntimeError):
    """Another writer kept a lock longer than the configured wait."""


class UnsupportedStorageURL(ValueError):
    """A URL whose storage is not implemented here (an object store) or is not storage at all."""


class Storage(Protocol):
    def uri(self, key: str) -> str:
        """What polars or DuckDB open to read the object `key`."""

    def exists(self, key: str) -> bool: ...

    def read_bytes(self, key: str) -> bytes:
        """Raises FileNotFoundError when the object is absent."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Replace the object atomically."""

    def stamp(self, key: str) -> str | None:
        """A token that changes whenever the object is replaced; None if it is absent."""

    def delete(self, key: str) -> None: ...

    def lock(self, key: str, timeout_s: float | None = None) -> AbstractContextManager[None]:
        """Exclusive among writers of `key` (readers never take it); LockTimeout after
        `timeout_s` seconds of waiting (None: wait as long as it takes)."""


class LocalFolder:
    """Objects are files under `root`; `key` is a relative path with `/` separators."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # rename is atomic within a file system: readers open the old file or the new one
        os.replace(temporary, target)

    def stamp(self, key: str) -> str | None:
        try:
            status = self._path(key).stat()
        except FileNotFoundError:
            return None
        return f"{status.st_mtime_ns}-{status.st_size}-{status.st_ino}"

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @contextmanager
    def lock(self, key: str, timeout_s: float | None = None) -> Iterator[None]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(path.with_name(path.name + ".lock"), timeout_s):
            yield


@contextmanager
def exclusive_lock(lock_path: Path, timeout_s: float | None = None) -> Iterator[None]:
    """An exclusive `flock` on `lock_path`, across processes and across open files of one process."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with open(lock_path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(
                        f"{lock_path.with_suffix('')} stayed busy for {timeout_s:.0f} s; another "
                        "chicago-risk run is writing: wait for it or stop it"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_storage(url: str, setting: str) -> Storage:
    """The storage behind `url` (a folder path or a `file://` URL); `setting` names the variable
    it came from, for the error an unsupported URL gets."""
    parsed = urlparse(url)
    if parsed.scheme == "" or (parsed.scheme == "file" and parsed.netloc in ("", "localhost")):
        return LocalFolder(Path(parsed.path if parsed.scheme else url))
    if parsed.scheme in OBJECT_STORE_SCHEMES:
        raise UnsupportedStorageURL(
            f"{setting}={url!r}: object storage ({parsed.scheme}://) is not implemented here. It would "
            "plug in as another Storage returned by open_storage() in chicago_risk/resources/storage.py "
            "(uri() for DuckDB's httpfs and polars, write_bytes() as one PUT, stamp() from the ETag, "
            "lock() as a conditional create of a lock object); nothing else changes. Until then set "
            f"{setting} to a folder (a path or file:// URL), e.g. a volume every pod mounts"
        )
    raise UnsupportedStorageURL(
        f"{setting}={url!r} is not a storage location; use a folder path or a file:// URL"
    )


def join_url(base: str, *parts: str) -> str:
    """`base` (a folder or URL) with `/part/...` appended."""
    return "/".join([base.rstrip("/"), *parts])


def utc_now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
