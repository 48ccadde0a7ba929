"""Where published bytes live, behind one small interface chosen by URL.

Only a local folder exists today (a path, or a `file://` URL); an object store (`s3://...`) is
another `Storage` with the same methods, so the publisher, the API and notebooks do not change.
Every write is atomic: a reader sees the previous object or the new one, never part of one.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


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

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Exclusive among writers of `key` (readers never take it)."""


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
    def lock(self, key: str) -> Iterator[None]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def open_storage(url: str) -> Storage:
    """The storage behind `url`: a folder path or a `file://` URL."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return LocalFolder(Path(parsed.path if parsed.scheme else url))
    raise ValueError(
        f"published store {url!r}: only local folders (a path or file:// URL) are supported so far; "
        "set CHICAGO_RISK_PUBLISHED_URL to a folder"
    )


def utc_now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
