"""Where published bytes live: the storage shared with the Parquet warehouse
(`chicago_risk.resources.storage`), opened here with the published store's setting name."""

from __future__ import annotations

from chicago_risk.resources.storage import LocalFolder, Storage, UnsupportedStorageURL, utc_now_iso
from chicago_risk.resources.storage import open_storage as _open_storage

__all__ = ["LocalFolder", "Storage", "UnsupportedStorageURL", "open_storage", "utc_now_iso"]


def open_storage(url: str, setting: str = "CHICAGO_RISK_PUBLISHED_URL") -> Storage:
    """The storage behind a published location: a folder path or a `file://` URL."""
    return _open_storage(url, setting)
