"""The model card: what the current model is, how well it did on time, where it fails, when to
retrain it and what it is for (CityAssist DS guide: model card, 10 failure cases, retraining
triggers)."""

from __future__ import annotations

import math
from datetime import date

import polars as pl

from chicago_risk.config import MODEL_KINDS, FeatureChecks, ModelSettings
from chicago_risk.features.registry import FEATURES
from chicago_risk.models.backtest import metric_summary, wins
from chicago_risk.models.explanations import ExplainedModel
from chicago_risk.models.metrics import METRIC_NAMES, ORACLE_METRIC
from chicago_risk.models.model import FittedModel
from chicago_risk.models.storms import reliability_lines, storm_table

_SLICE_METRICS = ("auroc", "log_loss", "ece", "mean_p", "event_rate")
_SHOWN_PARAMS = (
    "num_boost_round", "learning_rate", "num_leaves", "min_data_in_leaf", "lambda_l2", "excluded_features",
    "negative_sample_rate", "offset",
)


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_table(evaluation: pl.DataFrame) -> str:
    """Per metric and model: mean over folds, standard deviation and min..max."""
    summary = metric_summary(evaluation)
    metrics = [m for m in (*METRIC_NAMES, ORACLE_METRIC) if m in set(summary["metric"].to_list())]
    models = [k for k in MODEL_KINDS if k in set(summary["model"].to_list())]
    rows = []
    for metric in metrics:
        row = [f"`{metric}`"]
        for model in models:
            cell = summary.filter((pl.col("metric") == metric) & (pl.col("model") == model))
            if cell.is_empty():
                row.append("n/a")
                continue
            s = cell.row(0, named=True)
            row.append(f"{_number(s['mean'])} ± {_number(s['std'])} ({_number(s['min'])}..{_number(s['max'])})")
        rows.append(row)
    return _table(["metric: mean ± sd (min..max over folds)", *models], rows)


def wins_lines(evaluation: pl.DataFrame, served: str) -> list[str]:
    lines = []
    for metric, higher in (("auroc", True), ("log_loss", False), ("bss", True)):
        table = wins(evaluation, served, metric, higher)
        if table.is_empty():
            continue
        counts = table.row(0, named=True)
        folds = counts.pop("folds")
        lines.append(
            f"- `{metric}`: {served} better than "
            + ", ".join(f"{k} in {v}/{folds}" for k, v in counts.items())
            + " folds"
        )
    return lines


def storm_section(storms: pl.DataFrame | None, settings: ModelSettings) -> list[str]:
    """Per model on the backtest's wettest days: mean p against the observed share, AUROC and
    the reliability bins."""
    lines = [f"## Storm days (the wettest {settings.backtest.storm_day_share:.0%} of the backtest's test days)", ""]
    if storms is None or storms.is_empty():
        return [*lines, "No storm-day evaluation yet: materialize model_evaluation for this cutoff.", ""]
    table = storm_table(storms.drop("cutoff", strict=False))
    first = table.row(0, named=True)
    lines += [
        f"{first['days']:.0f} day(s) with at least {first['precip_min_mm']:.1f} mm of rain, {first['rows']:,.0f} "
        f"cell-days, {first['events']:,.0f} incidents in their 7-day windows. A day tied with the last "
        "storm day is a storm day too; a few days are a few weather situations, so read these as "
        "indications, not fold-level estimates.",
        "",
        _table(
            ["model", "mean p", "observed share", "AUROC", f"ECE ({settings.backtest.storm_reliability_bins} bins)",
             "Brier", "medium or high", "their share of incidents"],
            [[r["model"], _number(r["mean_p"]), _number(r["event_share"]), _number(r["auroc"]), _number(r["ece"]),
              _number(r["brier"]), _number(r["flagged_share"]), _number(r["flagged_capture"])]
             for r in table.iter_rows(named=True)],
        ),
        "",
        "Reliability on the storm days (equal-mass bins: mean p -> observed share (cell-days)):",
        "",
        *reliability_lines(storms.drop("cutoff", strict=False)),
        "",
    ]
    return lines


