"""From a model's raw score to a calibrated probability, expected incidents and a confidence.

Every map here is fitted on the calibration slice only (rows disjoint from training, see
`chicago_risk.models.windows`) and is stored as plain numbers, so a model loaded from the registry
applies exactly the same function as the one in memory:

- `Calibrator`: isotonic regression when the slice holds enough events and non-events, Platt
  scaling (a 1-D logistic regression on the raw score) when it is smaller. A slice that cannot
  calibrate (one class, too few of either) raises `CalibrationError`: never a silent fallback to
  the uncalibrated score (the hackathon backend's failure, see ARCHITECTURE.md).
- `EventsMap`: expected incidents in the 7 days as an increasing function of the calibrated
  probability (isotonic regression of `n_events_7d` on p), never below p itself.
- `ConfidenceTable`: how precisely the calibration slice pins a probability (see `confidence`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression

from chicago_risk.config import CalibrationSettings
from chicago_risk.models.metrics import fit_logistic_1d, reliability_table, sigmoid

CalibrationMethod = Literal["isotonic", "platt", "identity"]
_Z90 = 1.6448536269514722  # two-sided 90% normal quantile
# The calibrated mean must match the slice's event rate (both fits make them equal at the optimum,
# up to the isotonic bins' weak prior).
_MEAN_TOLERANCE = 2e-3


class CalibrationError(RuntimeError):
    """The calibration slice cannot calibrate this model: the asset must fail, not fall back."""


@dataclass(frozen=True)
class Calibrator:
    """p = an increasing step function of the raw score (isotonic: `y[i]` for scores in
    (`x[i-1]`, `x[i]`]), or sigmoid(a + b x raw) (Platt), or sigmoid(raw) (identity: the raw
    score already is a log-odds probability), clipped to [floor, 1 - floor].

    The isotonic steps are fitted on bins of at least `isotonic_min_bin_rows` calibration rows, so
    no step rests on a handful of rows (three events in three rows would otherwise claim p = 1),
    and a step function keeps the calibrated mean on the slice equal to its event rate.

    Beyond the slice's top step the map does not stay flat: a storm scores higher than anything
    the slice held, and a flat top would give every cell of the city the same p (issue 12: all
    cells at 0.067-0.070 on the decade's worst flood). Above the slice's largest raw score
    `tail_x`, p follows the logistic through (tail_x, top step) with the slope `b` Platt scaling
    finds on the whole slice (about 1 for a log-odds score): monotone, continuous, and on the
    slice's own range exactly the isotonic steps (so its mean still equals the slice's rate).
    Anchored at the top bin's largest score rather than its mean, the tail starts a little low:
    it errs toward the steps the slice supports."""

    method: CalibrationMethod
    floor: float
    rows: int = 0
    events: int = 0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 1.0
    tail_x: float | None = None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            p = np.asarray(self.y)[np.searchsorted(np.asarray(self.x), raw, side="left")]
            if self.tail_x is not None:
                top = self.y[-1]
                tail = sigmoid(np.log(top / (1 - top)) + self.b * (raw - self.tail_x))
                p = np.where(raw > self.tail_x, np.maximum(p, tail), p)
        elif self.method == "platt":
            p = sigmoid(self.a + self.b * raw)
        else:
            p = sigmoid(raw)
        return np.clip(p, self.floor, 1 - self.floor)

    def to_dict(self) -> dict:
        return {**asdict(self), "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        return cls(**{**data, "x": tuple(data["x"]), "y": tuple(data["y"])})


def choose_method(events: int, non_events: int, settings: CalibrationSettings) -> CalibrationMethod:
    """Isotonic with enough of both classes, Platt below; CalibrationError when too few."""
    if min(events, non_events) < settings.min_class_rows:
        raise CalibrationError(
            f"the calibration slice holds {events} event and {non_events} non-event cell-days; at "
            f"least {settings.min_class_rows} of each are needed to calibrate. Widen the slice "
            "(CalibrationSettings.blocks / block_days) or train on a longer history; the model is "
            "not published uncalibrated."
        )
    if min(events, non_events) >= settings.isotonic_min_class_rows:
        return "isotonic"
    return "platt"


def equal_count_bins(raw: np.ndarray, y: np.ndarray, min_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Largest score, event rate and row count of consecutive bins of about `min_rows` rows in
    score order. Rows of one score value are never split (persistence scores tie a lot), and a
    value with many rows is a bin of its own."""
    values, inverse, counts = np.unique(raw, return_inverse=True, return_counts=True)
    events = np.bincount(inverse, weights=y, minlength=values.size)
    starts = np.cumsum(counts) - counts
    # values starting within the same block of min_rows rows share a bin
    _, bin_of_value = np.unique(starts // max(min_rows, 1), return_inverse=True)
    last = bin_of_value.max()
    if last > 0 and counts[bin_of_value == last].sum() < min_rows:  # a short remainder joins its neighbour
        bin_of_value[bin_of_value == last] = last - 1
    rows = np.bincount(bin_of_value, weights=counts).astype(np.float64)
    upper = np.full(rows.size, -np.inf)
    np.maximum.at(upper, bin_of_value, values)
    return upper, np.bincount(bin_of_value, weights=events) / rows, rows


def fit_calibrator(
    raw: np.ndarray, y: np.ndarray, settings: CalibrationSettings, method: CalibrationMethod | None = None
) -> Calibrator:
    """Fit the probability map on the calibration slice (`method` forces one, e.g. the seed
    model's isotonic); raises CalibrationError rather than returning an uncalibrated map."""
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if raw.size != y.size or raw.size == 0:
        raise CalibrationError(f"the calibration slice is empty or misaligned ({raw.size} scores, {y.size} labels)")
    if not np.isfinite(raw).all():
        raise CalibrationError(f"{int((~np.isfinite(raw)).sum())} raw scores are not finite")
    events = int(y.sum())
    chosen = choose_method(events, y.size - events, settings)
    method = method or chosen
    floor = settings.probability_floor
    if method == "isotonic":
        upper, rate, weights = equal_count_bins(raw, y, settings.isotonic_min_bin_rows)
        # Each bin's rate is its posterior mean under a weak Beta prior centred on the slice's
        # rate: a bin of 200 rows without an event says "rare", not "impossible".
        prior = settings.isotonic_prior_rows
        rate = (rate * weights + prior * y.mean()) / (weights + prior)
        isotonic = IsotonicRegression(y_min=floor, y_max=1 - floor, increasing=True)
        fitted = isotonic.fit_transform(np.arange(rate.size), rate, sample_weight=weights)
        calibrator = Calibrator(
            "isotonic", floor, raw.size, events, x=tuple(upper[:-1].tolist()), y=tuple(fitted.tolist()),
            b=max(fit_logistic_1d(raw, y)[1], 0.0), tail_x=float(raw.max()),
        )
    elif method == "platt":
        a, b = fit_logistic_1d(raw, y)
        calibrator = Calibrator("platt", floor, raw.size, events, a=a, b=b)
    else:
        calibrator = Calibrator("identity", floor, raw.size, events)
    if method != "identity":
        _check_calibrated(calibrator, raw, y)
    return calibrator


def _check_calibrated(calibrator: Calibrator, raw: np.ndarray, y: np.ndarray) -> None:
    p = calibrator(raw)
    if not np.isfinite(p).all():
        raise CalibrationError(f"{calibrator.method} calibration produced non-finite probabilities")
    gap = abs(float(p.mean()) - float(y.mean()))
    if gap > _MEAN_TOLERANCE:
        raise CalibrationError(
            f"{calibrator.method} calibration did not converge: mean probability {p.mean():.4f} "
            f"against an event rate of {y.mean():.4f} on its own slice"
        )


@dataclass(frozen=True)
class EventsMap:
    """Expected incidents in the next 7 days given the calibrated probability p."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        x, y = np.asarray(self.x), np.asarray(self.y)
        # Beyond the slice's largest p (a storm), incidents per event stay those of the top.
        top = y[-1] / x[-1] if x.size and x[-1] > 0 else 1.0
        expected = np.where(p > (x[-1] if x.size else np.inf), p * top, np.interp(p, x, y))
        # At least one incident comes with every event, so E[n] >= P(n >= 1) = p.
        return np.maximum(expected, p)

    def to_dict(self) -> dict:
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict) -> EventsMap:
        return cls(tuple(data["x"]), tuple(data["y"]))


def fit_events_map(p: np.ndarray, n_events: np.ndarray) -> EventsMap:
    isotonic = IsotonicRegression(y_min=0.0, increasing=True, out_of_bounds="clip")
    isotonic.fit(np.asarray(p, dtype=np.float64), np.asarray(n_events, dtype=np.float64))
    return EventsMap(tuple(isotonic.X_thresholds_.tolist()), tuple(isotonic.y_thresholds_.tolist()))


def wilson_half_width(rate: np.ndarray, rows: np.ndarray, z: float = _Z90) -> np.ndarray:
    rate = np.asarray(rate, dtype=np.float64)
    rows = np.maximum(np.asarray(rows, dtype=np.float64), 1.0)
    return z / (1 + z * z / rows) * np.sqrt(rate * (1 - rate) / rows + z * z / (4 * rows * rows))


@dataclass(frozen=True)
class ConfidenceTable:
    """`confidence` of a calibrated probability p, in [0, 1].

    The calibration slice is cut into equal-mass bins of p. For the bin p falls in, with `rows`
    cell-days, observed event rate r and mean probability m:

        confidence = 1 - (h90 + |r - m|) / p,  clipped to [0, 1]

    h90 being the half-width of the 90% Wilson interval of r. It is one minus the relative
    uncertainty of the probability: 0.9 means the calibration data pins p to within about 10% of
    its value; 0 means the uncertainty is as large as p itself (rare, thinly supported
    probabilities, or a bin whose calibration was off).
    """

    upper_edges: tuple[float, ...]  # the largest p of each bin but the last
    rows: tuple[int, ...]
    rate: tuple[float, ...]
    mean_p: tuple[float, ...]
    floor: float

    def bin_uncertainty(self) -> np.ndarray:
        """Per bin: the 90% Wilson half-width of its event rate plus its calibration gap."""
        rate, mean_p = np.asarray(self.rate), np.asarray(self.mean_p)
        return wilson_half_width(rate, np.asarray(self.rows)) + np.abs(rate - mean_p)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        index = np.searchsorted(np.asarray(self.upper_edges), p, side="left")
        return np.clip(1 - self.bin_uncertainty()[index] / np.maximum(p, self.floor), 0.0, 1.0)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> ConfidenceTable:
        return cls(
            tuple(data["upper_edges"]), tuple(int(r) for r in data["rows"]), tuple(data["rate"]),
            tuple(data["mean_p"]), float(data["floor"]),
        )


def fit_confidence(p: np.ndarray, y: np.ndarray, settings: CalibrationSettings) -> ConfidenceTable:
    table = reliability_table(y, p, settings.confidence_bins)
    return ConfidenceTable(
        upper_edges=tuple(table["p_max"].to_list()[:-1]),
        rows=tuple(table["rows"].to_list()),
        rate=tuple(table["rate"].to_list()),
        mean_p=tuple(table["mean_p"].to_list()),
        floor=settings.probability_floor,
    )


@dataclass(frozen=True)
class CalibrationMap:
    """Everything fitted on the calibration slice, and a description of the slice itself."""

    probability: Calibrator
    events: EventsMap
    confidence: ConfidenceTable
    slice: dict  # days, blocks, rows, events (see windows.TrainingWindow.describe)

    def to_dict(self) -> dict:
        return {
            "probability": self.probability.to_dict(),
            "events": self.events.to_dict(),
            "confidence": self.confidence.to_dict(),
            "slice": self.slice,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CalibrationMap:
        return cls(
            Calibrator.from_dict(data["probability"]),
            EventsMap.from_dict(data["events"]),
            ConfidenceTable.from_dict(data["confidence"]),
            data["slice"],
        )


def fit_calibration_map(
    raw: np.ndarray,
    y: np.ndarray,
    n_events: np.ndarray,
    settings: CalibrationSettings,
    slice_description: dict,
    method: CalibrationMethod | None = None,
) -> CalibrationMap:
    probability = fit_calibrator(raw, y, settings, method)
    p = probability(raw)
    return CalibrationMap(
        probability, fit_events_map(p, n_events), fit_confidence(p, y, settings), slice_description
    )
