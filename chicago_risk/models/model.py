"""One interface for every kind of risk model: fit on a training window, then predict.

    model = fit_model("lightgbm", training_rows, calibration_rows, window)
    model.predict_proba(features)      # calibrated P(at least one incident in t+1..t+7)
    model.expected_events(features)    # expected incidents in t+1..t+7
    record = model.to_record()         # a `model_registry` row; FittedModel.from_record(record)
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cached_property
from typing import cast

import numpy as np
import polars as pl

from chicago_risk.config import MODEL_KINDS, MODEL_SETTINGS, ModelSettings
from chicago_risk.features.registry import registry_hash
from chicago_risk.models import metrics as M
from chicago_risk.models.base import COUNT, LABEL, Scorer, labels
from chicago_risk.models.baselines import ClimatologyScorer, PersistenceScorer, SeedLogisticScorer
from chicago_risk.models.calibration import CalibrationMap, fit_calibration_map
from chicago_risk.models.etas import ETASScorer
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.windows import TrainingWindow
from chicago_risk.upstream import materialize_command

SCORERS: dict[str, type[Scorer]] = {
    scorer.kind: scorer
    for scorer in (ClimatologyScorer, PersistenceScorer, SeedLogisticScorer, ETASScorer, LightGBMScorer)
}
if tuple(SCORERS) != MODEL_KINDS:
    raise RuntimeError(f"model kinds {MODEL_KINDS} and scorers {tuple(SCORERS)} are out of step")


# Kinds whose raw score is itself a (miscalibrated) log-odds.
_LOG_ODDS_KINDS = ("seed_logistic", "lightgbm")


class StaleFeaturesError(RuntimeError):
    """The model was trained on feature definitions that have changed since."""


@dataclass
class FittedModel:
    kind: str
    cutoff: date
    scorer: Scorer
    calibration: CalibrationMap
    feature_registry_hash: str
    params: dict
    metrics: dict = field(default_factory=dict)
    # UTC, naive (a DuckDB TIMESTAMP)
    created_at: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.scorer.feature_names

    @property
    def model_id(self) -> str:
        """kind-cutoff-hash of the model text and calibration: the same fit gives the same id."""
        return f"{self.kind}-{self.cutoff:%Y%m%d}-{self._digest}"

    @cached_property
    def _text(self) -> str:
        # Written out once per fit (a booster's text takes hundreds of milliseconds), and shared
        # by the copies serving its weekly cutoffs, each named and stored under its own id.
        return self.scorer.to_text()

    @cached_property
    def _digest(self) -> str:
        return hashlib.sha256(
            (self._text + json.dumps(self.calibration.to_dict(), sort_keys=True)).encode()
        ).hexdigest()[:10]

    def raw_score(self, features: pl.DataFrame) -> np.ndarray:
        return self.scorer.raw_score(features)

    def predict_proba(self, features: pl.DataFrame) -> np.ndarray:
        """Calibrated probability of at least one incident in the cell in the next 7 days."""
        return self.calibration.probability(self.raw_score(features))

    def expected_events(self, features: pl.DataFrame, p: np.ndarray | None = None) -> np.ndarray:
        return self.calibration.events(self.predict_proba(features) if p is None else p)

    def confidence(self, p: np.ndarray) -> np.ndarray:
        return self.calibration.confidence(p)

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        """`h3_id`, `day`, `p_event_7d`, `expected_events`, `confidence`, `model_id` per row."""
        p = self.predict_proba(features)
        return features.select("h3_id", "day").with_columns(
            p_event_7d=pl.Series(p),
            expected_events=pl.Series(self.calibration.events(p)),
            confidence=pl.Series(self.calibration.confidence(p)),
            model_id=pl.lit(self.model_id),
        )

    def served_at(self, cutoff: date) -> FittedModel:
        """This fit stored as the model of a later weekly `cutoff` (refits every few months: the
        weeks between serve the latest fit); `params["fitted_cutoff"]` keeps where it was fitted."""
        if cutoff < self.cutoff:
            raise ValueError(f"a model fitted at {self.cutoff} cannot serve the earlier cutoff {cutoff}")
        fitted = self.params.get("fitted_cutoff", self.cutoff.isoformat())
        served = replace(self, cutoff=cutoff, params={**self.params, "fitted_cutoff": fitted})
        served.__dict__.update(_text=self._text, _digest=self._digest)  # the same model and calibration
        return served

    def require_current_features(self) -> None:
        if self.feature_registry_hash != registry_hash():
            raise StaleFeaturesError(
                f"model {self.model_id} was trained on feature registry {self.feature_registry_hash}, "
                f"but the features are now {registry_hash()}: retrain it before predicting; run: "
                f"{materialize_command(['risk_model'], self.cutoff, self.cutoff)}"
            )

    def to_record(self) -> dict:
        """The `model_registry` row (see `chicago_risk.models.registry.MODEL_REGISTRY_SCHEMA`)."""
        return {
            "model_id": self.model_id,
            "cutoff": self.cutoff,
            "kind": self.kind,
            "params": json.dumps(self.params, sort_keys=True, default=str),
            "feature_list": list(self.feature_names),
            "feature_registry_hash": self.feature_registry_hash,
            "calibration_map": json.dumps(self.calibration.to_dict(), sort_keys=True),
            "metrics": json.dumps(self.metrics, sort_keys=True),
            "model_text": self._text,
            "created_at": self.created_at,
        }

    @classmethod
    def from_record(cls, record: dict) -> FittedModel:
        kind = record["kind"]
        if kind not in SCORERS:
            raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(SCORERS)}")
        features = tuple(record["feature_list"])
        return cls(
            kind=kind,
            cutoff=record["cutoff"],
            scorer=SCORERS[kind].from_text(record["model_text"], features),
            calibration=CalibrationMap.from_dict(json.loads(record["calibration_map"])),
            feature_registry_hash=record["feature_registry_hash"],
            params=json.loads(record["params"]),
            metrics=json.loads(record["metrics"]),
            created_at=record["created_at"],
        )


def slice_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Metrics of a probability on one slice, without the per-day and reference ones."""
    return {
        "rows": int(y.size),
        "event_rate": float(y.mean()),
        "mean_p": float(p.mean()),
        "auroc": M.auroc(y, p),
        "brier": M.brier(y, p),
        "log_loss": M.log_loss(y, p),
        "ece": M.expected_calibration_error(y, p),
    }