def explanation_section(explained: ExplainedModel | None, served: FittedModel) -> list[str]:
    """The SHAP figures of the served model, with what they show."""
    lines = ["## What drives the forecasts (SHAP)", ""]
    if explained is None:
        return [*lines, f"No SHAP figures: the served model is a {served.kind} model, without exact contributions.", ""]
    return [
        *lines,
        "Contributions in log-odds of the uncalibrated score, the exact ones the map's `drivers` come from "
        "(LightGBM's TreeSHAP plus the weather offset's linear terms), drawn with shap's plots; shap's own "
        "TreeSHAP checks them in the test suite.",
        "",
        f"- Beeswarm: {explained.rows:,} cell-days sampled from {explained.first_day}..{explained.day}, one point "
        "each, coloured by the feature's value; features by mean |contribution|, the rest summed in one row.",
        f"- Waterfall: the highest-risk cell of {explained.day}, `{explained.cell}` (p_event_7d "
        f"{explained.p_event_7d:.3f}, raw score {explained.raw_score:+.2f}): from the model's expected value "
        "to its raw score, one feature at a time.",
        "",
        *(f"![{name}]({path})" for name, path in explained.figures.items()),
        "",
    ]


def render_model_card(
    cutoff: date,
    models: dict[str, FittedModel],
    evaluation: pl.DataFrame | None,
    misses: pl.DataFrame | None,
    figures: dict[str, str],
    settings: ModelSettings,
    evaluation_cutoff: date | None = None,
    storms: pl.DataFrame | None = None,
    *,
    explained: ExplainedModel | None,
) -> str:
    served = models[settings.served_kind]
    window = served.calibration.slice
    calibration = served.calibration.probability
    lines = [
        f"# Risk model card: `{served.model_id}`",
        "",
        f"Leak-related 311 activity per H3 cell: the calibrated probability `p_event_7d` of at least one "
        f"incident in the cell in the 7 days after the as-of day, for cutoff **{cutoff}** "
        f"(served for as-of days {cutoff} onward, until the next weekly model).",
        "",
        f"Fitted at cutoff {served.params.get('fitted_cutoff', str(cutoff))}: every kind is fitted in full "
        f"{_cadence(settings.training.refit_months)} and serves the weeks until the next "
        "(`TrainingSettings.refit_months`); the backtest scores each fold with the fit that served its first day.",
        "",
        "## Intended use",
        "- Rank and prioritise cells for leak investigation and pressure-test scheduling, a week ahead; "
        "read `risk_band` and `drivers` as a planner's summary, `p_event_7d` as a calibrated probability.",
        "- Not for: judging a single report's truth (311 activity is not a physical leak), comparing "
        "cells of different H3 resolutions, or anything a week or more ahead of the as-of day.",
        "- The label is 311 activity, so it inherits reporting bias: areas that report less look safer.",
        "",
        "## Data and windows",
        f"- Features: {len(served.feature_names)} of the feature store's {len(FEATURES)} registry features "
        f"(registry hash `{served.feature_registry_hash}`; not used: "
        f"{', '.join(f'`{f.name}`' for f in FEATURES if f.name not in served.feature_names) or 'none'}); "
        "labels `y_event_7d` over t+1..t+7, never features.",
        f"- Labelled as-of days {window['first_day']}..{window['last_labelled_day']} (cutoff - 8: every "
        "label window ends before the cutoff).",
        f"- Training: {window['training_days']} days ({window['training_first_day']}..{window['training_last_day']}), "
        f"{served.metrics['training_rows']:,} cell-days, event rate {served.metrics['training_event_rate']:.3f}.",
        f"- Calibration slice: {window['calibration_days']} whole days in {len(window['calibration_blocks'])} blocks "
        f"spread over the last year so it covers the seasons it serves (months "
        f"{', '.join(str(m) for m in window['calibration_months'])}), "
        f"{window['rows']:,} cell-days with {window['events']:,} events; training days keep "
        f"{window['purge_days']} days away from every block on both sides "
        f"({window['purged_days']} days purged):",
        "",
        _table(["block", "first day", "last day"],
               [[str(i + 1), s, e] for i, (s, e) in enumerate(window["calibration_blocks"])]),
        "",
        f"- Calibration: **{calibration.method}** (isotonic when the slice holds at least "
        f"{settings.calibration.isotonic_min_class_rows:,} events and non-events, Platt scaling below; "
        "a slice that cannot calibrate fails the run, never falls back).",
        "- LightGBM boosted from a smooth offset: a logistic regression on the city-wide features "
        "(weather, forecast, day of week) and the log of each cell's recent incident counts gives "
        "each cell-day a smooth baseline that extrapolates to storms, and the trees, monotone "
        "in incident counts, rain and freezes, model each cell's risk on top of it. Non-events "
        "are subsampled and weighted back, so probabilities stay unbiased; parameters "
        f"`{ {k: v for k, v in served.params.items() if k in _SHOWN_PARAMS} }`.",
        "",
        "## Calibration slice (in-sample for the calibration map)",
        _table(
            ["model", "method", "AUROC", "log loss", "ECE", "mean p", "event rate"],
            [
                [kind, m.calibration.probability.method]
                + [_number(m.metrics["calibration_slice"][k]) for k in _SLICE_METRICS]
                for kind, m in models.items()
            ],
        ),
        "",
    ]
    lines += ["## Backtest (rolling origin, monthly folds, trained only on the past)"]
    if evaluation is None or evaluation.is_empty():
        lines += ["", "No backtest yet: materialize model_evaluation for this cutoff.", ""]
    else:
        folds = sorted(set(evaluation["fold_start"].to_list()))
        lines += [
            "",
            f"{len(folds)} folds from {folds[0]} to {folds[-1]} (evaluation cutoff {evaluation_cutoff}); "
            "each fold's models train on as-of days up to 8 days before its first test day.",
            "",
            metrics_table(evaluation),
            "",
            *wins_lines(evaluation, settings.served_kind),
            "",
        ]
        for name, path in figures.items():
            lines.append(f"![{name}]({path})")
        lines.append("")
    lines += storm_section(storms, settings)
    lines += explanation_section(explained, served)
    lines += ["## The 10 worst misses of the backtest, and why", ""]
    if misses is None or misses.is_empty():
        lines += ["No backtest misses recorded yet.", ""]
    else:
        lines.append(
            _table(
                ["as-of day", "cell", "p_event_7d", "incidents", "why"],
                [[str(r["day"]), f"`{r['h3_id']}`", _number(r["p_event_7d"]), str(r["n_events_7d"]), r["why"]]
                 for r in misses.iter_rows(named=True)],
            )
        )
        missed = int(misses["y_event_7d"].cast(pl.Int64).sum())
        lines += [
            "",
            f"One row per cell, by log loss: the {missed} worst-missed incidents (the model gave them a "
            f"low probability) and the {misses.height - missed} worst false alarms. `why` lists the "
            "largest contributions (log-odds: TreeSHAP plus the offset's terms) behind each forecast.",
            "",
        ]
    lines += [
        "## Limitations",
        "- Probabilities are calibrated on average over the calibration slice's seasons; a season "
        "unlike any of the last year (a record freeze) can be miscalibrated until the next retraining.",
        "- `drivers` are contributions in the uncalibrated log-odds (TreeSHAP for the trees, the "
        "linear terms for the offset): they add up to the raw score, not to `p_event_7d`, "
        "which is a monotone map of it; they rank reasons.",
        "- `confidence` reflects how many calibration cell-days back a probability, not model "
        "uncertainty about a specific cell.",
        "- Forecast weather features are null where the source has no forecast; the model then "
        "relies on the other features.",
        "",
        "## Retraining triggers",
        "- Schedule: every Monday (05:00 Chicago) the `weekly_retrain` job trains the week's cutoff "
        "and writes this card.",
        f"- Drift: when the feature store's `drift_psi` check warns (a feature's PSI above "
        f"{FeatureChecks().drift_psi_warn} against the trailing {FeatureChecks().drift_reference_days} days), "
        "the `drift_retrain_sensor` requests a retraining run for the current week.",
        f"- Degradation: a backtest fold with BSS <= 0 or ECE above {settings.ece_target} fails the "
        "evaluation's warning checks; investigate before serving.",
        "- A change of the feature registry (its hash) makes predictions refuse the old model until "
        "it is retrained.",
        "",
    ]
    return "\n".join(lines)


def _cadence(months: int) -> str:
    if not months:
        return "at each weekly cutoff"
    return "at the first weekly cutoff of each month" if months == 1 else f"every {months} months, on a first Monday"
