"""The model card's SHAP figures of the served LightGBM model: a beeswarm of sampled cell-days
and a waterfall of the highest-risk cell, drawn by shap's plots.

The values are the model's own exact contributions (`LightGBMScorer.contributions`: LightGBM's
TreeSHAP plus the weather offset's linear terms, in raw log-odds), the numbers the `drivers` of
`risk_predictions` come from, wrapped in a `shap.Explanation`: nothing is computed twice, and the
card shows what the map serves. shap's own TreeSHAP is the independent check of those numbers
(`chicago_risk_tests/test_models/test_assets.py`).

shap is imported where it is used: it loads numba and pandas (about 3 s), which every process
that loads the Dagster definitions would otherwise pay for a weekly figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from chicago_risk.config import ExplanationSettings
from chicago_risk.models.base import feature_matrix
from chicago_risk.models.data import load_features, newest_feature_day, sample_features
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.model import FittedModel
from chicago_risk.models.plots import figure_png, write_png
from chicago_risk.storage.warehouse import WarehouseResource

if TYPE_CHECKING:
    import shap


@dataclass(frozen=True)
class ExplainedModel:
    """What the card says about its SHAP figures; `figures` are paths relative to the reports
    folder, as the card links them."""

    first_day: date
    day: date
    rows: int
    cell: str
    p_event_7d: float
    raw_score: float
    figures: dict[str, str]


def explanation(scorer: LightGBMScorer, features: pl.DataFrame) -> shap.Explanation:
    """The rows' exact contributions as a `shap.Explanation` (log-odds, before calibration):
    one value per feature, the expected value as the base value, the feature values as data."""
    import shap

    contributions = scorer.contributions(features)
    return shap.Explanation(
        values=contributions[:, :-1],
        base_values=contributions[:, -1],
        data=feature_matrix(features, scorer.feature_names),
        feature_names=list(scorer.feature_names),
    )


def beeswarm_png(explained: shap.Explanation, max_display: int, title: str) -> bytes:
    import shap

    figure, axis = plt.subplots(figsize=(8, 0.4 * max_display + 1.5))
    shap.plots.beeswarm(explained, max_display=max_display, ax=axis, plot_size=None, show=False)
    axis.set(title=title, xlabel="SHAP value: contribution to the raw score (log-odds)")
    return figure_png(figure)


def waterfall_png(explained_row: shap.Explanation, max_display: int, title: str) -> bytes:
    import shap

    figure = plt.figure()
    shap.plots.waterfall(explained_row, max_display=max_display, show=False)  # draws on the current figure
    figure.suptitle(title, fontsize=10)
    return figure_png(figure)


def write_explanations(
    warehouse: WarehouseResource, model: FittedModel, cutoff: date, reports_folder: Path, subfolder: str,
    settings: ExplanationSettings,
) -> ExplainedModel | None:
    """Draw the beeswarm of `settings.sample_rows` cell-days of the `settings.sample_days` days up
    to the newest feature day on or before `cutoff`, and the waterfall of that day's highest-risk
    cell, into `reports_folder/subfolder`. None for a model without exact contributions (a
    baseline configured as the served kind)."""
    if not isinstance(model.scorer, LightGBMScorer):
        return None
    day = newest_feature_day(warehouse, cutoff)
    first_day = day - timedelta(days=settings.sample_days - 1)
    sample = sample_features(warehouse, first_day, day, settings.sample_rows)
    explained = explanation(model.scorer, sample)
    cells = load_features(warehouse, day, day)
    # Only the top cell is explained: ranking the day needs the raw score, not its contributions.
    top = int(np.argmax(model.raw_score(cells)))
    top_row = cells.slice(top, 1)
    p_top = float(model.predict_proba(top_row)[0])
    explained_top = explanation(model.scorer, top_row)[0]
    cell = top_row["h3_id"][0]
    pngs = {
        "shap_beeswarm": beeswarm_png(
            explained, settings.max_display,
            f"SHAP values (log-odds) of {sample.height:,} cell-days, {first_day}..{day}",
        ),
        "shap_waterfall": waterfall_png(
            explained_top, settings.max_display, f"Highest-risk cell on {day}: {cell}, p_event_7d {p_top:.3f}"
        ),
    }
    figures = {}
    for name, png in pngs.items():
        write_png(png, reports_folder / subfolder / f"{name}.png")
        figures[name] = f"{subfolder}/{name}.png"
    return ExplainedModel(
        first_day=first_day, day=day, rows=sample.height, cell=cell, p_event_7d=p_top,
        raw_score=float(explained_top.values.sum() + explained_top.base_values), figures=figures,
    )
