"""Typed settings of publication and serving, read from the environment once
(`ServingSettings.from_env`).

| variable | default | meaning |
|---|---|---|
| `CHICAGO_RISK_PUBLISHED_URL` | `$CHICAGO_RISK_DATA_DIR/published`; `$CHICAGO_RISK_STORAGE_URL/published` with `CHICAGO_RISK_STORAGE=parquet` | where published layers are written and read: a folder or a `file://` URL |
| `CHICAGO_RISK_API_KEYS` | none | comma-separated keys accepted by `POST /api/v1/predict/flood` |
| `CHICAGO_RISK_API_KEYS_FILE` | none | a file of keys, one a line (`#` starts a comment); adds to the above |
| `CHICAGO_RISK_API_RATE_PER_MINUTE` | 60 | scoring requests per key and minute (also the burst) |
| `CHICAGO_RISK_CORS_ORIGINS` | none | comma-separated origins allowed to call the API from a browser (`*` for any) |
| `CHICAGO_RISK_API_CACHE_ENTRIES` | 64 | rendered responses kept in memory (full layers, filter combinations) |
| `CHICAGO_RISK_API_PARTITION_CACHE` | 32 | published partitions kept in memory, decoded |
| `CHICAGO_RISK_MANIFEST_POLL_S` | 1.0 | how often the API looks for a newly published manifest |
| `CHICAGO_RISK_RETAIN_SUPERSEDED_S` | 600 | how long a replaced partition file stays readable for readers that still hold the old manifest |
| `CHICAGO_RISK_API_HOST`, `CHICAGO_RISK_API_PORT` | 127.0.0.1, 8000 | where `chicago-risk serve` listens |
| `CHICAGO_RISK_DAGSTER_UI_PORT` | 3000 | where `make demo` serves the Dagster UI (on the API's host) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chicago_risk.config.settings import default_published_url, read_storage

API_KEY_HEADER = "X-API-Key"


def published_location(data_dir: Path, env: dict[str, str] | None = None) -> str:
    """Where layers are published: `CHICAGO_RISK_PUBLISHED_URL`, else beside the warehouse
    (`<CHICAGO_RISK_STORAGE_URL>/published` with `CHICAGO_RISK_STORAGE=parquet`, else
    `<data_dir>/published`)."""
    env = os.environ if env is None else env
    return env.get("CHICAGO_RISK_PUBLISHED_URL") or default_published_url(data_dir, *read_storage(env))


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def read_api_keys(path: Path) -> tuple[str, ...]:
    """Keys of a key file: one a line, blank lines and `#` comments ignored."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise ValueError(f"CHICAGO_RISK_API_KEYS_FILE={path} cannot be read: {error.strerror}") from None
    return tuple(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())


def _number(env: dict[str, str], name: str, default: float, kind: type = float, minimum: float = 1) -> float:
    text = env.get(name)
    try:
        value = kind(text) if text not in (None, "") else default
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a {kind.__name__}") from None
    if value < minimum:
        raise ValueError(f"{name}={value} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class ServingSettings:
    published_url: str = "data/published"
    # Never printed: a repr or a log line must not carry a key.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    rate_limit_per_minute: int = 60
    cors_origins: tuple[str, ...] = ()
    response_cache_entries: int = 64
    partition_cache_entries: int = 32
    manifest_poll_s: float = 1.0
    retain_superseded_s: float = 600.0
    host: str = "127.0.0.1"
    port: int = 8000
    dagster_ui_port: int = 3000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ServingSettings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CHICAGO_RISK_DATA_DIR", "data"))
        keys = _split(env.get("CHICAGO_RISK_API_KEYS"))
        if env.get("CHICAGO_RISK_API_KEYS_FILE"):
            keys += read_api_keys(Path(env["CHICAGO_RISK_API_KEYS_FILE"]))
        defaults = cls()
        return cls(
            published_url=published_location(data_dir, env),
            api_keys=tuple(dict.fromkeys(keys)),
            rate_limit_per_minute=int(
                _number(env, "CHICAGO_RISK_API_RATE_PER_MINUTE", defaults.rate_limit_per_minute, int)
            ),
            cors_origins=_split(env.get("CHICAGO_RISK_CORS_ORIGINS")),
            response_cache_entries=int(
                _number(env, "CHICAGO_RISK_API_CACHE_ENTRIES", defaults.response_cache_entries, int)
            ),
            partition_cache_entries=int(
                _number(env, "CHICAGO_RISK_API_PARTITION_CACHE", defaults.partition_cache_entries, int)
            ),
            manifest_poll_s=_number(env, "CHICAGO_RISK_MANIFEST_POLL_S", defaults.manifest_poll_s, minimum=0),
            retain_superseded_s=_number(env, "CHICAGO_RISK_RETAIN_SUPERSEDED_S", defaults.retain_superseded_s, minimum=0),
            host=env.get("CHICAGO_RISK_API_HOST", defaults.host),
            port=int(_number(env, "CHICAGO_RISK_API_PORT", defaults.port, int)),
            dagster_ui_port=int(_number(env, "CHICAGO_RISK_DAGSTER_UI_PORT", defaults.dagster_ui_port, int)),
        )
