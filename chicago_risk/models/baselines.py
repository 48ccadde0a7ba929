"""Three of the baselines the LightGBM model must beat (the fourth, self-exciting, is `etas`), on
the same interface (`base.Scorer`).

- `climatology`: each cell's historical rate of `y_event_7d`, smoothed toward the city rate
  (Beta prior worth `climatology_prior_days` cell-days); used as is, it is already a probability.
- `persistence`: what an analyst does by hand, ranking cells by recent incidents (`cnt_7d`, ties
  broken by `cnt_30d`); calibrated like the others.
- `seed_logistic`: the original hackathon model, a class-balanced logistic regression on
  standardised features with isotonic calibration (now fitted on the calibration slice directly:
  the `CalibratedClassifierCV(cv="prefit")` it used is gone from scikit-learn 1.8).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, cast

import numpy as np
import polars as pl

from chicago_risk.config import ModelSettings
from chicago_risk.models.base import LABEL, feature_matrix, labels
from chicago_risk.models.calibration import CalibrationMethod
from chicago_risk.models.linear import LinearLogit
from chicago_risk.models.metrics import logit

# cnt_30d stays far below this, so cnt_7d + cnt_30d / it orders by cnt_7d, then cnt_30d.
_PERSISTENCE_TIE_SCALE = 10_000.0


@dataclass(frozen=True)
class ClimatologyScorer:
    kind: ClassVar[str] = "climatology"
    calibration_method: ClassVar[CalibrationMethod | None] = "identity"
    feature_names: tuple[str, ...]
    cells: tuple[str, ...]
    rates: tuple[float, ...]
    city_rate: float
    prior_days: float

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> ClimatologyScorer:
        prior = settings.training.climatology_prior_days
        city_rate = float(cast(float, train[LABEL].cast(pl.Float64).mean()))
        # Streamed: an eager group-by of two years of the city holds 0.6 GB more (polars 2.1).
        per_cell = (
            train.lazy()
            .group_by("h3_id")
            .agg(events=pl.col(LABEL).cast(pl.Float64).sum(), days=pl.len())
            .with_columns(rate=(pl.col("events") + prior * city_rate) / (pl.col("days") + prior))
            .sort("h3_id")
            .collect(engine="streaming")
        )
        return cls(("h3_id",), tuple(per_cell["h3_id"].to_list()), tuple(per_cell["rate"].to_list()), city_rate, prior)

    def probability(self, frame: pl.DataFrame) -> np.ndarray:
        """The cell's smoothed rate; a cell unseen in training gets the city rate."""
        return (
            frame["h3_id"]
            .replace_strict(list(self.cells), list(self.rates), default=self.city_rate, return_dtype=pl.Float64)
            .to_numpy()
        )

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray:
        return logit(self.probability(frame))

    def params(self) -> dict:
        return {"prior_days": self.prior_days, "city_rate": self.city_rate, "cells": len(self.cells)}

    def to_text(self) -> str:
        return json.dumps(
            {"cells": list(self.cells), "rates": list(self.rates), "city_rate": self.city_rate,
             "prior_days": self.prior_days}
        )

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> ClimatologyScorer:
        data = json.loads(text)
        return cls(feature_names, tuple(data["cells"]), tuple(data["rates"]), data["city_rate"], data["prior_days"])


@dataclass(frozen=True)
class PersistenceScorer:
    kind: ClassVar[str] = "persistence"
    calibration_method: ClassVar[CalibrationMethod | None] = None
    feature_names: tuple[str, ...] = ("cnt_7d", "cnt_30d")

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> PersistenceScorer:
        return cls()

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray:
        counts = feature_matrix(frame, self.feature_names)
        return np.log1p(counts[:, 0] + counts[:, 1] / _PERSISTENCE_TIE_SCALE)

    def params(self) -> dict:
        return {"score": f"log1p(cnt_7d + cnt_30d / {_PERSISTENCE_TIE_SCALE:g})"}

    def to_text(self) -> str:
        return json.dumps(self.params())

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> PersistenceScorer:
        return cls(feature_names)


@dataclass(frozen=True)
class SeedLogisticScorer:
    kind: ClassVar[str] = "seed_logistic"
    calibration_method: ClassVar[CalibrationMethod | None] = "isotonic"  # as the original backend did
    feature_names: tuple[str, ...]
    linear: LinearLogit
    fitted_rows: int

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> SeedLogisticScorer:
        from chicago_risk.features.registry import FEATURE_NAMES

        names = tuple(FEATURE_NAMES)
        cap = settings.training.logistic_max_rows
        sample = train.sample(cap, seed=settings.training.lightgbm.seed) if train.height > cap else train
        linear = LinearLogit.fit(feature_matrix(sample, names), labels(sample), names, class_weight="balanced")
        return cls(names, linear, sample.height)

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray:
        return self.linear.logit(feature_matrix(frame, self.feature_names))

    def params(self) -> dict:
        return {"class_weight": "balanced", "C": 1.0, "standardised": True, "fitted_rows": self.fitted_rows}

    def to_text(self) -> str:
        return json.dumps({"linear": self.linear.to_dict(), "fitted_rows": self.fitted_rows})

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> SeedLogisticScorer:
        data = json.loads(text)
        return cls(feature_names, LinearLogit.from_dict(data["linear"]), data["fitted_rows"])
