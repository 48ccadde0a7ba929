"""Population stability index: how far today's feature distribution moved from the training window."""

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
