"""Where Delta tables live, a local folder or an S3 bucket, and how delta-rs reaches it.

A location is a folder path, a `file://` URL or `s3://bucket/prefix`; delta-rs talks to S3 itself
(no boto3, no DuckDB extension). Its endpoint, region and credentials come from the standard
`AWS_*` variables (`chicago_risk.config.settings.ObjectStoreSettings`); inside Dagster the secrets
reach `ObjectStoreConfig` as `dg.EnvVar`, so the UI shows the variable's name, never its value.

Concurrent writers on S3 are safe without a lock service: delta-rs 1.x commits with a conditional
PUT (`If-None-Match: *`), which AWS S3 has honoured since 2024 (as do MinIO, R2 and moto's server).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dagster as dg

LOCATIONS = "a folder path, a file:// URL or s3://bucket/prefix"


class UnsupportedStorageURL(ValueError):
    """A location that is neither a folder nor an S3 bucket."""


def table_root(url: str, setting: str) -> str:
    """`url` as delta-rs opens it: a folder path, or `s3://bucket/prefix`; anything else is refused
    with the variable it came from (`setting`) and what to use instead."""
    parsed = urlparse(url)
    if parsed.scheme == "" or (parsed.scheme == "file" and parsed.netloc in ("", "localhost")):
        return str(Path(parsed.path if parsed.scheme else url))
    if parsed.scheme == "s3" and parsed.netloc:
        return f"s3://{parsed.netloc}{parsed.path.rstrip('/')}"
    raise UnsupportedStorageURL(f"{setting}={url!r} is not a storage location; use {LOCATIONS}")


def is_object_store(url: str) -> bool:
    return urlparse(url).scheme == "s3"


def join_url(base: str, *parts: str) -> str:
    """`base` (a folder or URL) with `/part/...` appended."""
    return "/".join([base.rstrip("/"), *parts])


class ObjectStoreConfig(dg.Config):
    """How delta-rs reaches an S3 bucket; unused for folders. Unset fields fall back to delta-rs's
    own AWS credential chain (environment, instance or pod role)."""

    endpoint_url: str | None = None  # an S3-compatible server; None: AWS itself
    region: str | None = None
    access_key_id: str | None = None  # given as dg.EnvVar inside Dagster
    secret_access_key: str | None = None  # given as dg.EnvVar inside Dagster
    session_token: str | None = None

    def storage_options(self) -> dict[str, str]:
        """delta-rs's `storage_options` for this bucket."""
        options = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }
        if self.endpoint_url and self.endpoint_url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"  # a server on a private network or in a test
        return {name: value for name, value in options.items() if value}
