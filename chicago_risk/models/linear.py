"""A logistic regression on standardised features, stored as plain numbers.

Two models use it: the seed logistic baseline (the hackathon model) and the weather offset that
LightGBM boosts from. Missing values take the training mean, so a missing value contributes
nothing; each feature's contribution to the log-odds is `coef * z`, and the contributions plus the
intercept add up to the log-odds exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class LinearLogit:
    feature_names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        names: tuple[str, ...],
        weight: np.ndarray | None = None,
        class_weight: str | None = None,
    ) -> LinearLogit:
        """Fit on `x` (rows x names, NaN for missing); weights and class weights as scikit-learn's."""
        means = _weighted_nanmean(x, weight)
        filled = np.where(np.isnan(x), means, x)
        scales = np.sqrt(np.average((filled - means) ** 2, axis=0, weights=weight))
        # A constant column (or one never observed) carries nothing: scale 1 keeps z = 0.
        scales = np.where(scales > 0, scales, 1.0)
        model = LogisticRegression(class_weight=class_weight, max_iter=1000)
        model.fit((filled - means) / scales, y, sample_weight=weight)
        return cls(
            names, tuple(means.tolist()), tuple(scales.tolist()), tuple(model.coef_[0].tolist()),
            float(model.intercept_[0]),
        )

    def _z(self, x: np.ndarray) -> np.ndarray:
        means = np.asarray(self.means)
        return (np.where(np.isnan(x), means, x) - means) / np.asarray(self.scales)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per row and feature, its term of the log-odds (the intercept is not included)."""
        return self._z(x) * np.asarray(self.coef)

    def logit(self, x: np.ndarray) -> np.ndarray:
        return self.contributions(x).sum(axis=1) + self.intercept

    def to_dict(self) -> dict:
        return {**asdict(self), "feature_names": list(self.feature_names)}

    @classmethod
    def from_dict(cls, data: dict) -> LinearLogit:
        return cls(
            tuple(data["feature_names"]), tuple(data["means"]), tuple(data["scales"]),
            tuple(data["coef"]), float(data["intercept"]),
        )


def _weighted_nanmean(x: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    observed = ~np.isnan(x)
    w = np.ones(x.shape[0]) if weight is None else weight
    totals = (np.where(observed, x, 0.0) * w[:, None]).sum(axis=0)
    counts = (observed * w[:, None]).sum(axis=0)
    # A column never observed in training (a forecast the source lacked) is centred at 0.
    return np.divide(totals, counts, out=np.zeros(x.shape[1]), where=counts > 0)
