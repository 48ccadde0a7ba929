"""The risk model's assets: `risk_model`, `model_evaluation`, `model_card`, `risk_predictions`.

- `risk_model` (weekly, partition = training cutoff C): every kind of model trained on as-of days
  <= C - 8 and calibrated on a disjoint, season-spanning slice, stored in `model_registry`.
- `model_evaluation` (weekly, same cutoffs): the rolling-origin backtest of the folds before C
  (12 months by default), table `model_evaluation` (cutoff, model, fold_start, metric, value),
  its worst misses in `model_evaluation_misses`, each model on the storm days in
  `model_evaluation_storms` (cutoff, model, metric, value), and the figures under the reports
  folder.
- `model_card` (weekly): the markdown card of the cutoff's model, under the reports folder.
- `risk_predictions` (daily): every cell, scored by the champion of the day's week (`model_champion`).

The models read the feature store straight from the warehouse (two years of it, not one
partition), so their dependencies on it are declared as `deps` mapped to the weeks they read:
materializing predictions for a window also materializes the feature history their models need.
"""


import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, cast

import dagster as dg
import numpy as np
import polars as pl

from chicago_risk.automation import DAILY_FRESHNESS, FOLLOW_UPSTREAM, WEEKLY_FRESHNESS
from chicago_risk.checks import one_row_per_cell_day
from chicago_risk.config import LABEL_HORIZON_DAYS, MODEL_KINDS, MODEL_SETTINGS
from chicago_risk.features.registry import registry_hash
from chicago_risk.ingest.coverage import Coverage
from chicago_risk.metadata import column_schema, frame_metadata
from chicago_risk.models import plots
from chicago_risk.models.backtest import (
    EVALUATION_SCHEMA,
    MISSES_SCHEMA,
    metric_summary,
    plan_folds,
    run_backtest,
    trainable_folds,
    wins,
)
from chicago_risk.models.card import metrics_table, render_model_card
from chicago_risk.models.champion import MODEL_CHAMPION, champions_for_days
from chicago_risk.models.coverage import first_covered_day, first_trainable_day, more_history, window_warnings
from chicago_risk.models.data import (
    TRUTH_TABLE,
    SlidingRows,
    load_features,
    load_labelled_rows,
    load_truth,
)
from chicago_risk.models.explanations import write_explanations
from chicago_risk.models.metrics import ECE_BINS, METRIC_NAMES
from chicago_risk.models.model import FittedModel, fit_model
from chicago_risk.models.predict import PREDICTIONS_SCHEMA, RISK_BANDS, drivers_wanted, risk_band, score
from chicago_risk.models.registry import MODEL_REGISTRY, load_model, load_models_at, write_models
from chicago_risk.models.storms import STORM_SCHEMA, storm_table
from chicago_risk.models.windows import (
    InsufficientHistoryError,
    TrainingWindow,
    fit_cutoff,
    labelled_days_read,
    last_labelled_day,
    plan_window,
)
from chicago_risk.partitions import daily_partitions, model_partitions, single_run, year_at_a_time
from chicago_risk.progress import Progress
from chicago_risk.resources.city import CityGridResource
from chicago_risk.resources.reports import ReportsResource
from chicago_risk.schedules import RETRAIN_REASON_TAG
from chicago_risk.storage.io_manager import window_days
from chicago_risk.storage.warehouse import WarehouseResource

SETTINGS = MODEL_SETTINGS
MODEL_CODE_VERSION = "1"
MISSES_TABLE = "model_evaluation_misses"
STORMS_TABLE = "model_evaluation_storms"
# Rows per cutoff on which the registry round trip is checked.
_ROUND_TRIP_ROWS = 5_000
# Calibrated mean vs event rate on the calibration slice (both fits make them equal).
_CALIBRATED_MEAN_TOLERANCE = 2e-3

def _weeks_before(days: int) -> dg.TimeWindowPartitionMapping:
    """The weekly cutoff C reads the feature store's days in the `days` before it (offsets of a
    weekly asset count weeks): what the backfill runner widens the feature store to."""
    return dg.TimeWindowPartitionMapping(
        start_offset=-math.ceil(days / 7), end_offset=-1, allow_nonexistent_upstream_partitions=True
    )


def _feature_store_deps(days: int) -> list[dg.AssetDep]:
    return [
        dg.AssetDep(table, partition_mapping=_weeks_before(days)) for table in ("cell_day_features", "cell_day_labels")
    ]


