"""The backtest's storm days: how each model does on the days a water department most needs it.

Storm days are the wettest `storm_day_share` of the backtest's test days by the day's
`precip_mm` (city-wide: one value a day), pooled over every fold: k = ceil(share x test days
with a rain reading), so 12 monthly folds (~365 days) give at least 4. Ties: every day with as
much rain as the k-th wettest is a storm day too (never an arbitrary pick among equals), so
there can be more than k. Days without a reading (a gap in the weather source) are never storm
days; they are counted apart.

Small counts: a few days of the whole city are still tens of thousands of cell-days, but they
are only a few weather situations. So the section reports how many days, cell-days and events
it rests on; AUROC is NaN when the storm days hold one class only; the reliability table uses
`storm_reliability_bins` equal-mass bins (fewer than the ECE's 15, so each bin holds thousands
of cell-days).
"""

from __future__ import annotations

import math
from typing import cast

import polars as pl

from chicago_risk.config import BacktestSettings
from chicago_risk.models import metrics as M
from chicago_risk.models.base import COUNT, LABEL

STORM_SCHEMA: dict[str, pl.DataType] = {
    "cutoff": pl.Date(),
    "model": pl.String(),
    "metric": pl.String(),
    "value": pl.Float64(),
}
# Metrics of each model on the storm days, in the order reports show them.
STORM_METRICS = (
    "days", "rows", "events", "precip_min_mm", "mean_p", "event_share", "auroc", "ece", "brier",
    # what the map shows: the share of storm cell-days in the medium or high band, and the share
    # of the storm's incidents (7-day counts) that fell in them
    "flagged_share", "flagged_capture",
)


def storm_days(day_precip: pl.DataFrame, share: float) -> pl.DataFrame:
    """The storm days (`day`, `precip_mm`) among `day_precip` (one row per test day)."""
    wet = day_precip.filter(pl.col("precip_mm").is_not_null()).unique("day")
    if wet.is_empty():
        return wet.select("day", "precip_mm")
    k = math.ceil(share * wet.height)
    threshold = wet["precip_mm"].sort(descending=True)[k - 1]
    return wet.filter(pl.col("precip_mm") >= threshold).select("day", "precip_mm").sort("day")


def storm_metrics(
    predictions: pl.DataFrame, storms: pl.DataFrame, settings: BacktestSettings, medium_from: float
) -> pl.DataFrame:
    """Per model: STORM_METRICS and its reliability bins (`bin<k>_mean_p`, `bin<k>_rate`,
    `bin<k>_rows`) on the storm days, long (model, metric, value). `predictions` holds `model`,
    `day`, `p`, the label and the count of every test row."""
    rows = []
    for (model,), part in predictions.join(storms, on="day").group_by("model", maintain_order=True):
        y = part[LABEL].cast(pl.Float64).to_numpy()
        p = part["p"].to_numpy()
        values = {
            "days": part["day"].n_unique(), "rows": part.height, "events": float(part[COUNT].sum()),
            "precip_min_mm": float(cast(float, part["precip_mm"].min())), "mean_p": float(p.mean()),
            "event_share": float(y.mean()),
            "auroc": M.auroc(y, p), "ece": M.expected_calibration_error(y, p, settings.storm_reliability_bins),
            "brier": M.brier(y, p),
            "flagged_share": float((p >= medium_from).mean()),
            "flagged_capture": float(
                cast(int, part.filter(pl.col("p") >= medium_from)[COUNT].sum()) / max(cast(int, part[COUNT].sum()), 1)
            ),
        }
        table = M.reliability_table(y, p, settings.storm_reliability_bins)
        for row in table.iter_rows(named=True):
            values |= {f"bin{row['bin']}_mean_p": row["mean_p"], f"bin{row['bin']}_rate": row["rate"],
                       f"bin{row['bin']}_rows": row["rows"]}
        rows += [{"model": model, "metric": k, "value": float(v)} for k, v in values.items()]
    return pl.DataFrame(rows, schema={k: v for k, v in STORM_SCHEMA.items() if k != "cutoff"})


def storm_table(storms: pl.DataFrame) -> pl.DataFrame:
    """The storm metrics wide, one row per model (for reports)."""
    if storms.is_empty():
        return pl.DataFrame()
    wide = storms.pivot(on="metric", index="model", values="value")
    return wide.select("model", *[m for m in STORM_METRICS if m in wide.columns])


def reliability_lines(storms: pl.DataFrame) -> list[str]:
    """'model: mean p -> observed rate (cell-days) per bin' lines."""
    lines = []
    for (model,), part in storms.group_by("model", maintain_order=True):
        values = dict(zip(part["metric"], part["value"], strict=True))
        bins = sorted({int(k[3:].split("_")[0]) for k in values if k.startswith("bin")})
        cells = [f"{values[f'bin{b}_mean_p']:.3f} -> {values[f'bin{b}_rate']:.3f} ({values[f'bin{b}_rows']:,.0f})"
                 for b in bins]
        lines.append(f"- `{model}`: " + "; ".join(cells))
    return lines
