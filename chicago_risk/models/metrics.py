"""Evaluation metrics of a 7-day risk forecast, vectorised over numpy arrays and polars frames.

`y` is the 0/1 label `y_event_7d`, `p` the forecast probability, `n` the incident count
`n_events_7d`. Ranking metrics per day (`precision_at_*`, `capture_at_*`) take the top share of
that day's cells; ties at the boundary are shared fractionally, so a model that gives many cells
the same probability is scored as if it picked among them at random (in expectation).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

ECE_BINS = 15
TOP_SHARES = {"1pct": 0.01, "5pct": 0.05}
_LOG_LOSS_EPS = 1e-15

METRIC_NAMES: tuple[str, ...] = (
    "auroc",
    "pr_auc",
    "brier",
    "bss",
    "log_loss",
    "ece",
    "calibration_slope",
    "precision_at_1pct",
    "precision_at_5pct",
    "capture_at_1pct",
    "capture_at_5pct",
    "pai_1pct",
    "pai_5pct",
)
ORACLE_METRIC = "oracle_share"
# Where a larger value is better; the others (brier, log_loss, ece) are better smaller, and a
# calibration slope is best at 1.
HIGHER_IS_BETTER = frozenset(
    {"auroc", "pr_auc", "bss", "precision_at_1pct", "precision_at_5pct", "capture_at_1pct",
     "capture_at_5pct", "pai_1pct", "pai_5pct", ORACLE_METRIC}
)


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in shape: {y.shape} vs {p.shape}")
    return y, p


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _LOG_LOSS_EPS, 1 - _LOG_LOSS_EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free


def auroc(y, p) -> float:
    y, p = _arrays(y, p)
    return float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else float("nan")


def pr_auc(y, p) -> float:
    """Average precision: the area under the precision-recall curve, step-wise."""
    y, p = _arrays(y, p)
    return float(average_precision_score(y, p)) if y.sum() > 0 else float("nan")


def brier(y, p) -> float:
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2))


def log_loss(y, p) -> float:
    y, p = _arrays(y, p)
    p = np.clip(p, _LOG_LOSS_EPS, 1 - _LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def brier_skill_score(y, p, p_reference) -> float:
    """1 - Brier(p) / Brier(reference): 0 is no better than the reference, 1 is perfect."""
    reference = brier(y, p_reference)
    return 1.0 - brier(y, p) / reference if reference > 0 else float("nan")


def equal_mass_bins(p, bins: int = ECE_BINS) -> np.ndarray:
    """Bin index 0..bins-1 of each probability: bins of equal count in the order of p."""
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    ranks = np.empty(p.size, dtype=np.int64)
    ranks[order] = np.arange(p.size)
    return (ranks * bins) // max(p.size, 1)


def reliability_table(y, p, bins: int = ECE_BINS) -> pl.DataFrame:
    """Per equal-mass bin: rows, mean forecast, observed rate, and the largest p in the bin.

    Sums in row order (numpy), not a parallel group-by: its summation order varies from run to
    run, which changed the last digits of a calibration and so the model id of the same fit."""
    y, p = _arrays(y, p)
    index = equal_mass_bins(p, bins)
    rows = np.bincount(index, minlength=bins)
    p_max = np.full(bins, -np.inf)
    np.maximum.at(p_max, index, p)
    present = rows > 0
    return pl.DataFrame(
        {
            "bin": np.flatnonzero(present),
            "rows": rows[present].astype(np.uint32),
            "mean_p": np.bincount(index, weights=p, minlength=bins)[present] / rows[present],
            "rate": np.bincount(index, weights=y, minlength=bins)[present] / rows[present],
            "p_max": p_max[present],
        }
    )


def expected_calibration_error(y, p, bins: int = ECE_BINS) -> float:
    """Sum over equal-mass bins of (bin share) x |observed rate - mean forecast|."""
    y, p = _arrays(y, p)
    if y.size == 0:
        return float("nan")
    index = equal_mass_bins(p, bins)
    counts = np.bincount(index, minlength=bins)
    gap = np.abs(np.bincount(index, weights=y, minlength=bins) - np.bincount(index, weights=p, minlength=bins))
    return float(gap[counts > 0].sum() / y.size)


def fit_logistic_1d(x, y, iterations: int = 50) -> tuple[float, float]:
    """Unpenalised maximum-likelihood (intercept, slope) of P(y=1) = sigmoid(a + b x), by Newton's
    method. Raises ValueError when the labels hold one class (the fit does not exist)."""
    x, y = _arrays(x, y)
    positives = y.sum()
    if positives == 0 or positives == y.size:
        raise ValueError(f"a logistic fit needs both classes; got {int(positives)} events in {y.size} rows")
    design = np.column_stack([np.ones_like(x), x])
    beta = np.array([math.log(positives / (y.size - positives)), 0.0])
    for _ in range(iterations):
        mu = sigmoid(design @ beta)
        weight = mu * (1 - mu)
        gradient = design.T @ (y - mu)
        hessian = (design * weight[:, None]).T @ design
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def calibration_slope(y, p) -> float:
    """Slope b of the logistic recalibration y ~ a + b logit(p): 1 is ideal, < 1 means the
    forecasts are too extreme, > 1 too timid."""
    y, p = _arrays(y, p)
    if not 0 < y.sum() < y.size:
        return float("nan")
    return fit_logistic_1d(logit(p), y)[1]


def top_share_weights(day, p, share: float) -> np.ndarray:
    """Per row, its weight in the day's top `share` of cells by p (k = ceil(share x cells) per
    day): 1 above the boundary, 0 below, and k's remainder split evenly among boundary ties."""
    frame = pl.DataFrame({"day": day, "p": np.asarray(p, dtype=np.float64)})
    k = (pl.len().over("day") * share).ceil()
    above = pl.col("p").rank("min", descending=True).over("day") - 1
    tied = pl.len().over("day", "p")
    return frame.select(((k - above) / tied).clip(0.0, 1.0).alias("w"))["w"].to_numpy()


