"""What every kind of risk model provides before calibration: a raw score, higher = riskier.

A scorer is fitted on training rows only; `chicago_risk.models.model.fit_model` then fits its
calibration on the calibration slice. Scores are on a log-odds-like scale (the calibrator's Platt
option is a logistic regression on them).
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
import polars as pl

from chicago_risk.config import ModelSettings
from chicago_risk.models.calibration import CalibrationMethod

LABEL = "y_event_7d"
COUNT = "n_events_7d"


class Scorer(Protocol):
    kind: ClassVar[str]
    # None: isotonic or Platt by calibration sample size; a method: always that one.
    calibration_method: ClassVar[CalibrationMethod | None]

    @property
    def feature_names(self) -> tuple[str, ...]: ...  # a property: the scorers are frozen dataclasses

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> Scorer: ...

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray: ...

    def params(self) -> dict: ...

    def to_text(self) -> str: ...

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> Scorer: ...


def feature_matrix(frame: pl.DataFrame, names: tuple[str, ...], rows: np.ndarray | None = None) -> np.ndarray:
    """The named columns as a float64 matrix, nulls as NaN, in `names` order; only the `rows` a
    boolean mask keeps, when given.

    Filled a column at a time: a sampled or float64 copy of the whole frame first would add to
    the peak of a fit on two years of the city. Column-major, as polars' own `to_numpy` gives."""
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise KeyError(f"the feature rows lack {missing}; the model was trained on {list(names)}")
    keep = None if rows is None else pl.Series(rows)
    matrix = np.empty((frame.height if rows is None else int(rows.sum()), len(names)), dtype=np.float64, order="F")
    for index, name in enumerate(names):
        column = frame[name] if keep is None else frame[name].filter(keep)
        matrix[:, index] = column.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    return matrix


def labels(frame: pl.DataFrame) -> np.ndarray:
    return frame[LABEL].cast(pl.Float64).to_numpy()