# A model trains on the labelled days of its training window, the last ending 8 days before C;
# with refits every few months, the window of the fit serving C, up to `refit_lag_days` earlier.
TRAINING_READ_DAYS = SETTINGS.training.training_days + LABEL_HORIZON_DAYS + 1 + SETTINGS.training.refit_lag_days
# The backtest tests the calendar months before C; its first fold trains on whatever history the
# feature store holds, at least a calibration block, its purges and the minimum training days
# (from the fit serving its first day, up to `refit_lag_days` earlier).
EVALUATION_READ_DAYS = (
    SETTINGS.backtest.folds * SETTINGS.backtest.longest_fold_days
    + LABEL_HORIZON_DAYS
    + 1
    + SETTINGS.calibration.block_days
    + SETTINGS.training.refit_lag_days
    + 2 * SETTINGS.calibration.purge_days
    + SETTINGS.training.min_training_days
)


def cutoffs_of_run(context: dg.AssetExecutionContext) -> list[date]:
    """Every cutoff the run materializes (one, or a range in a single-run backfill)."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def _check_specs(asset: str, specs: tuple[tuple[str, bool, str], ...]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=text) for name, blocking, text in specs]


def _md_table(frame: pl.DataFrame) -> dg.MetadataValue:
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=200, tbl_cols=30, fmt_str_lengths=400, tbl_width_chars=10_000):
        return dg.MetadataValue.md(str(frame))


def _warn_coverage(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, coverage: Coverage | None, first_labelled: date,
    windows: list[TrainingWindow],
) -> list[str]:
    """The windows' coverage warnings, each also a warning in the run's log."""
    warnings = [
        w for window in windows for w in window_warnings(warehouse, coverage, first_labelled, window, SETTINGS.training)
    ]
    for warning in warnings:
        context.log.warning(warning)
    return warnings


def _coverage_metadata(coverage: Coverage | None, first_available: date, warnings: list[str]) -> dict:
    return {
        "coverage": dg.MetadataValue.json(
            {"source": coverage.source, "first_day": str(coverage.first_day), "last_day": str(coverage.last_day),
             "first_covered_as_of_day": str(first_covered_day(coverage))}
            if coverage else {"source": None}
        ),
        "first_trainable_day": str(first_available),
        "coverage_warnings": dg.MetadataValue.md("\n".join(f"- {w}" for w in warnings) or "none"),
    }


# --- risk_model ------------------------------------------------------------------------------

risk_model_checks = _check_specs(
    "risk_model",
    (
        ("no_label_leak", True, "every training and calibration row has as-of day <= cutoff - 8"),
        ("calibration_disjoint", True,
         "no day is both training and calibration, and the two keep the label horizon apart"),
        ("calibrated", True,
         "every model is calibrated (isotonic or Platt; climatology is a rate) and its mean "
         "probability equals the event rate on the calibration slice"),
        ("registry_round_trip", True, "models loaded from model_registry predict exactly as the fitted ones"),
    ),
)


def _nearest_gap_days(train_days: pl.Series, calibration_days: pl.Series) -> int:
    """Smallest |training day - calibration day|, in days."""
    train = train_days.unique().sort().to_frame("day").with_columns(train_day=pl.col("day"))
    calibration = calibration_days.unique().sort().to_frame("day")
    nearest = calibration.join_asof(train, on="day", strategy="nearest")
    return int(cast(int, (nearest["day"] - nearest["train_day"]).dt.total_days().abs().min()))


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=single_run,
    group_name="models",
    kinds={"lightgbm", "duckdb"},
    code_version=f"{MODEL_CODE_VERSION}-{registry_hash()}",
    deps=_feature_store_deps(TRAINING_READ_DAYS),
    freshness_policy=WEEKLY_FRESHNESS,
    check_specs=risk_model_checks,
    metadata={"table": MODEL_REGISTRY, "partition_column": "cutoff"},
)
def risk_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Climatology, persistence, the seed logistic regression, the self-exciting ETAS-style
    baseline and LightGBM, each trained at the partition's cutoff C on as-of days <= C - 8 and
    calibrated on a slice of whole days spread over the last year (disjoint from training),
    stored in `model_registry`."""
    cutoffs = cutoffs_of_run(context)
    first_available, first_labelled, coverage = first_trainable_day(
        warehouse, SETTINGS.training, labelled_days_read(cutoffs[0], last_labelled_day(cutoffs[-1]), SETTINGS.training)
    )
    training = SETTINGS.training
    if context.run.tags.get(RETRAIN_REASON_TAG, "").startswith("feature drift"):
        training = replace(training, refit_months=0)  # drift: fit this week's own model
    fitted_at = {c: fit_cutoff(c, first_available, training, SETTINGS.calibration) for c in cutoffs}
    try:
        windows = {
            r: plan_window(r, first_available, training, SETTINGS.calibration) for r in sorted(set(fitted_at.values()))
        }
    except InsufficientHistoryError as error:
        hint = more_history(cutoffs[0], first_labelled, coverage, training)
        raise InsufficientHistoryError(f"{error}: {hint}") from error
    warnings = _warn_coverage(context, warehouse, coverage, first_labelled, list(windows.values()))
    # Windows move forward: each reads only the days the previous one did not hold.
    loader, progress = SlidingRows(warehouse), Progress(context.log, "full fits", len(windows), every_s=0)
    fits: dict[date, dict[str, Any]] = {}  # kind -> FittedModel, and "facts"
    samples: dict[date, pl.DataFrame] = {}
    for refit, window in windows.items():
        train, calibration_rows = window.split(loader.window(window.first_day, window.last_day))
        fits[refit] = {kind: fit_model(kind, train, calibration_rows, window, SETTINGS) for kind in MODEL_KINDS}
        fits[refit]["facts"] = {
            "training_last_day": train["day"].max(), "calibration_last_day": calibration_rows["day"].max(),
            "shared_days": train.select("day").unique().join(calibration_rows.select("day").unique(), on="day").height,
            "nearest_gap_days": _nearest_gap_days(train["day"], calibration_rows["day"]),
        }
        samples[refit] = calibration_rows.sample(min(_ROUND_TRIP_ROWS, calibration_rows.height), seed=0)
        served_cutoffs = [c for c in cutoffs if fitted_at[c] == refit]
        progress.advance(
            f"fitted {', '.join(MODEL_KINDS)} at {refit} on {train.height:,} rows, calibrated on "
            f"{calibration_rows.height:,} (LightGBM {fits[refit]['lightgbm'].metrics['fit_seconds']:.1f} s), serving "
            f"cutoffs {served_cutoffs[0]}..{served_cutoffs[-1]}"
        )
    fitted: list[FittedModel] = []
    facts: list[dict] = []
    summaries: list[dict] = []
    for cutoff in cutoffs:
        refit = fitted_at[cutoff]
        models = {kind: fits[refit][kind].served_at(cutoff) for kind in MODEL_KINDS}
        facts.append({"cutoff": cutoff, "allowed_last_day": last_labelled_day(cutoff), **fits[refit]["facts"]})
        for kind, model in models.items():
            cal = model.metrics["calibration_slice"]
            summaries.append(
                {
                    "cutoff": cutoff, "fitted_cutoff": refit, "kind": kind, "model_id": model.model_id,
                    "method": model.calibration.probability.method,
                    "training_rows": model.metrics["training_rows"], "fit_s": model.metrics["fit_seconds"],
                    "cal_rows": cal["rows"], "cal_auroc": round(cal["auroc"], 4),
                    "cal_log_loss": round(cal["log_loss"], 4), "cal_ece": round(cal["ece"], 4),
                    "cal_mean_p": round(cal["mean_p"], 4), "cal_event_rate": round(cal["event_rate"], 4),
                }
            )
        fitted.extend(models.values())
    start, end = window_days(context.partition_time_window)
    write_models(warehouse, fitted, start, end)

    summary = pl.DataFrame(summaries)
    newest = max(cutoffs)
    served = fits[fitted_at[newest]][SETTINGS.served_kind].served_at(newest)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(fitted),
            "table": MODEL_REGISTRY,
            "cutoffs": f"{min(cutoffs)}..{newest}" if len(cutoffs) > 1 else str(newest),
            "full_fits": len(windows),
            "registry_hash": registry_hash(),
            "served_model_id": served.model_id,
            "served_model_fitted_at": str(fitted_at[newest]),
            "calibration_method": served.calibration.probability.method,
            "calibration_slice": dg.MetadataValue.json(served.calibration.slice),
            "calibration_auroc": float(served.metrics["calibration_slice"]["auroc"]),
            "calibration_log_loss": float(served.metrics["calibration_slice"]["log_loss"]),
            "lightgbm_fit_seconds": float(served.metrics["fit_seconds"]),
            "models": _md_table(summary),
            **_coverage_metadata(coverage, first_available, warnings),
        }
    )
    # Each fit's copy at the first cutoff it serves; its other copies are compared in the table.
    first_served = {refit: min(c for c in cutoffs if fitted_at[c] == refit) for refit in fits}
    round_trip = {
        c: (samples[refit], {k: fits[refit][k].served_at(c) for k in MODEL_KINDS}) for refit, c in first_served.items()
    }
    yield from _risk_model_checks(pl.DataFrame(facts), summary, round_trip, warehouse, (start, end))


