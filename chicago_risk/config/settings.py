"""Run-time settings, read from the environment once (`Settings.from_env`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from chicago_risk.config.domain import DATA_START
from chicago_risk.resources.storage import join_url, open_storage

SourceName = Literal["demo", "socrata", "files"]
StorageName = Literal["duckdb", "parquet"]
STORAGE_NAMES: tuple[str, ...] = ("duckdb", "parquet")


@dataclass(frozen=True)
class Settings:
    """Run-time settings, read from the environment once."""

    data_dir: Path = Path("data")
    source: SourceName = "demo"
    h3_resolution: int = 9
    demo_seed: int = 20190101
    socrata_url: str = "https://data.cityofchicago.org"
    socrata_app_token: str | None = None
    open_meteo_forecast_url: str = "https://api.open-meteo.com"
    open_meteo_archive_url: str = "https://archive-api.open-meteo.com"
    # Archived forecasts, for the forecast features of past days (the archive has none).
    open_meteo_historical_forecast_url: str = "https://historical-forecast-api.open-meteo.com"
    files_dir: Path = Path("data/exports")
    writer_lock_timeout_s: float = 600.0
    # The warehouse.duckdb connections' buffer pool; beyond it DuckDB spills to disk.
    duckdb_memory_limit: str = "1GB"
    # Days of map layers (predictions, cost, recommendations, publication) that `make demo` and
    # `chicago-risk materialize` without dates build, ending yesterday; the feature history their
    # models need (two years) and its 311 history (two more) come with them.
    served_days: int = 28
    # Where assets are materialized: the `warehouse.duckdb` file, or Parquet partitions under
    # `storage_url` (a folder or file:// URL; None: <data_dir>/warehouse).
    storage: StorageName = "duckdb"
    storage_url: str | None = None
    # Where layers are published (None: <storage url>/published for Parquet, else <data_dir>/published).
    published_url: str | None = None
    # The Dagster instance's storage: PostgreSQL at this URL (dagster-postgres), else Dagster's
    # stock SQLite under the data directory (chicago_risk.instance).
    dagster_postgres_url: str | None = None
    # The first day of the daily partitions: history before it is never planned or ingested.
    data_start: date = DATA_START

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file (storage `duckdb`)."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def warehouse_url(self) -> str:
        """The Parquet warehouse's folder or URL (storage `parquet`)."""
        return self.storage_url or str(self.data_dir / "warehouse")

    @property
    def warehouse_location(self) -> str:
        """Where this configuration materializes: the DuckDB file or the Parquet folder."""
        return self.warehouse_url if self.storage == "parquet" else str(self.warehouse_path)

    @property
    def published_location(self) -> str:
        return self.published_url or default_published_url(self.data_dir, self.storage, self.storage_url)

    @property
    def reports_dir(self) -> Path:
        """Model cards and backtest figures."""
        return self.data_dir / "reports"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CHICAGO_RISK_DATA_DIR", "data"))
        source = env.get("CHICAGO_RISK_SOURCE", "demo")
        if source not in ("demo", "socrata", "files"):
            raise ValueError(
                f"CHICAGO_RISK_SOURCE={source!r} is not a source; use demo, socrata or files"
            )
        resolution = int(env.get("CHICAGO_RISK_H3_RESOLUTION", "9"))
        if not 5 <= resolution <= 10:
            raise ValueError(f"CHICAGO_RISK_H3_RESOLUTION={resolution} must be between 5 and 10")
        storage, storage_url = read_storage(env)
        defaults = cls()
        return cls(
            data_dir=data_dir,
            source=source,  # type: ignore[arg-type]
            h3_resolution=resolution,
            demo_seed=int(env.get("CHICAGO_RISK_DEMO_SEED", defaults.demo_seed)),
            socrata_url=env.get("CHICAGO_RISK_SOCRATA_URL", defaults.socrata_url),
            socrata_app_token=env.get("CHICAGO_RISK_SOCRATA_APP_TOKEN") or None,
            open_meteo_forecast_url=env.get(
                "CHICAGO_RISK_OPEN_METEO_URL", defaults.open_meteo_forecast_url
            ),
            open_meteo_archive_url=env.get(
                "CHICAGO_RISK_OPEN_METEO_ARCHIVE_URL", defaults.open_meteo_archive_url
            ),
            open_meteo_historical_forecast_url=env.get(
                "CHICAGO_RISK_OPEN_METEO_HISTORICAL_FORECAST_URL",
                defaults.open_meteo_historical_forecast_url,
            ),
            files_dir=Path(env.get("CHICAGO_RISK_FILES_DIR", str(data_dir / "exports"))),
            writer_lock_timeout_s=float(env.get("CHICAGO_RISK_WRITER_LOCK_TIMEOUT_S", "600")),
            duckdb_memory_limit=_memory_size(env, "CHICAGO_RISK_DUCKDB_MEMORY_LIMIT", defaults.duckdb_memory_limit),
            served_days=_positive_int(env, "CHICAGO_RISK_SERVED_DAYS", defaults.served_days),
            storage=storage,
            storage_url=storage_url,
            published_url=env.get("CHICAGO_RISK_PUBLISHED_URL") or None,
            dagster_postgres_url=env.get("CHICAGO_RISK_DAGSTER_POSTGRES_URL") or None,
            data_start=read_data_start(env, source),
        )


