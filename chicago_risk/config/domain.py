"""The city's facts and the domain constants, each with its source noted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


# The label: at least one incident in the cell in the 7 days after the as-of date t.
LABEL_HORIZON_DAYS = 7

HEAVY_RAIN_MM = 25.0  # CHICAGO_FACTS: about 8 days a year bring 25 mm or more