def _risk_model_checks(
    facts: pl.DataFrame, summary: pl.DataFrame, samples: dict, warehouse: WarehouseResource,
    window: tuple[date, date],
) -> Iterator[dg.AssetCheckResult]:
    leaks = facts.filter(
        (pl.col("training_last_day") > pl.col("allowed_last_day"))
        | (pl.col("calibration_last_day") > pl.col("allowed_last_day"))
    )
    yield dg.AssetCheckResult(
        check_name="no_label_leak", asset_key="risk_model", passed=leaks.is_empty(),
        metadata={
            "windows": _md_table(
                facts.select("cutoff", "allowed_last_day", "training_last_day", "calibration_last_day")
            )
        },
    )
    purge = SETTINGS.calibration.purge_days
    mixed = facts.filter((pl.col("shared_days") > 0) | (pl.col("nearest_gap_days") <= purge))
    yield dg.AssetCheckResult(
        check_name="calibration_disjoint", asset_key="risk_model", passed=mixed.is_empty(),
        metadata={
            "shared_days": int(cast(int, facts["shared_days"].max())),
            "nearest_gap_days": int(cast(int, facts["nearest_gap_days"].min())),
            "required_gap_days": purge + 1,
        },
    )
    uncalibrated = summary.filter(
        ((pl.col("kind") != "climatology") & ~pl.col("method").is_in(["isotonic", "platt"]))
        | ((pl.col("kind") != "climatology")
           & ((pl.col("cal_mean_p") - pl.col("cal_event_rate")).abs() > _CALIBRATED_MEAN_TOLERANCE))
    )
    yield dg.AssetCheckResult(
        check_name="calibrated", asset_key="risk_model", passed=uncalibrated.is_empty(),
        metadata={"failing": _md_table(uncalibrated) if uncalibrated.height else "none"},
    )
    worst = 0.0
    for cutoff, (rows, models) in samples.items():
        stored = load_models_at(warehouse, cutoff)
        for kind, model in models.items():
            worst = max(worst, float(np.max(np.abs(stored[kind].predict_proba(rows) - model.predict_proba(rows)))))
    differing = differing_copies(warehouse, *window)
    yield dg.AssetCheckResult(
        check_name="registry_round_trip", asset_key="risk_model", passed=worst == 0.0 and differing == 0,
        metadata={"max_abs_difference": worst, "fits_loaded": len(samples), "stored_copies_differing": differing},
    )