def precision_at(day, y, p, share: float) -> float:
    """Mean over days of the share of the day's top cells that saw an event."""
    weights = top_share_weights(day, p, share)
    per_day = (
        pl.DataFrame({"day": day, "w": weights, "hit": weights * np.asarray(y, dtype=np.float64)})
        .group_by("day")
        .agg(pl.col("hit").sum() / pl.col("w").sum())
    )
    return float(cast(float, per_day["hit"].mean()))


def capture_at(day, n, p, share: float) -> float:
    """Share of all incidents of the next 7 days (summed over the days) that fall in each day's
    top cells."""
    n = np.asarray(n, dtype=np.float64)
    total = n.sum()
    return float((top_share_weights(day, p, share) * n).sum() / total) if total > 0 else float("nan")


def pai_at(day, n, p, share: float) -> float:
    """Predictive accuracy index (Chainey et al. 2008): the share of incidents caught in each
    day's top cells over the share of cells flagged (ceil(share x cells) a day, so slightly above
    `share` on a small grid). 1 is no better than flagging at random."""
    weights = top_share_weights(day, p, share)
    flagged = weights.sum() / max(weights.size, 1)
    return capture_at(day, n, p, share) / flagged if flagged > 0 else float("nan")


def capture_curve(day, n, p, shares: np.ndarray) -> np.ndarray:
    """Capture at each share of cells flagged (for the capture plot)."""
    return np.array([capture_at(day, n, p, float(s)) for s in shares])


def oracle_share(log_loss_model: float, log_loss_climatology: float, log_loss_oracle: float) -> float:
    """(LL climatology - LL model) / (LL climatology - LL oracle): the share of the possible
    improvement over climatology that the model achieves; 1 is the oracle, 0 climatology."""
    possible = log_loss_climatology - log_loss_oracle
    return (log_loss_climatology - log_loss_model) / possible if possible > 0 else float("nan")


def evaluate(
    frame: pl.DataFrame,
    p: str = "p",
    reference: str = "p_climatology",
    oracle: str | None = None,
) -> dict[str, float]:
    """Every metric of `p` on rows with `day`, `y_event_7d`, `n_events_7d`, the climatology
    forecast `reference` (for the BSS) and optionally the oracle's probability (`oracle_share`)."""
    y = frame["y_event_7d"].cast(pl.Float64).to_numpy()
    forecast = frame[p].to_numpy()
    day = frame["day"]
    metrics = {
        "auroc": auroc(y, forecast),
        "pr_auc": pr_auc(y, forecast),
        "brier": brier(y, forecast),
        "bss": brier_skill_score(y, forecast, frame[reference].to_numpy()),
        "log_loss": log_loss(y, forecast),
        "ece": expected_calibration_error(y, forecast),
        "calibration_slope": calibration_slope(y, forecast),
    }
    n = frame["n_events_7d"].to_numpy()
    for name, share in TOP_SHARES.items():
        metrics[f"precision_at_{name}"] = precision_at(day, y, forecast, share)
        metrics[f"capture_at_{name}"] = capture_at(day, n, forecast, share)
        metrics[f"pai_{name}"] = pai_at(day, n, forecast, share)
    if oracle is not None:
        metrics[ORACLE_METRIC] = oracle_share(
            metrics["log_loss"], log_loss(y, frame[reference].to_numpy()), log_loss(y, frame[oracle].to_numpy())
        )
    return metrics