def fit_model(
    kind: str,
    train: pl.DataFrame,
    calibration_rows: pl.DataFrame,
    window: TrainingWindow,
    settings: ModelSettings = MODEL_SETTINGS,
) -> FittedModel:
    """Fit `kind` on the training rows, then its calibration on the (disjoint) calibration rows.

    Rows hold `h3_id`, `day`, the registry features, `y_event_7d` and `n_events_7d`. Raises
    `CalibrationError` when the calibration slice cannot calibrate the model.
    """
    if kind not in SCORERS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(SCORERS)}")
    overlap = train.select("day").unique().join(calibration_rows.select("day").unique(), on="day")
    if overlap.height:
        raise ValueError(f"training and calibration rows share {overlap.height} day(s), e.g. {overlap['day'][0]}")
    began = time.perf_counter()
    scorer = SCORERS[kind].fit(train, settings)
    fit_seconds = time.perf_counter() - began
    raw = scorer.raw_score(calibration_rows)
    y = labels(calibration_rows)
    description = {**window.describe(), "rows": calibration_rows.height, "events": int(y.sum())}
    calibration = fit_calibration_map(
        raw, y, calibration_rows[COUNT].to_numpy(), settings.calibration, description, scorer.calibration_method
    )
    p = calibration.probability(raw)
    metrics = {
        "training_rows": train.height,
        "training_event_rate": float(cast(float, train[LABEL].cast(pl.Float64).mean())),
        "fit_seconds": round(fit_seconds, 3),
        "calibration_method": calibration.probability.method,
        "calibration_slice": slice_metrics(y, p),
    }
    if kind in _LOG_ODDS_KINDS:  # what the raw score alone would have claimed
        metrics["calibration_slice_uncalibrated"] = slice_metrics(y, M.sigmoid(raw))
    return FittedModel(
        kind=kind,
        cutoff=window.cutoff,
        scorer=scorer,
        calibration=calibration,
        feature_registry_hash=registry_hash(),
        params=scorer.params(),
        metrics=metrics,
    )


def fit_all(
    rows: pl.DataFrame,
    window: TrainingWindow,
    settings: ModelSettings = MODEL_SETTINGS,
    kinds: tuple[str, ...] = MODEL_KINDS,
) -> dict[str, FittedModel]:
    """Every kind at one cutoff, on the window's split of the labelled rows."""
    train, calibration_rows = window.split(rows)
    return {kind: fit_model(kind, train, calibration_rows, window, settings) for kind in kinds}