def differing_copies(warehouse: WarehouseResource, first: date, last: date) -> int:
    """Stored copies of cutoffs first..last that differ from the other copies of their fit (same
    kind and parameters, fitted cutoff included) in model or calibration: 0 when every weekly
    copy holds its fit's one model, byte for byte."""
    copies = warehouse.query(
        f"SELECT count(DISTINCT hash(model_text)) + count(DISTINCT hash(calibration_map)) - 2 AS differing "
        f"FROM {MODEL_REGISTRY} WHERE cutoff BETWEEN ? AND ? GROUP BY kind, params",
        [first, last],
    )
    return int(cast(int, copies["differing"].sum()))


# --- model_evaluation ------------------------------------------------------------------------

model_evaluation_checks = _check_specs(
    "model_evaluation",
    (
        ("every_fold_and_metric", True, "every model has every metric in every fold, all finite"),
        ("folds_train_on_the_past", True,
         "each fold's training and calibration rows end at least 8 days before its first test day"),
        ("served_beats_baselines", False,
         "LightGBM beats each baseline on AUROC and log loss in a majority of folds"),
        ("bss_positive", False, "LightGBM's Brier skill score over climatology is > 0 in every fold"),
        ("ece_within_target", False, f"LightGBM's ECE ({ECE_BINS} equal-mass bins) is within the target in every fold"),
    ),
)


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=single_run,
    io_manager_key="warehouse_io_manager",
    group_name="models",
    kinds={"lightgbm", "duckdb"},
    code_version=f"{MODEL_CODE_VERSION}-{registry_hash()}",
    deps=_feature_store_deps(EVALUATION_READ_DAYS),
    check_specs=model_evaluation_checks,
    metadata={"partition_column": "cutoff", "dagster/column_schema": column_schema(EVALUATION_SCHEMA)},
)
def model_evaluation(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, reports: ReportsResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Rolling-origin backtest of the configured folds before the cutoff (`BacktestSettings`:
    12 calendar months by default): per fold, every kind trained as `risk_model` would at the
    fold's first day, scored on the fold; and every kind on the wettest 1% of the test days."""
    cutoffs = cutoffs_of_run(context)
    planned = {cutoff: plan_folds(cutoff, SETTINGS.backtest) for cutoff in cutoffs}
    needed = labelled_days_read(planned[cutoffs[0]][0].start, planned[cutoffs[-1]][-1].end, SETTINGS.training)
    first_available, first_labelled, coverage = first_trainable_day(warehouse, SETTINGS.training, needed)
    warnings: list[str] = []
    evaluations, misses, fold_facts, timings, storms = [], [], [], [], []
    figures: dict[str, str] = {}
    for cutoff in cutoffs:
        try:
            folds = trainable_folds(planned[cutoff], first_available, SETTINGS)
        except InsufficientHistoryError as error:
            hint = more_history(planned[cutoff][-1].start, first_labelled, coverage, SETTINGS.training)
            raise InsufficientHistoryError(f"{error}: {hint}") from error
        first_fit = fit_cutoff(folds[0].start, first_available, SETTINGS.training, SETTINGS.calibration)
        first_window = plan_window(first_fit, first_available, SETTINGS.training, SETTINGS.calibration)
        warnings += _warn_coverage(context, warehouse, coverage, first_labelled, [first_window])
        rows = load_labelled_rows(warehouse, first_window.first_day, folds[-1].end)
        truth = load_truth(warehouse, folds[0].start, folds[-1].end)
        progress = Progress(context.log, f"backtest folds of cutoff {cutoff}", len(folds), every_s=0)
        result = run_backtest(
            rows, folds, first_available, SETTINGS, truth,
            progress=lambda done, total, fold: progress.advance(f"{fold.start}..{fold.end} scored"),  # noqa: B023 (called within this iteration)
        )
        del rows
        context.log.info(f"cutoff {cutoff}: backtest of {len(folds)} folds {folds[0].start}..{folds[-1].end} done")
        evaluations.append(result.metrics.with_columns(cutoff=pl.lit(cutoff)))
        misses.append(result.misses.with_columns(cutoff=pl.lit(cutoff)))
        storms.append(result.storms.with_columns(cutoff=pl.lit(cutoff)))
        fold_facts.append(result.folds.with_columns(cutoff=pl.lit(cutoff)))
        timings.append(
            result.fit_seconds.join(result.predict_seconds, on=["model", "fold_start"], suffix="_predict")
            .with_columns(cutoff=pl.lit(cutoff))
        )
        folder = reports.path("model_evaluation", cutoff.isoformat(), "figures").parent
        paths = plots.figures(result.predictions, folder)
        figures = {name: str(path) for name, path in paths.items()}
        image_markdown = "\n\n".join(plots.markdown_image(path, name) for name, path in paths.items())
    evaluation = pl.concat(evaluations).select(pl.col(n).cast(t) for n, t in EVALUATION_SCHEMA.items())
    worst = pl.concat(misses).select(pl.col(n).cast(t) for n, t in MISSES_SCHEMA.items())
    start, end = window_days(context.partition_time_window)
    warehouse.replace_partitions(MISSES_TABLE, worst, start, end, partition_column="cutoff")
    storm = pl.concat(storms).select(pl.col(n).cast(t) for n, t in STORM_SCHEMA.items())
    warehouse.replace_partitions(STORMS_TABLE, storm, start, end, partition_column="cutoff")

    newest = evaluation.filter(pl.col("cutoff") == pl.col("cutoff").max())
    served = SETTINGS.served_kind
    means = metric_summary(newest).filter(pl.col("model") == served)
    timing = pl.concat(timings)
    yield dg.Output(
        evaluation,
        metadata={
            **frame_metadata(evaluation, start, end),
            "folds": newest["fold_start"].n_unique(),
            **{f"{served}_{r['metric']}_mean": float(r["mean"]) for r in means.iter_rows(named=True)},
            "metrics": dg.MetadataValue.md(metrics_table(newest)),
            "fit_seconds_per_fold": _md_table(
                timing.filter(pl.col("cutoff") == pl.col("cutoff").max())
                .group_by("model")
                .agg(
                    fit_s_mean=pl.col("seconds").mean(),
                    fit_s_max=pl.col("seconds").max(),
                    predict_s_mean=pl.col("seconds_predict").mean(),
                )
                .sort("model")
            ),
            "worst_misses": _md_table(worst.select("day", "h3_id", "p_event_7d", "n_events_7d", "why")),
            "storm_days": _md_table(
                storm_table(storm.filter(pl.col("cutoff") == pl.col("cutoff").max()).drop("cutoff"))
            ),
            "figures": dg.MetadataValue.md(image_markdown),
            "figure_paths": dg.MetadataValue.json(figures),
            **_coverage_metadata(coverage, first_available, warnings),
        },
    )
    yield from _evaluation_checks(evaluation, pl.concat(fold_facts))


def _evaluation_checks(evaluation: pl.DataFrame, folds: pl.DataFrame) -> Iterator[dg.AssetCheckResult]:
    served = SETTINGS.served_kind
    expected = set(METRIC_NAMES)
    per_group = evaluation.group_by("cutoff", "model", "fold_start").agg(
        metrics=pl.col("metric"), finite=pl.col("value").is_finite().all()
    )
    incomplete = per_group.filter(
        ~pl.col("finite") | pl.col("metrics").list.eval(pl.element().is_in(list(expected))).list.sum().lt(len(expected))
    )
    models_per_fold = per_group.group_by("cutoff", "fold_start").agg(pl.col("model").n_unique())
    yield dg.AssetCheckResult(
        check_name="every_fold_and_metric", asset_key="model_evaluation",
        passed=incomplete.is_empty() and bool((models_per_fold["model"] == len(MODEL_KINDS)).all()),
        metadata={"incomplete_groups": incomplete.height, "folds": models_per_fold.height},
    )
    gap = folds.with_columns(
        gap_days=(
            pl.col("test_first_day") - pl.max_horizontal("training_last_day", "calibration_last_day")
        ).dt.total_days()
    )
    yield dg.AssetCheckResult(
        check_name="folds_train_on_the_past", asset_key="model_evaluation",
        passed=bool((gap["gap_days"] >= 8).all()),
        metadata={"smallest_gap_days": int(cast(int, gap["gap_days"].min())), "folds": _md_table(gap.drop("cutoff"))},
    )
    newest = evaluation.filter(pl.col("cutoff") == pl.col("cutoff").max())
    losing = {}
    for metric, higher in (("auroc", True), ("log_loss", False)):
        counts = wins(newest, served, metric, higher).row(0, named=True)
        folds_n = counts.pop("folds")
        for other, won in counts.items():
            losing[f"{metric} vs {other}"] = f"{won}/{folds_n}"
    majority = all(int(v.split("/")[0]) * 2 > int(v.split("/")[1]) for v in losing.values())
    yield dg.AssetCheckResult(
        check_name="served_beats_baselines", asset_key="model_evaluation", passed=majority,
        severity=dg.AssetCheckSeverity.WARN, metadata={"folds_won": dg.MetadataValue.json(losing)},
    )
    per_fold = newest.filter(pl.col("model") == served).pivot(on="metric", index="fold_start", values="value")
    yield dg.AssetCheckResult(
        check_name="bss_positive", asset_key="model_evaluation", passed=bool((per_fold["bss"] > 0).all()),
        severity=dg.AssetCheckSeverity.WARN, metadata={"min_bss": float(cast(float, per_fold["bss"].min()))},
    )
    yield dg.AssetCheckResult(
        check_name="ece_within_target", asset_key="model_evaluation",
        passed=bool((per_fold["ece"] <= SETTINGS.ece_target).all()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"max_ece": float(cast(float, per_fold["ece"].max())), "target": SETTINGS.ece_target},
    )


# --- model_card ------------------------------------------------------------------------------


def _latest_on_or_before(
    warehouse: WarehouseResource, table: str, cutoff: date
) -> tuple[pl.DataFrame | None, date | None]:
    if not warehouse.table_exists(table):
        return None, None
    rows = warehouse.query(
        f"SELECT * FROM {table} WHERE cutoff = (SELECT max(cutoff) FROM {table} WHERE cutoff <= ?)", [cutoff]
    )
    return (rows, rows["cutoff"][0]) if rows.height else (None, None)


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=single_run,
    group_name="models",
    kinds={"markdown"},
    code_version=MODEL_CODE_VERSION,
    deps=[risk_model, model_evaluation],
)
def model_card(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, reports: ReportsResource
) -> dg.MaterializeResult:
    """The cutoff's model card (markdown) under the reports folder: data and windows, the
    backtest's metrics with their spread, the served model's SHAP figures, the 10 worst misses,
    limitations, retraining triggers, intended use. Uses the newest evaluation at or before the
    cutoff."""
    newest_stored = warehouse.query(f"SELECT max(cutoff) AS cutoff FROM {MODEL_REGISTRY}")["cutoff"][0]
    text, path, explained = "", None, None
    for cutoff in cutoffs_of_run(context):
        models = load_models_at(warehouse, cutoff)
        evaluation, evaluated_at = _latest_on_or_before(warehouse, "model_evaluation", cutoff)
        misses, _ = _latest_on_or_before(warehouse, MISSES_TABLE, cutoff)
        storm, _ = _latest_on_or_before(warehouse, STORMS_TABLE, cutoff)
        figures = {}
        if evaluated_at is not None:
            folder = reports.path("model_evaluation", evaluated_at.isoformat(), "x").parent
            figures = {p.stem: f"model_evaluation/{evaluated_at}/{p.name}" for p in sorted(folder.glob("*.png"))}
        explained = write_explanations(
            warehouse, models[SETTINGS.served_kind], cutoff, Path(reports.folder), f"model_card/{cutoff}",
            SETTINGS.explanations,
        )
        text = render_model_card(
            cutoff, models, evaluation, misses, figures, SETTINGS, evaluated_at, storm, explained=explained
        )
        path = reports.write_text(text, f"model_card_{cutoff}.md")
        if cutoff == newest_stored:
            reports.write_text(text, "model_card.md")
    shap_figures = "\n\n".join(
        plots.markdown_image(Path(reports.folder) / p, name)
        for name, p in (explained.figures if explained else {}).items()
    )
    return dg.MaterializeResult(
        metadata={
            "model_card": dg.MetadataValue.md(text), "path": dg.MetadataValue.path(str(path)),
            "shap_figures": dg.MetadataValue.md(shap_figures or "none: the served model has no exact contributions"),
        }
    )