def read_data_start(env: Mapping[str, str], source: str | None = None) -> date:
    """`CHICAGO_RISK_DATA_START`, checked: a date, and not before the demo city's first day when
    the demo city is the source (it simulates nothing earlier)."""
    text = (env.get("CHICAGO_RISK_DATA_START") or "").strip()
    if not text:
        return DATA_START
    try:
        start = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"CHICAGO_RISK_DATA_START={text!r} is not a date; use YYYY-MM-DD") from None
    if (source or env.get("CHICAGO_RISK_SOURCE") or "demo") == "demo" and start < DATA_START:
        raise ValueError(
            f"CHICAGO_RISK_DATA_START={start} is before the demo city's first day ({DATA_START}); "
            "use a later day, or a live or files source for older history"
        )
    return start


def read_storage(env: dict[str, str]) -> tuple[StorageName, str | None]:
    """`CHICAGO_RISK_STORAGE` and `CHICAGO_RISK_STORAGE_URL`, checked."""
    storage = env.get("CHICAGO_RISK_STORAGE") or "duckdb"
    if storage not in STORAGE_NAMES:
        raise ValueError(
            f"CHICAGO_RISK_STORAGE={storage!r} is not a storage; use duckdb (the warehouse.duckdb "
            "file, the default) or parquet (Parquet partitions under CHICAGO_RISK_STORAGE_URL)"
        )
    url = env.get("CHICAGO_RISK_STORAGE_URL") or None
    if url is not None and storage != "parquet":
        raise ValueError(
            f"CHICAGO_RISK_STORAGE_URL={url!r} is read only with CHICAGO_RISK_STORAGE=parquet "
            f"(it is {storage}): set CHICAGO_RISK_STORAGE=parquet, or unset the URL"
        )
    if url is not None:
        open_storage(url, "CHICAGO_RISK_STORAGE_URL")  # an object-store URL is refused here, clearly
    return storage, url  # type: ignore[return-value]


def default_published_url(data_dir: Path, storage: str = "duckdb", storage_url: str | None = None) -> str:
    """Published layers sit beside the warehouse: `<storage url>/published` for Parquet, else
    `<data_dir>/published`."""
    if storage == "parquet":
        return join_url(storage_url or str(data_dir / "warehouse"), "published")
    return str(data_dir / "published")


def _memory_size(env: dict[str, str], name: str, default: str) -> str:
    text = env.get(name, default).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text):
        raise ValueError(f"{name}={text!r} must be a size such as 1GB or 512MiB")
    return text


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name}={text!r} must be a whole number of days, at least 1")
    return int(text)
