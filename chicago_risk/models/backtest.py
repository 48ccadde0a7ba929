"""Rolling-origin backtest: folds over the months before the cutoff, each model trained on the past.

Fold k tests the as-of days of one calendar month (or of `BacktestSettings.fold_days` days; 12
monthly folds by default). Its models are exactly what `risk_model` would
fit at a cutoff on the fold's first day: training (and calibration) rows end at
`last_labelled_day(first test day)`, eight days before it, so no training label window reaches
into the fold (a gap of at least the 7-day horizon). The climatology of the same fold is every
other model's reference for the Brier skill score; on the demo city, `demo_truth`'s ex-ante
`p_oracle_7d` is the ceiling for `oracle_share`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from chicago_risk.config import MODEL_KINDS, MODEL_SETTINGS, BacktestSettings, ModelSettings
from chicago_risk.models import metrics as M
from chicago_risk.models.base import COUNT, LABEL
from chicago_risk.models.drivers import drivers_sentence, explain
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.model import FittedModel, fit_model
from chicago_risk.models.storms import storm_days, storm_metrics
from chicago_risk.models.windows import (
    InsufficientHistoryError,
    TrainingWindow,
    fit_cutoff,
    last_labelled_day,
    plan_window,
)

EVALUATION_SCHEMA: dict[str, pl.DataType] = {
    "cutoff": pl.Date(),  # the evaluation's own cutoff: its folds end before it
    "model": pl.String(),
    "fold_start": pl.Date(),
    "metric": pl.String(),
    "value": pl.Float64(),
}

MISSES_SCHEMA: dict[str, pl.DataType] = {
    "cutoff": pl.Date(),
    "model": pl.String(),
    "fold_start": pl.Date(),
    "h3_id": pl.String(),
    "day": pl.Date(),
    "p_event_7d": pl.Float64(),
    "y_event_7d": pl.Int8(),
    "n_events_7d": pl.Int32(),
    "log_loss": pl.Float64(),
    "why": pl.String(),
}


@dataclass(frozen=True)
class Fold:
    start: date  # first test as-of day, and the cutoff of the fold's models
    end: date  # last test as-of day

    @property
    def training_last_day(self) -> date:
        return last_labelled_day(self.start)


def monthly_folds(last_day: date, months: int) -> list[Fold]:
    """The `months` newest whole calendar months whose days all end on or before `last_day`
    (the newest labelled as-of day), oldest first."""
    end = (last_day + timedelta(days=1)).replace(day=1) - timedelta(days=1)
    folds = []
    for _ in range(months):
        start = end.replace(day=1)
        folds.append(Fold(start, end))
        end = start - timedelta(days=1)
    return folds[::-1]


def day_folds(last_day: date, count: int, days: int) -> list[Fold]:
    """`count` consecutive folds of `days` days, the newest ending on `last_day`, oldest first."""
    return [
        Fold(last_day - timedelta(days=days * (count - i) - 1), last_day - timedelta(days=days * (count - i - 1)))
        for i in range(count)
    ]


def plan_folds(cutoff: date, settings: BacktestSettings) -> list[Fold]:
    """The configured folds of an evaluation at `cutoff`: none reaches past cutoff - 8."""
    last = last_labelled_day(cutoff)
    if settings.last_test_day is not None:
        last = min(last, settings.last_test_day)
    if settings.fold_days is None:
        return monthly_folds(last, settings.folds)
    return day_folds(last, settings.folds, settings.fold_days)


def trainable_folds(folds: list[Fold], first_available: date, settings: ModelSettings) -> list[Fold]:
    """The folds with enough labelled history before them to train and calibrate a model (a young
    warehouse backtests its last months only); InsufficientHistoryError when none has."""
    trainable = []
    for fold in folds:
        try:
            plan_window(fold.start, first_available, settings.training, settings.calibration)
        except InsufficientHistoryError:
            continue
        trainable.append(fold)
    if not trainable:
        raise InsufficientHistoryError(
            f"no fold of {folds[0].start}..{folds[-1].end} has enough labelled history since "
            f"{first_available} to train a model"
        )
    return trainable


@dataclass
class BacktestResult:
    metrics: pl.DataFrame  # model, fold_start, metric, value
    predictions: pl.DataFrame  # model, fold_start, day, p, y_event_7d, n_events_7d
    misses: pl.DataFrame  # the served model's worst misses, MISSES_SCHEMA without cutoff
    windows: dict[date, TrainingWindow]
    folds: pl.DataFrame  # per fold: the days its training, calibration and test rows really span
    fit_seconds: pl.DataFrame  # model, fold_start, seconds
    predict_seconds: pl.DataFrame  # model, fold_start, seconds (all test days)
    storm_days: pl.DataFrame  # day, precip_mm: the wettest test days (see `storms`)
    storms: pl.DataFrame  # model, metric, value on the storm days


def run_backtest(
    rows: pl.DataFrame,
    folds: list[Fold],
    first_available: date,
    settings: ModelSettings = MODEL_SETTINGS,
    truth: pl.DataFrame | None = None,
    kinds: tuple[str, ...] = MODEL_KINDS,
    progress: Callable[[int, int, Fold], None] | None = None,
) -> BacktestResult:
    """Fit every kind per fold on `rows` (features + labels) before the fold, score the fold.

    Each fold is scored by the models that served its first day: fitted at `fit_cutoff` (with
    refits every `refit_months`, the first Monday of that month or quarter on or before it), so
    the backtest measures the served models, never a fit the schedule would not have made. `truth`, when given, holds
    `h3_id`, `day`, `p_oracle_7d` for the test days; `progress(done, total, fold)` is called
    after each fold.
    """
    if "climatology" not in kinds:
        raise ValueError("the backtest needs the climatology model: it is the BSS reference")
    metric_rows, prediction_frames, miss_frames, rain = [], [], [], []
    fit_rows, predict_rows, fold_rows = [], [], []
    windows = {}
    # Folds served by the same fit (a quarter's months) share it, as the weeks they test did.
    fits: dict[date, tuple[dict[str, FittedModel], dict]] = {}
    for done, fold in enumerate(folds, start=1):
        fitted_at = fit_cutoff(fold.start, first_available, settings.training, settings.calibration)
        window = plan_window(fitted_at, first_available, settings.training, settings.calibration)
        windows[fold.start] = window
        if fitted_at not in fits:
            train, calibration_rows = window.split(rows)  # the window's days only: none after the fold starts
            fits[fitted_at] = (
                {kind: fit_model(kind, train, calibration_rows, window, settings) for kind in kinds},
                {
                    "training_first_day": train["day"].min(), "training_last_day": train["day"].max(),
                    "calibration_first_day": calibration_rows["day"].min(),
                    "calibration_last_day": calibration_rows["day"].max(),
                    "training_rows": train.height, "calibration_rows": calibration_rows.height,
                },
            )
        models, window_facts = fits[fitted_at]
        test = rows.filter(pl.col("day").is_between(fold.start, fold.end))
        if test.is_empty():
            raise ValueError(f"fold {fold.start}..{fold.end} has no labelled rows")
        fold_rows.append(
            {
                "fold_start": fold.start, "fold_end": fold.end, "fitted_cutoff": fitted_at, **window_facts,
                "test_first_day": test["day"].min(), "test_last_day": test["day"].max(), "test_rows": test.height,
            }
        )
        rain.append(test.select("day", "precip_mm").unique("day"))
        oracle = None
        if truth is not None:
            test = test.join(truth.select("h3_id", "day", "p_oracle_7d"), on=["h3_id", "day"], how="left")
            oracle = "p_oracle_7d" if test["p_oracle_7d"].null_count() == 0 else None
        reference = models["climatology"].predict_proba(test)
        for kind, model in models.items():
            began = time.perf_counter()
            p = model.predict_proba(test)
            predict_rows.append({"model": kind, "fold_start": fold.start, "seconds": time.perf_counter() - began})
            fit_rows.append({"model": kind, "fold_start": fold.start, "seconds": model.metrics["fit_seconds"]})
            scored = test.with_columns(p=pl.Series(p), p_climatology=pl.Series(reference))
            for metric, value in M.evaluate(scored, oracle=oracle).items():
                metric_rows.append({"model": kind, "fold_start": fold.start, "metric": metric, "value": value})
            prediction_frames.append(
                # what the figures need: 12 folds x 4 models of the whole city add up
                scored.select(
                    pl.lit(kind).alias("model"), pl.lit(fold.start).alias("fold_start"), "day", "p", LABEL, COUNT
                )
            )
            if kind == settings.served_kind:
                miss_frames.append(worst_misses(model, scored, fold, settings))
        if progress:
            progress(done, len(folds), fold)
    no_misses = pl.DataFrame(schema={k: v for k, v in MISSES_SCHEMA.items() if k != "cutoff"})
    predictions = pl.concat(prediction_frames)
    storms = storm_days(pl.concat(rain), settings.backtest.storm_day_share)
    return BacktestResult(
        metrics=pl.DataFrame(metric_rows, schema={k: v for k, v in EVALUATION_SCHEMA.items() if k != "cutoff"}),
        predictions=predictions,
        misses=_distinct_cells(pl.concat(miss_frames) if miss_frames else no_misses, settings.backtest.worst_misses),
        windows=windows,
        folds=pl.DataFrame(fold_rows),
        fit_seconds=pl.DataFrame(fit_rows),
        predict_seconds=pl.DataFrame(predict_rows),
        storm_days=storms,
        storms=storm_metrics(predictions, storms, settings.backtest, settings.bands.medium_from),
    )


def worst_misses(model: FittedModel, scored: pl.DataFrame, fold: Fold, settings: ModelSettings) -> pl.DataFrame:
    """The fold's rows with the largest log loss, each with a sentence on why the model said what
    it said (its top drivers, for LightGBM)."""
    y = scored[LABEL].cast(pl.Float64).to_numpy()
    p = np.clip(scored["p"].to_numpy(), 1e-15, 1 - 1e-15)
    loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    ranked = scored.with_columns(log_loss=pl.Series(loss)).sort("log_loss", descending=True)
    per_kind = settings.backtest.worst_misses * 3  # candidates of each kind, before one per cell
    top = pl.concat([ranked.filter(pl.col(LABEL) == y).head(per_kind) for y in (1, 0)])
    drivers: list[list[dict]]
    if isinstance(model.scorer, LightGBMScorer):
        drivers = explain(model.scorer, top, settings.drivers).to_list()
    else:
        drivers = [[] for _ in range(top.height)]
    why = [
        _why(row, d)
        for row, d in zip(top.select("p", LABEL, COUNT).iter_rows(named=True), drivers, strict=True)
    ]
    return top.select(
        pl.lit(model.kind).alias("model"), pl.lit(fold.start).alias("fold_start"), "h3_id", "day",
        pl.col("p").alias("p_event_7d"), LABEL, COUNT, "log_loss",
    ).with_columns(why=pl.Series(why, dtype=pl.String))


def _why(row: dict, drivers: list[dict]) -> str:
    leaning = drivers_sentence(drivers) if drivers else "no drivers for this kind of model"
    if row[LABEL]:
        return (
            f"missed: p = {row['p']:.3f} but {row[COUNT]} incident(s) followed; the model leaned on "
            f"{leaning}"
        )
    return f"false alarm: p = {row['p']:.2f} and nothing followed; pushed by {leaning}"


def _distinct_cells(misses: pl.DataFrame, keep: int) -> pl.DataFrame:
    """The `keep` worst misses, one per cell (the same quiet cell missed on 7 days in a row is
    one lesson, not seven), half missed incidents and half false alarms when both exist (the
    largest log losses are nearly all incidents in quiet cells, so a plain top 10 shows one kind)."""
    distinct = misses.sort("log_loss", descending=True).unique(
        subset=["model", "h3_id"], keep="first", maintain_order=True
    )
    missed = distinct.filter(pl.col(LABEL) == 1)
    alarms = distinct.filter(pl.col(LABEL) == 0)
    take_missed = max(keep - keep // 2, keep - alarms.height)
    return pl.concat([missed.head(take_missed), alarms.head(keep - min(take_missed, missed.height))])


def metric_summary(metrics: pl.DataFrame) -> pl.DataFrame:
    """Per model and metric: mean, standard deviation, min and max over folds."""
    return (
        metrics.group_by("model", "metric")
        .agg(
            mean=pl.col("value").mean(), std=pl.col("value").std(), min=pl.col("value").min(),
            max=pl.col("value").max(), folds=pl.len(),
        )
        .sort("metric", "model")
    )


def wins(metrics: pl.DataFrame, model: str, metric: str, higher_is_better: bool) -> pl.DataFrame:
    """Per other model: in how many folds `model` did better on `metric`."""
    wide = metrics.filter(pl.col("metric") == metric).pivot(on="model", index="fold_start", values="value")
    others = [c for c in wide.columns if c not in ("fold_start", model)]
    better = [(pl.col(model) > pl.col(o)) if higher_is_better else (pl.col(model) < pl.col(o)) for o in others]
    return wide.select(
        [b.sum().alias(o) for b, o in zip(better, others, strict=True)]
    ).with_columns(folds=pl.lit(wide.height))
