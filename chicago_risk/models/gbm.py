"""The LightGBM risk model: gradient-boosted trees on every registry feature.

Class imbalance is left alone (no `is_unbalance`, no `scale_pos_weight`): reweighting would move
the raw probabilities away from the base rate, and the calibration step that follows can only
partly undo that. The booster's raw log-odds go to the calibrator; LightGBM's own exact TreeSHAP
(`pred_contrib=True`) explains the same raw log-odds (see `drivers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import lightgbm as lgb
import numpy as np
import polars as pl

from chicago_risk.features.registry import FEATURES
from chicago_risk.models.base import feature_matrix, labels
from chicago_risk.config import ModelSettings


def _is_city_wide(name: str) -> bool:
    """Weather, forecast and calendar features: one value per day for every cell."""
    source = next(f.source for f in FEATURES if f.name == name)
    return source.startswith(("weather_daily", "calendar"))


@dataclass(frozen=True)
class LightGBMScorer:
    kind: ClassVar[str] = "lightgbm"
    calibration_method: ClassVar[str | None] = None  # isotonic or Platt by slice size
    feature_names: tuple[str, ...]
    booster: lgb.Booster = field(compare=False)
    train_params: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> LightGBMScorer:
        config = settings.training.lightgbm
        names = tuple(f.name for f in FEATURES if f.name not in config.excluded_features)
        params = config.params()
        # A leaf spans at least `min_leaf_days` days' worth of cell-days: weather and calendar
        # are one value per day for every cell, and smaller leaves let trees memorise single days.
        cells_per_day = train.height / max(train["day"].n_unique(), 1)
        params["min_data_in_leaf"] = max(config.min_data_in_leaf, int(config.min_leaf_days * cells_per_day))
        if config.city_wide_max_bin:
            params["max_bin_by_feature"] = [
                config.city_wide_max_bin if _is_city_wide(n) else config.max_bin for n in names
            ]
        if config.separate_city_wide:
            city_wide = [i for i, n in enumerate(names) if _is_city_wide(n)]
            per_cell = [i for i, n in enumerate(names) if not _is_city_wide(n)]
            params["interaction_constraints"] = [per_cell, city_wide]
        dataset = lgb.Dataset(
            feature_matrix(train, names), label=labels(train), feature_name=list(names), params={"verbosity": -1}
        )
        booster = lgb.train(params, dataset, num_boost_round=config.num_boost_round)
        return cls(
            names, booster,
            {**params, "num_boost_round": config.num_boost_round, "excluded_features": list(config.excluded_features)},
        )

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray:
        """The booster's log-odds (before calibration)."""
        return self.booster.predict(feature_matrix(frame, self.feature_names), raw_score=True)

    def contributions(self, frame: pl.DataFrame) -> np.ndarray:
        """Exact TreeSHAP in log-odds: one column per feature, then the expected value; each row
        sums to `raw_score`."""
        return self.booster.predict(feature_matrix(frame, self.feature_names), pred_contrib=True)

    def params(self) -> dict:
        return self.train_params

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> LightGBMScorer:
        booster = lgb.Booster(model_str=text)
        if tuple(booster.feature_name()) != tuple(feature_names):
            raise ValueError(
                f"the stored booster's features {booster.feature_name()} differ from its registry "
                f"row's feature list {list(feature_names)}"
            )
        return cls(feature_names, booster)
