"""Typed settings for chicago-risk: the one place a user tunes the product.

Environment variables override the defaults (see `Settings.from_env`); everything else here is a
domain constant with its source noted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

CHICAGO_TZ = "America/Chicago"

# First day of the warehouse's daily partitions. Chicago's current 311 system starts mid-2018;
# the demo city is simulated forward from this same day.
DATA_START = date(2019, 1, 1)

# Socrata dataset of 311 service requests (City of Chicago Data Portal).
SOCRATA_DATASET = "v6vf-nfxy"
CITY_LAT, CITY_LON = 41.8781, -87.6298  # Open-Meteo point for city-wide weather (the Loop).


@dataclass(frozen=True)
class RequestType:
    """One leak-related 311 request type."""

    sr_type: str
    short_code: str
    group: str  # feature family: counts per group become `cnt_30d_<group>`
    requests_per_year: int  # CHICAGO_FACTS: approximate city-wide volume since 2018
    median_close_hours: float  # CHICAGO_FACTS: a few hours (No Water) to months (Water Quality)


# The leak-related request types (CHICAGO_FACTS, dataset v6vf-nfxy). `chicago-risk discover-types`
# lists the live dataset's types so an operator can confirm this list.
LEAK_TYPES: tuple[RequestType, ...] = (
    RequestType("Water On Street Complaint", "AAE", "street", 10_000, 30.0),
    RequestType("Water in Basement Complaint", "AAF", "basement", 8_700, 72.0),
    RequestType("Sewer Cleaning Inspection Request", "CHECKFOR", "sewer", 10_400, 150.0),
    RequestType("Check for Leak", "WM3", "main", 9_400, 96.0),
    RequestType("Open Fire Hydrant Complaint", "WBT", "hydrant", 6_500, 8.0),
    RequestType("Sewer Cave-In Inspection Request", "AAD", "sewer", 5_400, 200.0),
    RequestType("No Water Complaint", "WBJ", "main", 3_600, 4.0),
    RequestType("Low Water Pressure Complaint", "WBK", "main", 1_950, 30.0),
    RequestType("Alley Sewer Inspection Request", "AAI", "sewer", 1_500, 240.0),
    RequestType("Water Quality Concern", "WCA", "quality", 770, 1_400.0),
)
TYPE_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(t.group for t in LEAK_TYPES))
TYPE_GROUP_BY_SR_TYPE: dict[str, str] = {t.sr_type: t.group for t in LEAK_TYPES}


@dataclass(frozen=True)
class IngestChecks:
    """Thresholds of the raw assets' blocking checks."""

    trailing_days: int = 28
    # A day with no requests while the trailing median is at least this is a dead upstream.
    min_median_for_empty_day: float = 10.0
    # Storm days bring up to ~35x the dry-day volume (CHICAGO_FACTS: 5,000 calls on the worst
    # days against ~150 on an ordinary one); above this multiple of the median a day is implausible.
    max_ratio_to_median: float = 60.0
    max_floor: int = 500  # ...and never flag a day below this many requests


@dataclass(frozen=True)
class WeatherRanges:
    """Physical ranges for Chicago daily weather (record lows/highs are -33 C and 43 C)."""

    tmin_c: tuple[float, float] = (-40.0, 35.0)
    tmax_c: tuple[float, float] = (-35.0, 45.0)
    precip_mm: tuple[float, float] = (0.0, 300.0)


@dataclass(frozen=True)
class FeatureChecks:
    """Thresholds of the feature store's checks."""

    # PSI above 0.25 is the usual "significant shift" rule of thumb in credit-risk monitoring.
    drift_psi_warn: float = 0.25
    drift_reference_days: int = 90  # the trailing training window the latest day is compared with


HEAVY_RAIN_MM = 25.0  # CHICAGO_FACTS: about 8 days a year bring 25 mm or more

SourceName = Literal["demo", "socrata", "files"]


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
    files_dir: Path = Path("data/exports")
    writer_lock_timeout_s: float = 600.0

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

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
            files_dir=Path(env.get("CHICAGO_RISK_FILES_DIR", str(data_dir / "exports"))),
            writer_lock_timeout_s=float(env.get("CHICAGO_RISK_WRITER_LOCK_TIMEOUT_S", "600")),
        )
