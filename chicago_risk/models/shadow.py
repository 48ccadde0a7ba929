"""Shadow scoring: the challenger beside the champion on the same labelled rows; the challenger's
predictions are never served.

The rows are every cell of each as-of day from the challenger's fitted cutoff (the first day
neither model trained or calibrated on) to the decision's cutoff - 8 (the newest day whose label
is complete by then), of the days the warehouse holds features and labels for. The window is
empty while the challenger is younger than 8 days (fitted at the week's own cutoff, or the week
before). One vectorised prediction per model: a fortnight of the city is ~80,000 rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
import polars as pl

from chicago_risk.models import metrics as M
from chicago_risk.models.base import LABEL
from chicago_risk.models.data import load_labelled_rows
from chicago_risk.models.model import FittedModel
from chicago_risk.models.windows import last_labelled_day
from chicago_risk.storage.warehouse import WarehouseResource

# Rows (ordered by day and cell) to probabilities.
Predict = Callable[[pl.DataFrame], np.ndarray]


@dataclass(frozen=True)
class ShadowScores:
    """One model on the shadow rows."""

    log_loss: float
    ece: float
    brier: float
    mean_p: float


@dataclass(frozen=True)
class ShadowWindow:
    """The labelled rows both models are scored on."""

    first_day: date
    last_day: date
    rows: pl.DataFrame

    @classmethod
    def of(cls, warehouse: WarehouseResource, challenger_fitted: date, cutoff: date) -> ShadowWindow:
        last = last_labelled_day(cutoff)
        return cls(challenger_fitted, last, load_labelled_rows(warehouse, challenger_fitted, last, every_day=False))

    @property
    def days(self) -> int:
        return self.rows["day"].n_unique()

    @property
    def event_rate(self) -> float | None:
        return float(cast(float, self.rows[LABEL].cast(pl.Float64).mean())) if self.rows.height else None

    def scores(self, model: FittedModel, predict: Predict | None = None) -> ShadowScores | None:
        """`model` on the rows, through `predict` when given (a cache of its predictions); None
        when there are none."""
        if self.rows.is_empty():
            return None
        y = self.rows[LABEL].cast(pl.Float64).to_numpy()
        p = (predict or model.predict_proba)(self.rows)
        return ShadowScores(
            log_loss=M.log_loss(y, p), ece=M.expected_calibration_error(y, p), brier=M.brier(y, p),
            mean_p=float(np.mean(p)),
        )
