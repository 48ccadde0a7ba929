"""The city's facts and the domain constants, each with its source noted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

CHICAGO_TZ = "America/Chicago"


def chicago_today() -> date:
    """Today on the city's calendar, which the daily partitions follow."""
    return datetime.now(ZoneInfo(CHICAGO_TZ)).date()


# The default first day of the warehouse's daily partitions (CHICAGO_RISK_DATA_START sets another:
# `Settings.data_start`). Chicago's current 311 system starts mid-2018; the demo city is simulated
# forward from this day, so with the demo source the data cannot start earlier.
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
    """Thresholds of the raw assets' checks: when a day's volume is plausible (see
    `chicago_risk.ingest.volume`), when an empty day is retried, when a gap in the data warns."""

    trailing_days: int = 28  # the days before a day whose median volume is its baseline
    # A day with no requests while the trailing median is at least this is a dead upstream (a
    # Poisson day of mean 10 is empty once in 60 years): it is fetched again, then judged.
    min_median_for_empty_day: float = 10.0
    empty_day_retries: int = 2
    # A day's volume is plausible up to this multiple of what its weather explains (the trailing
    # median times `rain_multipliers` of the wettest recent day). CHICAGO_FACTS: the worst day,
    # 3,380 calls, was 6.8x the median of days of 60 mm or more; 20x leaves room for the city's
    # other leak types and for a tamer baseline, and still stops a doubled or looping feed.
    max_ratio_to_explained: float = 20.0
    max_floor: int = 500  # ...and never flag a day below this many requests
    # Median flooding calls by the day's own O'Hare rain over the dry-day median (CHICAGO_FACTS,
    # Water in Basement + Water on Street, 2010-2016: dry 16; 0.1-5 mm 22; 5-15 mm 35;
    # 15-25 mm 103; 25-40 mm 153; 40-60 mm 397; 60 mm or more 496): (rain from, multiplier).
    rain_multipliers: tuple[tuple[float, float], ...] = (
        (0.1, 22 / 16),
        (5.0, 35 / 16),
        (15.0, 103 / 16),
        (25.0, 153 / 16),
        (40.0, 397 / 16),
        (60.0, 496 / 16),
    )
    # Storms leave tails: the three dry days after 2010-07-24 still brought 940-1,020 calls a day,
    # so a day counts the wettest of itself and the days before it.
    storm_tail_days: int = 3
    # Snowmelt floods like rain (2014-02-20: 29 mm of rain on snow, 1,181 street calls): a thaw
    # day (tmax above 0 C after at least `thaw_after_ice_days` days of the week before stayed at
    # or below 0 C) adds this much rain.
    thaw_rain_equivalent_mm: float = 25.0
    thaw_after_ice_days: int = 3
    # A run of this many days without requests between the source's first and last day warns.
    coverage_gap_warn_days: int = 7


@dataclass(frozen=True)
class LiveClients:
    """How hard the live clients (Socrata, Open-Meteo) try; each source resource can override."""

    max_retries: int = 5  # 429, 5xx and timeouts, with exponential backoff from backoff_s
    backoff_s: float = 1.0
    # The circuit breaker: after this many failed attempts in a row (about two calls' retries)
    # calls fail at once, for breaker_reset_s (long enough for a restart or a rate window to
    # pass), then one trial call decides whether the upstream is back.
    breaker_failures: int = 10
    breaker_reset_s: float = 300.0


LIVE_CLIENTS = LiveClients()


@dataclass(frozen=True)
class WeatherRanges:
    """Physical ranges for Chicago daily weather (record lows/highs are -33 C and 43 C)."""

    tmin_c: tuple[float, float] = (-40.0, 35.0)
    tmax_c: tuple[float, float] = (-35.0, 45.0)
    precip_mm: tuple[float, float] = (0.0, 300.0)


@dataclass(frozen=True)
class WeatherFill:
    """How `weather_daily` fills a day the weather source lacks (flagged `interpolated`)."""

    # Linear interpolation between the nearest observed days (the nearest one at the data's
    # edge) for gaps of up to a week; a longer gap is an outage to fix, not weather to invent.
    max_gap_days: int = 7


@dataclass(frozen=True)
class FeatureChecks:
    """Thresholds of the feature store's checks."""

    # PSI above 0.25 is the usual "significant shift" rule of thumb in credit-risk monitoring.
    drift_psi_warn: float = 0.25
    drift_reference_days: int = 90  # the trailing training window the latest day is compared with


# The label: at least one incident in the cell in the 7 days after the as-of date t.
LABEL_HORIZON_DAYS = 7

HEAVY_RAIN_MM = 25.0  # CHICAGO_FACTS: about 8 days a year bring 25 mm or more
