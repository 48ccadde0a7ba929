"""Why a cell's risk is what it is: the top signed contributions of the LightGBM model.

`LightGBMScorer.contributions` is exact: LightGBM's TreeSHAP (`pred_contrib=True`) for the trees
plus the offset's linear terms, per row one contribution per feature plus a last column,
the expected value, all in raw log-odds (before calibration), summing to the raw score. A driver
is {feature, value, contribution, label}: `contribution` > 0 pushes the risk up, < 0 down, in
log-odds of the uncalibrated score (they do not add up to the calibrated probability, which is a
monotone map of their sum).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import polars as pl
import pyarrow as pa

from chicago_risk.config import DriverSettings
from chicago_risk.features.registry import FEATURES
from chicago_risk.models.base import feature_matrix
from chicago_risk.models.gbm import LightGBMScorer

DRIVER_DTYPE = pl.List(
    pl.Struct({"feature": pl.String(), "value": pl.Float64(), "contribution": pl.Float64(), "label": pl.String()})
)

# Where a registry description is a formula, the words a planner reads instead.
_PLAIN_WORDS = {
    "decay_7d": "Recent incidents in the cell, the latest weighing most (half-life 7 days)",
    "days_since_last": "Days since the cell's last incident",
    "rate_7d_shrunk": "The cell's usual incidents per week (two years, blended with its neighbourhood)",
    "doy_sin": "Time of year (seasonal cycle, sine)",
    "doy_cos": "Time of year (seasonal cycle, cosine)",
    "dow": "Day of the week",
    "heavy_rain": "Heavy rain (25 mm or more) on the day",
    "temp_drop_c": "Drop in mean temperature since the day before, C",
    "freeze_thaw_7d": "Freeze-thaw days (frost at night, thaw by day) in the last 7 days",
}


def _window_words(window: str) -> str:
    if window == "t":
        return "on the day"
    if match := re.fullmatch(r"\[t-(\d+), t\]", window):
        days = int(match.group(1)) + 1
        return "in the last year" if days == 365 else f"in the last {days} days"
    if match := re.fullmatch(r"\[t\+1, t\+(\d+)\]", window):
        return f"in the coming {match.group(1)} days"
    return f"over {window}"


@lru_cache(maxsize=1)
def feature_labels() -> dict[str, str]:
    """Plain-words label of every registry feature: its description and window."""
    labels = {}
    for feature in FEATURES:
        if feature.name in _PLAIN_WORDS:
            labels[feature.name] = _PLAIN_WORDS[feature.name]
        else:
            text = feature.description[0].upper() + feature.description[1:]
            labels[feature.name] = f"{text}, {_window_words(feature.window)}"
    return labels


def top_drivers(
    contributions: np.ndarray, values: np.ndarray, names: tuple[str, ...], settings: DriverSettings
) -> pl.Series:
    """A list of driver structs per row: the `min_drivers` largest |contribution|, then up to
    `max_drivers` while |contribution| >= `min_abs_contribution`, largest first."""
    n_rows, n_features = values.shape
    if contributions.shape != (n_rows, n_features + 1):
        raise ValueError(
            f"contributions have shape {contributions.shape}, expected ({n_rows}, {n_features + 1}): "
            "one column per feature and the expected value"
        )
    top = min(settings.max_drivers, n_features)
    per_feature = contributions[:, :n_features]
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :top]
    top_contribution = np.take_along_axis(per_feature, order, axis=1)
    keep = (np.arange(top) < settings.min_drivers) | (np.abs(top_contribution) >= settings.min_abs_contribution)
    # |contribution| decreases along a row, so `keep` is a prefix of each row.
    offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32)
    label_of = feature_labels()
    names_array = np.asarray(names, dtype=object)
    labels_array = np.asarray([label_of.get(n, n) for n in names], dtype=object)
    structs = pa.StructArray.from_arrays(
        [
            pa.array(names_array[order][keep], type=pa.string()),
            pa.array(np.take_along_axis(values, order, axis=1)[keep], type=pa.float64(), from_pandas=True),
            pa.array(top_contribution[keep], type=pa.float64()),
            pa.array(labels_array[order][keep], type=pa.string()),
        ],
        names=["feature", "value", "contribution", "label"],
    )
    lists = pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), structs)
    return pl.Series("drivers", lists, dtype=DRIVER_DTYPE)


def explain(scorer: LightGBMScorer, features: pl.DataFrame, settings: DriverSettings) -> pl.Series:
    """The drivers of every row of `features`."""
    values = feature_matrix(features, scorer.feature_names)
    return top_drivers(scorer.contributions(features), values, scorer.feature_names, settings)


def no_drivers(rows: int) -> pl.Series:
    """Empty driver lists, for rows not explained (a non-tree model, or outside the served days)."""
    return pl.Series("drivers", [[]] * rows, dtype=DRIVER_DTYPE)


def drivers_sentence(drivers: list[dict], limit: int = 3) -> str:
    """'cnt_365d = 0 (-0.61), ...' for a report."""
    return ", ".join(
        f"{d['label'][0].lower()}{d['label'][1:]} = {_fmt(d['value'])} ({d['contribution']:+.2f})"
        for d in drivers[:limit]
    )


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
