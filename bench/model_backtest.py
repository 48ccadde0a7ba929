"""Benchmark the risk model on a warehouse that holds the feature store (the two-year demo window):

    .venv/bin/python bench/model_backtest.py --data-dir data [--cutoff 2026-11-02]

Prints, per model, the rolling-origin backtest of the 12 months before the cutoff (AUROC, BSS,
ECE, capture@5%, oracle_share: mean, standard deviation, min..max over folds), the folds LightGBM
wins against each baseline, training time per fold, LightGBM's prediction-plus-drivers time per
day of all cells and TreeSHAP time per 6,000 rows, and robustness: how much small input noise
moves predictions, and which way a colder winter and a wetter summer move them (the demo city's
truth: freeze-thaw and cold raise main breaks, rain raises flooding calls; both should raise risk).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from chicago_risk.config import Settings
from chicago_risk.models.backtest import metric_summary, monthly_folds, run_backtest, wins
from chicago_risk.models.data import first_labelled_day, load_labelled_rows, load_truth
from chicago_risk.models.drivers import explain
from chicago_risk.models.model import fit_model
from chicago_risk.models.predict import score
from chicago_risk.config import MODEL_KINDS, MODEL_SETTINGS, ModelSettings
from chicago_risk.models.windows import last_labelled_day, plan_window
from chicago_risk.storage.warehouse import WarehouseResource

HEADLINE = ("auroc", "bss", "ece", "log_loss", "capture_at_5pct", "oracle_share")
SHAP_ROWS = 6_000


def default_cutoff(warehouse: WarehouseResource) -> date:
    """The newest Monday whose training window the labels cover (cutoff - 8 <= newest label)."""
    newest = warehouse.query('SELECT max("day") AS day FROM cell_day_labels')["day"][0]
    latest = newest + timedelta(days=8)
    return latest - timedelta(days=latest.weekday())


def _timed(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def robustness(model, rows: pl.DataFrame) -> dict[str, float]:
    p = model.predict_proba(rows)
    rng = np.random.default_rng(0)
    continuous = ["tmin_c", "tmax_c", "precip_mm", "precip_3d_mm", "temp_drop_c", "fc_precip_7d_mm"]
    noisy = rows.with_columns(pl.col(c) * (1 + 0.01 * pl.Series(rng.normal(size=rows.height))) for c in continuous)
    month = pl.col("day").dt.month()
    winter = rows.filter(month.is_in([12, 1, 2]))
    colder = winter.with_columns(
        pl.col("tmin_c") - 5, pl.col("tmax_c") - 5,
        (pl.col("freeze_thaw_7d") + 2).clip(upper_bound=7).cast(pl.Int32),
        (pl.col("fc_freeze_days_7d") + 2).clip(upper_bound=7),
    )
    summer = rows.filter(month.is_in([6, 7, 8]))
    wetter = summer.with_columns(
        pl.col("precip_mm") * 2 + 5, pl.col("precip_3d_mm") * 2 + 15, pl.col("fc_precip_7d_mm") * 2 + 20,
    ).with_columns((pl.col("precip_mm") >= 25).cast(pl.Int8).alias("heavy_rain"))
    def shift(changed: pl.DataFrame, base: pl.DataFrame) -> float:
        return float(model.predict_proba(changed).mean() - model.predict_proba(base).mean())

    out = {"noise_1pct_mean_abs_change": float(np.mean(np.abs(model.predict_proba(noisy) - p)))}
    if winter.height:
        out["colder_winter_mean_change"] = shift(colder, winter)
    if summer.height:
        out["wetter_summer_mean_change"] = shift(wetter, summer)
    return out


def run(data_dir: Path, cutoff: date | None, months: int, settings: ModelSettings, progress=None) -> dict:
    """The benchmark report; `progress(report)` is called once the backtest part is in."""
    warehouse = WarehouseResource(path=str(data_dir / "warehouse.duckdb"))
    first = first_labelled_day(warehouse)
    cutoff = cutoff or default_cutoff(warehouse)
    folds = monthly_folds(last_labelled_day(cutoff), months)
    window = plan_window(folds[0].start, first, settings.training, settings.calibration)
    rows = load_labelled_rows(warehouse, window.first_day, folds[-1].end)
    truth = load_truth(warehouse, folds[0].start, folds[-1].end)
    began = time.perf_counter()
    result = run_backtest(rows, folds, first, settings, truth)
    backtest_seconds = time.perf_counter() - began
    summary = metric_summary(result.metrics)
    report: dict = {
        "cutoff": str(cutoff), "folds": [str(f.start) for f in folds], "backtest_seconds": backtest_seconds,
        "oracle": truth is not None, "models": {},
    }
    for kind in MODEL_KINDS:
        part = summary.filter(pl.col("model") == kind)
        report["models"][kind] = {
            r["metric"]: {k: r[k] for k in ("mean", "std", "min", "max")} for r in part.iter_rows(named=True)
        }
        fit = result.fit_seconds.filter(pl.col("model") == kind)["seconds"]
        report["models"][kind]["fit_seconds_per_fold"] = {"mean": fit.mean(), "max": fit.max()}
    served = settings.served_kind
    report["lightgbm_wins"] = {
        metric: {k: v for k, v in wins(result.metrics, served, metric, higher).row(0, named=True).items()}
        for metric, higher in (("auroc", True), ("log_loss", False))
    }
    per_fold = result.metrics.filter(pl.col("model") == served).pivot(on="metric", index="fold_start", values="value")
    report["lightgbm_bss_positive_every_fold"] = bool((per_fold["bss"] > 0).all())
    report["lightgbm_max_ece"] = float(per_fold["ece"].max())
    report["per_fold"] = per_fold.with_columns(pl.col("fold_start").cast(pl.String)).to_dicts()
    report["all_metrics"] = result.metrics.with_columns(pl.col("fold_start").cast(pl.String)).to_dicts()
    if progress:
        progress(report)

    # Serving cost, with the model of the cutoff itself.
    train_window = plan_window(cutoff, first, settings.training, settings.calibration)
    train_rows = load_labelled_rows(warehouse, train_window.first_day, train_window.last_day)
    train, calibration_rows = train_window.split(train_rows)
    began = time.perf_counter()
    model = fit_model(served, train, calibration_rows, train_window, settings)
    report["serving_model_fit_seconds"] = time.perf_counter() - began
    day_rows = train_rows.filter(pl.col("day") == train_rows["day"].max())
    report["cells_per_day"] = day_rows.height
    report["predict_and_drivers_seconds_per_day"] = _timed(lambda: score(model, day_rows, settings))
    report["predict_only_seconds_per_day"] = _timed(lambda: model.predict(day_rows))
    shap_rows = pl.concat([day_rows] * (SHAP_ROWS // max(day_rows.height, 1) + 1)).head(SHAP_ROWS)
    report["treeshap_seconds_per_6000_rows"] = _timed(lambda: explain(model.scorer, shap_rows, settings.drivers))
    test_rows = rows.filter(pl.col("day") >= folds[0].start)
    report["robustness"] = robustness(model, test_rows)
    return report


def _print(report: dict) -> None:
    print(f"cutoff {report['cutoff']}: {len(report['folds'])} monthly folds {report['folds'][0]}..{report['folds'][-1]}"
          f" (backtest {report['backtest_seconds']:.0f} s; oracle: {report['oracle']})")
    print(f"{'model':14} " + " ".join(f"{m:>24}" for m in HEADLINE) + f" {'fit s/fold':>11}")
    for kind, metrics in report["models"].items():
        cells = []
        for m in HEADLINE:
            s = metrics.get(m)
            cells.append(f"{s['mean']:.4f}±{(s['std'] or 0):.4f} [{s['min']:.3f},{s['max']:.3f}]" if s else "n/a")
        fit = metrics["fit_seconds_per_fold"]["mean"]
        print(f"{kind:14} " + " ".join(f"{c:>24}" for c in cells) + f" {fit:>11.1f}")
    print("lightgbm folds won:", json.dumps(report["lightgbm_wins"]))
    print(f"lightgbm BSS > 0 in every fold: {report['lightgbm_bss_positive_every_fold']}; "
          f"max ECE {report['lightgbm_max_ece']:.4f}")
    print(f"serving: fit {report['serving_model_fit_seconds']:.1f} s; one day of {report['cells_per_day']} cells: "
          f"predict {report['predict_only_seconds_per_day']:.2f} s, predict + drivers "
          f"{report['predict_and_drivers_seconds_per_day']:.2f} s; TreeSHAP per 6,000 rows "
          f"{report['treeshap_seconds_per_6000_rows']:.2f} s")
    print("robustness:", json.dumps({k: round(v, 5) for k, v in report["robustness"].items()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Settings.from_env().data_dir)
    parser.add_argument("--cutoff", type=date.fromisoformat, default=None)
    parser.add_argument("--months", type=int, default=MODEL_SETTINGS.backtest.months)
    parser.add_argument("--threads", type=int, default=None, help="LightGBM threads (default: settings)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    settings = MODEL_SETTINGS
    if args.threads is not None:
        lightgbm = replace(settings.training.lightgbm, num_threads=args.threads)
        settings = replace(settings, training=replace(settings.training, lightgbm=lightgbm))
    def save(partial: dict) -> None:
        if args.json:
            args.json.write_text(json.dumps(partial, indent=2, default=str))

    report = run(args.data_dir, args.cutoff, args.months, settings, progress=save)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