# --- risk_predictions ------------------------------------------------------------------------

risk_predictions_checks = _check_specs(
    "risk_predictions",
    (
        ("one_row_per_cell_day", True, "every city cell exactly once per day"),
        ("valid_values", True,
         "p_event_7d in (0, 1), expected_events >= p, confidence in [0, 1], bands match the thresholds"),
        ("drivers_explain", True,
         "every LightGBM-scored row of a recent day or above the low band has 3 to 5 drivers, each "
         "with a label; other rows none or 3 to 5"),
        ("model_before_day", True, "every row was scored by a model whose cutoff is on or before its day"),
        ("mean_probability_plausible", False,
         "each day's mean p_event_7d is within a factor of the model's calibration event rate"),
    ),
)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=year_at_a_time,
    io_manager_key="warehouse_io_manager",
    group_name="models",
    kinds={"lightgbm", "duckdb", "polars"},
    code_version=MODEL_CODE_VERSION,
    automation_condition=FOLLOW_UPSTREAM,
    freshness_policy=DAILY_FRESHNESS,
    deps=[
        # day t -> the week holding t: its champion, whose cutoff is on or before t
        dg.AssetDep(
            MODEL_CHAMPION, partition_mapping=dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)
        ),
        dg.AssetDep("cell_day_features"),
    ],
    check_specs=risk_predictions_checks,
    metadata={"dagster/column_schema": column_schema(PREDICTIONS_SCHEMA)},
)
def risk_predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, city: CityGridResource
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Per city cell and as-of day: `p_event_7d`, `risk_band`, `expected_events`, `confidence`
    and `drivers`, from the champion of the day's week (`model_champion`: the rule's choice or
    an operator's pin; its cutoff is on or before the day). See `chicago_risk.models.predict` for
    each column's meaning."""
    start, end = window_days(context.partition_time_window)
    features = load_features(warehouse, start, end)
    assignment = champions_for_days(warehouse, features["day"])
    frames, base_rates = [], {}
    progress = Progress(context.log, "days scored", assignment["day"].n_unique())
    for (model_id,), days in assignment.group_by("model_id", maintain_order=True):
        model = load_model(warehouse, model_id)
        model.require_current_features()
        base_rates[model_id] = model.metrics["calibration_slice"]["event_rate"]
        frames.append(score(model, features.filter(pl.col("day").is_in(days["day"].implode())), SETTINGS))
        first, last = cast(date, days["day"].min()), cast(date, days["day"].max())
        progress.advance(f"{model.model_id} on {first}..{last}", items=days["day"].n_unique())
    predictions = pl.concat(frames).sort("day", "h3_id")
    per_band = predictions.group_by("risk_band").len()
    explained = int((predictions["drivers"].list.len() > 0).sum())
    yield dg.Output(
        predictions,
        metadata={
            **frame_metadata(predictions.drop("drivers"), start, end),
            "models": dg.MetadataValue.json(sorted(base_rates)),
            "mean_p_event_7d": float(cast(float, predictions["p_event_7d"].mean())),
            "rows_with_drivers": explained,
            "cells_per_band": dg.MetadataValue.json(
                {band: int(per_band.filter(pl.col("risk_band") == band)["len"].sum()) for band in RISK_BANDS}
            ),
            "bands": dg.MetadataValue.json(
                {"medium_from": SETTINGS.bands.medium_from, "high_from": SETTINGS.bands.high_from}
            ),
        },
    )
    yield from _prediction_checks(predictions, len(city.cells()), base_rates)


