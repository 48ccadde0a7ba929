"""The self-exciting baseline crime forecasting measures analysts against (Mohler et al. 2011,
2015: an ETAS / Hawkes intensity): each cell has a background rate, and every recent incident in
the cell or next to it raises the cell's rate for a while, by an amount that decays with its age.

Expected incidents of cell c in the 7 days after as-of day t:

    Lambda = 7 mu_c + sum_b theta_b K_b(c, t) + sum_n eta_n N_n(c, t)

- `mu_c` the cell's background rate per day (a cell unseen in training: the city's mean);
- `K_b` the cell's own incidents seen through fixed kernels of their age: the feature store's
  exponential decay (half-life 7 days over 60 days, `decay_7d`) and its 7-, 30- and 365-day
  windows. Non-negative amplitudes `theta_b` make the fitted decay g(age) = sum_b theta_b
  kernel_b(age) a non-increasing function of any shape those kernels span (the "sum of
  exponentials" Hawkes kernel, with its decays fixed and its amplitudes fitted). A parametric
  exp(-omega age) with omega fitted would need each cell's daily incident series at scoring time,
  which the point-in-time feature store does not keep (it keeps these summaries);
- `N_n` the incidents of the six adjacent cells in the last 30 and 365 days, and of the cells up
  to two steps away in the last year, with their own amplitudes `eta_n` (the neighbour weight).

p_event_7d = 1 - exp(-Lambda) (Poisson arrivals), then calibrated like every other kind.

Fitted by maximum likelihood of the Poisson counts `n_events_7d` (the overlapping 7-day windows
make it a pseudo-likelihood with the same maximiser) with the EM algorithm ETAS uses: each
incident is shared among the background and the triggering terms in proportion to their part of
Lambda, and each parameter becomes its share of the incidents over its exposure. For an intensity
linear in non-negative parameters every step raises the likelihood and keeps them non-negative,
and a step is a few vectorised sums over the rows. The cell rates carry a Gamma prior worth
`prior_days` rows at the city's background rate (the climatology's shrinkage), so a cell without
an incident in training is rare, not impossible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, cast

import numpy as np
import polars as pl

from chicago_risk.config import ModelSettings
from chicago_risk.config.domain import LABEL_HORIZON_DAYS
from chicago_risk.features.compute import DECAY_WEIGHTS
from chicago_risk.models.base import COUNT, feature_matrix
from chicago_risk.models.calibration import CalibrationMethod
from chicago_risk.models.metrics import logit

# The cell's own incidents through each kernel, and its neighbours'. Their ages are days before
# the as-of day: `decay_7d` weighs age k by 0.5^(k/7) for k < 60, `cnt_Nd` weighs ages < N by 1.
SELF_KERNELS: tuple[str, ...] = ("decay_7d", "cnt_7d", "cnt_30d", "cnt_365d")
NEIGHBOUR_KERNELS: tuple[str, ...] = ("nbr_cnt_30d", "nbr_cnt_365d", "ring2_cnt_365d")
_KERNEL_DAYS = {
    "cnt_7d": 7,
    "cnt_30d": 30,
    "cnt_365d": 365,
    "nbr_cnt_30d": 30,
    "nbr_cnt_365d": 365,
    "ring2_cnt_365d": 365,
}
_MIN_LAMBDA = 1e-9


def kernel_of_age(name: str, ages: np.ndarray) -> np.ndarray:
    """Weight of an incident `ages` days old in the kernel feature `name`."""
    if name == "decay_7d":
        weights = np.asarray(DECAY_WEIGHTS[::-1])  # weight of age 0 first
        return np.where(ages < weights.size, weights[np.minimum(ages, weights.size - 1)], 0.0)
    return (ages < _KERNEL_DAYS[name]).astype(np.float64)


@dataclass(frozen=True)
class ETASScorer:
    kind: ClassVar[str] = "etas"
    calibration_method: ClassVar[CalibrationMethod | None] = None  # isotonic or Platt by slice size, as the others
    feature_names: tuple[str, ...]
    cells: tuple[str, ...]
    background: tuple[float, ...]  # per cell, incidents per day
    city_background: float
    theta: tuple[float, ...]  # per SELF_KERNELS then NEIGHBOUR_KERNELS
    iterations: int
    log_likelihood: float

    @classmethod
    def fit(cls, train: pl.DataFrame, settings: ModelSettings) -> ETASScorer:
        config = settings.training.etas
        sample = train.sample(config.max_rows, seed=config.seed) if train.height > config.max_rows else train
        names = (*SELF_KERNELS, *NEIGHBOUR_KERNELS)
        x = np.nan_to_num(feature_matrix(sample, names), nan=0.0)  # no history: nothing triggers
        n = sample[COUNT].cast(pl.Float64).to_numpy()
        cells, cell_codes = np.unique(sample["h3_id"].to_numpy(), return_inverse=True)
        fit = fit_em(x, n, cell_codes, cells.size, config.prior_days, config.max_iterations, config.tolerance)
        mu, theta, iterations, log_likelihood = fit
        return cls(
            ("h3_id", *names), tuple(cells.tolist()), tuple(mu.tolist()), float(mu.mean()),
            tuple(theta.tolist()), iterations, log_likelihood,
        )

    def expected_events(self, frame: pl.DataFrame) -> np.ndarray:
        """Lambda: expected incidents of each row's cell in the next 7 days."""
        mu = frame["h3_id"].replace_strict(
            list(self.cells), list(self.background), default=self.city_background, return_dtype=pl.Float64
        ).to_numpy()
        x = np.nan_to_num(feature_matrix(frame, self.feature_names[1:]), nan=0.0)
        return LABEL_HORIZON_DAYS * mu + x @ np.asarray(self.theta)

    def raw_score(self, frame: pl.DataFrame) -> np.ndarray:
        return logit(-np.expm1(-np.maximum(self.expected_events(frame), _MIN_LAMBDA)))

    def decay(self, ages: np.ndarray) -> np.ndarray:
        """g(age): expected incidents in the cell's next 7 days per own incident `ages` days old."""
        return cast(np.ndarray, sum(t * kernel_of_age(k, ages) for t, k in zip(self.theta, SELF_KERNELS, strict=False)))

    def params(self) -> dict:
        ages = np.arange(400)
        g = self.decay(ages)
        half = int(np.argmax(g <= g[0] / 2)) if g[0] > 0 and (g <= g[0] / 2).any() else None
        amplitudes = dict(zip((*SELF_KERNELS, *NEIGHBOUR_KERNELS), self.theta, strict=True))
        return {
            "amplitudes": {k: round(v, 6) for k, v in amplitudes.items()},
            "city_background_per_day": round(self.city_background, 6),
            "decay_half_life_days": half,
            # Incidents one incident triggers in its own cell over its life: a day is in 7 as-of
            # days' windows, so g summed over ages counts each triggered incident 7 times.
            "branching_ratio": round(float(g.sum()) / LABEL_HORIZON_DAYS, 4),
            "iterations": self.iterations,
            "log_likelihood_per_row": round(self.log_likelihood, 6),
            "cells": len(self.cells),
        }

    def to_text(self) -> str:
        return json.dumps(
            {"cells": list(self.cells), "background": list(self.background), "city_background": self.city_background,
             "theta": list(self.theta), "iterations": self.iterations, "log_likelihood": self.log_likelihood}
        )

    @classmethod
    def from_text(cls, text: str, feature_names: tuple[str, ...]) -> ETASScorer:
        d = json.loads(text)
        return cls(
            feature_names, tuple(d["cells"]), tuple(d["background"]), d["city_background"], tuple(d["theta"]),
            d["iterations"], d["log_likelihood"],
        )


