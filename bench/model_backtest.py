"""Benchmark the risk model on a warehouse that holds the feature store (the two-year demo window):

    .venv/bin/python bench/model_backtest.py --data-dir data [--cutoff 2026-11-02]

Prints, per model, the rolling-origin backtest of the 12 months before the cutoff (AUROC, BSS,
ECE, log loss, capture and PAI at 5%, PAI at 1%, oracle_share: mean, standard deviation,
min..max over folds), each model on the storm days (the wettest 1% of test days: mean p against
the observed share, AUROC, ECE), the folds LightGBM
wins against each baseline, training time per fold, LightGBM's prediction-plus-drivers time per
day of all cells and TreeSHAP time per 6,000 rows, and robustness: how much small input noise
moves predictions, and which way a colder winter and a wetter summer move them (the demo city's
truth: freeze-thaw and cold raise main breaks, rain raises flooding calls; both should raise risk).

    .venv/bin/python bench/model_backtest.py --data-dir data --history-weeks 106 [--history-compare]

instead times `risk_model` materialized through Dagster for that many weekly cutoffs ending at
the cutoff, in a fresh process on a copy of the warehouse: wall time, peak memory and full fits,
with refits every `refit_months` months (the default), and with `--history-compare` also with a full fit at every
cutoff (the design before cheap refits).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import numpy as np
import polars as pl

from chicago_risk.config import MODEL_KINDS, MODEL_SETTINGS, ModelSettings, Settings
from chicago_risk.models.backtest import metric_summary, plan_folds, run_backtest, wins
from chicago_risk.models.coverage import first_trainable_day
from chicago_risk.models.data import load_labelled_rows, load_truth
from chicago_risk.models.drivers import explain
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.model import fit_model
from chicago_risk.models.predict import score
from chicago_risk.models.storms import storm_table
from chicago_risk.models.windows import plan_window
from chicago_risk.storage.warehouse import WarehouseResource

HEADLINE = ("auroc", "bss", "ece", "log_loss", "capture_at_5pct", "pai_5pct", "pai_1pct", "oracle_share")
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


def run(data_dir: Path, cutoff: date | None, settings: ModelSettings, progress=None) -> dict:
    """The benchmark report; `progress(report)` is called once the backtest part is in."""
    warehouse = WarehouseResource(path=str(data_dir / "warehouse.duckdb"))
    first = first_trainable_day(warehouse, settings.training)[0]
    cutoff = cutoff or default_cutoff(warehouse)
    folds = plan_folds(cutoff, settings.backtest)
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
    report["lightgbm_max_ece"] = float(cast(float, per_fold["ece"].max()))
    report["per_fold"] = per_fold.with_columns(pl.col("fold_start").cast(pl.String)).to_dicts()
    report["all_metrics"] = result.metrics.with_columns(pl.col("fold_start").cast(pl.String)).to_dicts()
    report["storm_days"] = result.storm_days.with_columns(pl.col("day").cast(pl.String)).to_dicts()
    report["storms"] = storm_table(result.storms).to_dicts()
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
    scorer = model.scorer
    assert isinstance(scorer, LightGBMScorer), f"TreeSHAP is timed on the LightGBM model, not {served}"
    report["treeshap_seconds_per_6000_rows"] = _timed(lambda: explain(scorer, shap_rows, settings.drivers))
    test_rows = rows.filter(pl.col("day") >= folds[0].start)
    report["robustness"] = robustness(model, test_rows)
    return report


def history_run(warehouse_path: str, first: str, last: str, refit_months: int) -> dict:
    """risk_model for the weekly cutoffs first..last as one Dagster run (the child process of
    `_measure.measure`)."""
    import dagster as dg

    from chicago_risk.models import assets as model_assets
    from chicago_risk.partitions import partition_range_tags

    settings = model_assets.SETTINGS
    model_assets.SETTINGS = replace(settings, training=replace(settings.training, refit_months=refit_months))
    warehouse = WarehouseResource(path=warehouse_path)
    with dg.instance_for_test() as instance:
        result = dg.materialize([model_assets.risk_model], resources={"warehouse": warehouse}, instance=instance,
                                tags=partition_range_tags(first, last))
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    return {
        "cutoffs": cast(int, metadata["dagster/row_count"].value) // len(MODEL_KINDS),
        "full_fits": metadata["full_fits"].value,
    }


def history(data_dir: Path, cutoff: date | None, weeks: int, compare: bool) -> None:
    import shutil
    import tempfile

    from _measure import measure

    last = cutoff or default_cutoff(WarehouseResource(path=str(data_dir / "warehouse.duckdb")))
    first = last - timedelta(weeks=weeks - 1)
    default = MODEL_SETTINGS.training.refit_months
    for refit_months in (default, 0) if compare else (default,):
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "warehouse.duckdb"
            shutil.copy(data_dir / "warehouse.duckdb", copy)
            run = measure("model_backtest", "history_run", str(copy), str(first), str(last), refit_months,
                          preload=("dagster", "chicago_risk.definitions"))
        design = f"refits every {refit_months} month(s)" if refit_months else "a full fit per cutoff"
        print(f"risk_model {first}..{last}, {run['cutoffs']} weekly cutoffs, {design}: {run['full_fits']} full fits, "
              f"{run['seconds']:.0f} s, peak {run['peak_mib']:,.0f} MiB (imports {run['import_seconds']:.1f} s apart)")


def _print(report: dict) -> None:
    print(f"cutoff {report['cutoff']}: {len(report['folds'])} folds {report['folds'][0]}..{report['folds'][-1]}"
          f" (backtest {report['backtest_seconds']:.0f} s; oracle: {report['oracle']})")
    print(f"{'model':14} " + " ".join(f"{m:>24}" for m in HEADLINE) + f" {'fit s/fold':>11}")
    for kind, metrics in report["models"].items():
        cells = []
        for m in HEADLINE:
            s = metrics.get(m)
            cells.append(f"{s['mean']:.4f}±{(s['std'] or 0):.4f} [{s['min']:.3f},{s['max']:.3f}]" if s else "n/a")
        fit = metrics["fit_seconds_per_fold"]["mean"]
        print(f"{kind:14} " + " ".join(f"{c:>24}" for c in cells) + f" {fit:>11.1f}")
    print("storm days:", ", ".join(f"{d['day']} ({d['precip_mm']:.1f} mm)" for d in report["storm_days"]))
    print(
        f"{'model':14} {'mean p':>8} {'observed':>9} {'AUROC':>7} {'ECE':>7} {'Brier':>7}"
        f" {'med+high':>9} {'their incidents':>16}"
    )
    for row in report["storms"]:
        print(f"{row['model']:14} {row['mean_p']:8.4f} {row['event_share']:9.4f} {row['auroc']:7.4f} "
              f"{row['ece']:7.4f} {row['brier']:7.4f} {row['flagged_share']:9.3f} {row['flagged_capture']:16.3f}")
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
    parser.add_argument("--folds", type=int, default=MODEL_SETTINGS.backtest.folds)
    parser.add_argument("--fold-days", type=int, default=None, help="days a fold (default: calendar months)")
    parser.add_argument("--threads", type=int, default=None, help="LightGBM threads (default: settings)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--history-weeks", type=int, default=None, help="time risk_model for this many weekly cutoffs")
    parser.add_argument("--history-compare", action="store_true", help="also time a full fit per cutoff")
    args = parser.parse_args(argv)
    if args.history_weeks:
        history(args.data_dir, args.cutoff, args.history_weeks, args.history_compare)
        return 0
    settings = replace(
        MODEL_SETTINGS, backtest=replace(MODEL_SETTINGS.backtest, folds=args.folds, fold_days=args.fold_days)
    )
    if args.threads is not None:
        lightgbm = replace(settings.training.lightgbm, num_threads=args.threads)
        settings = replace(settings, training=replace(settings.training, lightgbm=lightgbm))
    def save(partial: dict) -> None:
        if args.json:
            args.json.write_text(json.dumps(partial, indent=2, default=str))

    report = run(args.data_dir, args.cutoff, settings, progress=save)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
