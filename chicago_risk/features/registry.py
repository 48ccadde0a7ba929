"""Feature definitions as code: what each column of `cell_day_features` means.

`chicago_risk.features.compute` builds every column listed here, for training and for scoring
alike; a test holds the two in step. Change a feature's meaning -> bump its version, which changes
its hash in the `feature_registry` table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import polars as pl

from chicago_risk.config import TYPE_GROUPS

# Longest trailing window any feature reads (the shrunk multi-year rate).
HISTORY_DAYS = 730
# Weather features read this many days before t (freeze_thaw_7d).
WEATHER_LOOKBACK_DAYS = 6
# Prior strength of the shrunk rate: the neighbourhood counts as this many days of the cell's own.
SHRINKAGE_PRIOR_DAYS = 365


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str  # a polars dtype name
    source: str  # where the values come from
    window: str  # the days read, relative to the as-of date t
    description: str
    version: int = 1
    required: bool = True  # required features are never null
    forecast: bool = False  # what a forecast issued on t said; null where the source has none

    @property
    def definition_hash(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    @property
    def polars_dtype(self) -> pl.DataType:
        return getattr(pl, self.dtype)()


def _history(name: str, window: str, description: str, dtype: str = "Int32") -> Feature:
    return Feature(name, dtype, "raw_311_requests (incidents)", window, description)


def _weather(name: str, window: str, description: str, dtype: str = "Float64") -> Feature:
    return Feature(name, dtype, "weather_daily", window, description)


FEATURES: tuple[Feature, ...] = (
    _history("cnt_7d", "[t-6, t]", "incidents in the cell"),
    _history("cnt_30d", "[t-29, t]", "incidents in the cell"),
    _history("cnt_365d", "[t-364, t]", "incidents in the cell"),
    _history(
        "decay_7d", "[t-59, t]", "sum over k=0..59 of 0.5^(k/7) x incidents in the cell on t-k",
        dtype="Float64",
    ),
    _history("nbr_cnt_30d", "[t-29, t]", "incidents in the six adjacent cells (H3 ring 1)"),
    _history(
        "days_since_last", "[t-364, t]",
        "days since the cell's latest incident on or before t, capped at 365 (365 if none)",
    ),
    *(
        _history(f"cnt_30d_{group}", "[t-29, t]", f"incidents of the '{group}' type group in the cell")
        for group in TYPE_GROUPS
    ),
    _history("nbr_cnt_365d", "[t-364, t]", "incidents in the six adjacent cells (H3 ring 1)"),
    _history("ring2_cnt_365d", "[t-364, t]", "incidents in the cells 1 or 2 steps away (H3 disk 2)"),
    _history(
        "rate_7d_shrunk", "[t-729, t]",
        "the cell's incidents per 7 days over two years, shrunk toward the per-cell rate of its "
        f"H3 disk-2 neighbourhood with a prior worth {SHRINKAGE_PRIOR_DAYS} days",
        dtype="Float64",
    ),
    _weather("tmin_c", "t", "city daily minimum temperature, C"),
    _weather("tmax_c", "t", "city daily maximum temperature, C"),
    _weather("precip_mm", "t", "city precipitation, mm"),
    _weather("precip_3d_mm", "[t-2, t]", "city precipitation, mm"),
    _weather("freeze_thaw_7d", "[t-6, t]", "days with tmin <= 0 < tmax", dtype="Int32"),
    _weather("temp_drop_c", "[t-1, t]", "tmean of t-1 minus tmean of t, C"),
    _weather("heavy_rain", "t", "1 if precipitation >= 25 mm", dtype="Int8"),
    Feature("doy_sin", "Float64", "calendar", "t", "sin(2 pi day-of-year / 365.25)"),
    Feature("doy_cos", "Float64", "calendar", "t", "cos(2 pi day-of-year / 365.25)"),
    Feature("dow", "Int8", "calendar", "t", "day of week, 0 = Monday"),
    Feature(
        "fc_precip_7d_mm", "Float64", "weather_daily (forecast issued on t)", "[t+1, t+7]",
        "forecast precipitation over the coming week, mm", required=False, forecast=True,
    ),
    Feature(
        "fc_freeze_days_7d", "Float64", "weather_daily (forecast issued on t)", "[t+1, t+7]",
        "forecast days with tmin <= 0 over the coming week", required=False, forecast=True,
    ),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
REQUIRED_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.required)
# Features that vary across cells on a day (their distribution over the city is comparable day to
# day), and the weather ones that hold one value per day for every cell.
PER_CELL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.source.startswith("raw_311"))
CITY_WIDE_WEATHER: tuple[str, ...] = tuple(f.name for f in FEATURES if f.source.startswith("weather_daily"))

CELL_DAY_FEATURES_SCHEMA: dict[str, pl.DataType] = {
    "h3_id": pl.String(),
    "day": pl.Date(),
    **{f.name: f.polars_dtype for f in FEATURES},
}


def registry_hash() -> str:
    """One hash of every definition: the version a model's feature list is pinned to."""
    joined = "".join(f.definition_hash for f in FEATURES)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def registry_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [{**asdict(f), "definition_hash": f.definition_hash} for f in FEATURES]
    ).with_columns(registry_hash=pl.lit(registry_hash()))