def fit_em(
    x: np.ndarray, n: np.ndarray, cell: np.ndarray, cells: int, prior_days: float, max_iterations: int,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(mu per cell, theta, iterations, mean log-likelihood per row) maximising the Poisson
    likelihood of counts `n` under Lambda = 7 mu[cell] + x @ theta, mu with its Gamma prior.

    Stops when the mean log-likelihood per row gains less than `tolerance` in a step."""
    horizon = float(LABEL_HORIZON_DAYS)
    rows_per_cell = np.bincount(cell, minlength=cells).astype(np.float64)
    exposure = x.sum(axis=0)
    rate = n.sum() / max(n.size, 1) / horizon
    # Start with half the incidents from the background, half shared evenly by the kernels.
    mu = np.full(cells, rate / 2)
    theta = np.where(exposure > 0, 0.5 * n.sum() / np.maximum(exposure, 1e-12) / max(x.shape[1], 1), 0.0)
    previous, iterations = -np.inf, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 (returned after the loop)
        lam = np.maximum(horizon * mu[cell] + x @ theta, _MIN_LAMBDA)
        share = n / lam  # each row's incidents per unit of intensity
        city = float(mu.mean())
        # Background: the cell's incidents attributed to it, over its exposure, with the prior.
        mu = (mu * np.bincount(cell, weights=share, minlength=cells) + prior_days * city) / (rows_per_cell + prior_days)
        theta = np.divide(theta * (x.T @ share), exposure, out=np.zeros_like(theta), where=exposure > 0)
        log_likelihood = float(np.mean(n * np.log(lam) - lam))
        if log_likelihood - previous < tolerance:
            break
        previous = log_likelihood
    return mu, theta, iterations, log_likelihood
