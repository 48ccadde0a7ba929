"""How far the latest day's features moved from the trailing training window.

Per-cell features (incident counts) have a distribution across the city's cells every day: the
population stability index compares the latest day's with the reference window's. Weather holds
one value per day for every cell, so its "distribution" on one day is a spike and any PSI would be
huge every day; it is reported instead as the latest value's z-score against the reference days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

PSI_BINS = 10
_EPSILON = 1e-4  # keeps an empty bin from making the index infinite


def population_stability_index(reference: pl.Series, current: pl.Series) -> float:
    """PSI of `current` against `reference`, over the reference's decile bins."""
    ref = reference.drop_nulls().cast(pl.Float64).to_numpy()
    cur = current.drop_nulls().cast(pl.Float64).to_numpy()
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    ref_share, cur_share = ref_share + _EPSILON, cur_share + _EPSILON
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def drift_table(reference: pl.DataFrame, current: pl.DataFrame, features: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "feature": features,
            "psi": [population_stability_index(reference[f], current[f]) for f in features],
        }
    ).sort("psi", descending=True, nulls_last=True)


def weather_z_scores(reference: pl.DataFrame, current: pl.DataFrame, features: tuple[str, ...]) -> pl.DataFrame:
    """Per weather feature: the latest day's value and its z-score against the reference days."""
    daily = reference.group_by("day").agg(pl.col(features).first())
    latest = current.select(pl.col(features).first())
    return pl.DataFrame(
        {
            "feature": features,
            "latest": [latest[f][0] for f in features],
            "z": [
                None
                if latest[f][0] is None or not daily[f].std()
                else (latest[f][0] - daily[f].mean()) / daily[f].std()
                for f in features
            ],
        },
        schema={"feature": pl.String, "latest": pl.Float64, "z": pl.Float64},
    )
