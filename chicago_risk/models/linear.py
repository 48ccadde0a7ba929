"""A logistic regression on standardised features, stored as plain numbers.

Two models use it: the seed logistic baseline (the hackathon model) and the smooth offset that
LightGBM boosts from. Missing values take the training mean, so a missing value contributes
nothing: an unknown (a forecast the source lacks) moves the log-odds neither way, where filling it
with 0 would read "no rain". Each feature's contribution to the log-odds is `coef * z`, and the
contributions plus the intercept add up to the log-odds exactly.

The fit is scikit-learn's default objective (L2 penalty 1/2 |coef|^2 plus the weighted log loss,
intercept unpenalised), solved by L-BFGS-B so that named coefficients can be held >= 0: the
offset's rain, freeze and incident-count terms, which a few hundred days of weather could otherwise fit
backwards (real Chicago storms came out lowering the score).

Named features can enter on a log scale (`log1p`): incident counts, whose effect on the log-odds
grows like their logarithm, so that a storm's count, far beyond training's, extrapolates at a
sane slope instead of linearly (which would give every flooded cell p = 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize


@dataclass(frozen=True)
class LinearLogit:
    feature_names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    log1p: tuple[str, ...] = ()

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        names: tuple[str, ...],
        weight: np.ndarray | None = None,
        class_weight: str | None = None,
        non_negative: tuple[str, ...] = (),
        log1p: tuple[str, ...] = (),
    ) -> LinearLogit:
        """Fit on `x` (rows x names, NaN for missing); weights and class weights as scikit-learn's;
        the coefficients of `non_negative` names are held >= 0 (more of them never lowers the
        log-odds); `log1p` names enter as log(1 + max(x, 0))."""
        logged = _log_columns(x, names, log1p)
        means = _weighted_nanmean(logged, weight)
        z = _centred(logged, means)
        del logged  # the log copy, if one was made: a fit on two years of the city holds one copy at a time
        scales = np.sqrt(_weighted_mean_of_squares(z, weight))
        # A constant column (or one never observed) carries nothing: scale 1 keeps z = 0.
        scales = np.where(scales > 0, scales, 1.0)
        z /= scales
        w = np.ones(y.size) if weight is None else np.asarray(weight, dtype=np.float64)
        if class_weight == "balanced":  # n / (2 n_class), as scikit-learn
            events = y == 1
            w = w * np.where(events, y.size / (2 * max(events.sum(), 1)), y.size / (2 * max((~events).sum(), 1)))
        bounds: list[tuple[float | None, float | None]] = [
            (0.0, None) if n in non_negative else (None, None) for n in names
        ]
        coef, intercept = _penalised_logistic(z, np.asarray(y, dtype=np.float64), w, bounds)
        return cls(names, tuple(means.tolist()), tuple(scales.tolist()), tuple(coef.tolist()), intercept, log1p)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per row and feature, its term of the log-odds (the intercept is not included)."""
        z = _centred(_log_columns(x, self.feature_names, self.log1p), np.asarray(self.means))
        z /= np.asarray(self.scales)
        z *= np.asarray(self.coef)
        return z

    def logit(self, x: np.ndarray) -> np.ndarray:
        return self.contributions(x).sum(axis=1) + self.intercept

    def to_dict(self) -> dict:
        return {**asdict(self), "feature_names": list(self.feature_names), "log1p": list(self.log1p)}

    @classmethod
    def from_dict(cls, data: dict) -> LinearLogit:
        return cls(
            tuple(data["feature_names"]), tuple(data["means"]), tuple(data["scales"]),
            tuple(data["coef"]), float(data["intercept"]), tuple(data.get("log1p", ())),
        )


def _penalised_logistic(
    z: np.ndarray, y: np.ndarray, weight: np.ndarray, bounds: list[tuple[float | None, float | None]]
) -> tuple[np.ndarray, float]:
    """(coef, intercept) minimising sum(weight * log loss) + |coef|^2 / 2 within `bounds`."""
    rate = np.clip(np.average(y, weights=weight), 1e-6, 1 - 1e-6)
    start = np.concatenate([np.zeros(z.shape[1]), [np.log(rate / (1 - rate))]])

    total = (
        weight.sum()
    )  # the objective per unit of weight (as scikit-learn scales it), so tolerances mean the same at any size

    def objective(beta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = z @ beta[:-1] + beta[-1]
        # log(1 + e^m) - y m, overflow-free
        loss = np.logaddexp(0.0, margin) - y * margin
        residual = weight * (0.5 * (1.0 + np.tanh(0.5 * margin)) - y)
        gradient = np.concatenate([z.T @ residual + beta[:-1], [residual.sum()]]) / total
        return float(weight @ loss + 0.5 * beta[:-1] @ beta[:-1]) / total, gradient

    result = minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)],
        options={"maxiter": 1_000, "gtol": 1e-7, "ftol": 1e-12},
    )
    return result.x[:-1], float(result.x[-1])


def _centred(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """A new array: `x` minus `means`, a missing value at its column's mean (z = 0)."""
    z = np.where(np.isnan(x), means, x)
    z -= means
    return z


def _weighted_mean_of_squares(z: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """Per column, `np.average(z**2, axis=0, weights=weight)` (the same sums), with one temporary
    array instead of two."""
    squares = np.square(z)
    if weight is None:
        return squares.mean(axis=0)
    column = weight[:, None]
    squares *= column
    return squares.sum(axis=0) / column.sum(axis=0)


def _weighted_nanmean(x: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    observed = ~np.isnan(x)
    w = np.ones(x.shape[0]) if weight is None else weight
    weighted = np.where(observed, x, 0.0)
    weighted *= w[:, None]
    totals = weighted.sum(axis=0)
    counts = (observed * w[:, None]).sum(axis=0)
    # A column never observed in training (a forecast the source lacked) is centred at 0.
    return np.divide(totals, counts, out=np.zeros(x.shape[1]), where=counts > 0)


def _log_columns(x: np.ndarray, names: tuple[str, ...], log1p: tuple[str, ...]) -> np.ndarray:
    """`x` with the `log1p` names' columns as log(1 + max(x, 0)) (NaN stays NaN)."""
    columns = [i for i, n in enumerate(names) if n in log1p]
    if not columns:
        return x
    x = x.copy()
    x[:, columns] = np.log1p(np.maximum(x[:, columns], 0.0))
    return x