def _prediction_checks(
    predictions: pl.DataFrame, cell_count: int, base_rates: dict[str, float]
) -> Iterator[dg.AssetCheckResult]:
    yield one_row_per_cell_day(predictions, cell_count, "risk_predictions")
    floor = SETTINGS.calibration.probability_floor
    p = pl.col("p_event_7d")
    invalid = predictions.filter(
        pl.any_horizontal(pl.col("p_event_7d", "expected_events", "confidence", "risk_band").is_null())
        | ~p.is_between(floor, 1 - floor)
        | (pl.col("expected_events") < p)
        | ~pl.col("confidence").is_between(0, 1)
        | (pl.col("risk_band") != risk_band(p, SETTINGS.bands))
    )
    yield dg.AssetCheckResult(
        check_name="valid_values", asset_key="risk_predictions", passed=invalid.is_empty(),
        metadata={"invalid_rows": invalid.height},
    )
    counts = predictions.filter(pl.col("model_id").str.starts_with("lightgbm-")).select(
        wanted=drivers_wanted(SETTINGS),
        n=pl.col("drivers").list.len(),
        unlabelled=pl.col("drivers").list.eval(pl.element().struct.field("label").is_null()).list.any(),
    )
    in_range = pl.col("n").is_between(SETTINGS.drivers.min_drivers, SETTINGS.drivers.max_drivers)
    bad = counts.filter((pl.col("wanted") & ~in_range) | ~(in_range | (pl.col("n") == 0)) | pl.col("unlabelled"))
    yield dg.AssetCheckResult(
        check_name="drivers_explain", asset_key="risk_predictions", passed=bad.is_empty(),
        metadata={
            "rows_with_wrong_drivers": bad.height,
            "rows_explained": int((counts["n"] > 0).sum()),
            "rows_scored": counts.height,
            "all_cells_recent_days": str(SETTINGS.drivers.all_cells_recent_days),
        },
    )
    future = predictions.filter(pl.col("model_cutoff") > pl.col("day"))
    yield dg.AssetCheckResult(
        check_name="model_before_day", asset_key="risk_predictions", passed=future.is_empty(),
        metadata={"rows_scored_by_a_later_model": future.height},
    )
    factor = SETTINGS.mean_probability_factor
    daily = predictions.group_by("day", "model_id").agg(mean_p=p.mean()).with_columns(
        base_rate=pl.col("model_id").replace_strict(base_rates, return_dtype=pl.Float64)
    ).with_columns(ratio=pl.col("mean_p") / pl.col("base_rate"))
    outside = daily.filter(~pl.col("ratio").is_between(1 / factor, factor))
    yield dg.AssetCheckResult(
        check_name="mean_probability_plausible", asset_key="risk_predictions", passed=outside.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "days_outside": outside.height,
            "min_ratio": float(cast(float, daily["ratio"].min())),
            "max_ratio": float(cast(float, daily["ratio"].max())),
            "factor": factor,
        },
    )


MODEL_ASSETS = [risk_model, model_evaluation, model_card, risk_predictions]


def with_oracle(evaluation: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """`model_evaluation` declaring what it reads on the demo city: `demo_truth`'s ex-ante
    oracle over the folds it tests (for `oracle_share`), so a backfill materializes it too."""
    oracle = dg.AssetDep(TRUTH_TABLE, partition_mapping=_weeks_before(EVALUATION_READ_DAYS))
    return evaluation.map_asset_specs(lambda spec: spec.replace_attributes(deps=[*spec.deps, oracle]))
