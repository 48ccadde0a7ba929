"""End to end through Dagster: risk_model, model_evaluation, model_card, model_champion and
risk_predictions materialized into a temporary warehouse holding a synthetic feature store (160 cells x 530 days
with a known truth), with an ephemeral instance."""

from datetime import date, timedelta

import dagster as dg
import numpy as np
import polars as pl
import pytest
import shap

from chicago_risk.config import MODEL_KINDS, ExplanationSettings
from chicago_risk.grid import city_cells
from chicago_risk.models import assets as model_assets
from chicago_risk.models.assets import model_card, model_evaluation, risk_model, risk_predictions
from chicago_risk.models.base import feature_matrix
from chicago_risk.models.champion_asset import model_champion
from chicago_risk.models.data import MissingFeatureStoreDataError, sample_features
from chicago_risk.models.explanations import write_explanations
from chicago_risk.models.gbm import LightGBMScorer
from chicago_risk.models.metrics import METRIC_NAMES, ORACLE_METRIC
from chicago_risk.models.registry import load_models_at
from chicago_risk.models.storms import STORM_METRICS, storm_table
from chicago_risk.partitions import partition_range_tags
from chicago_risk.resources.city import CityGridResource
from chicago_risk.resources.reports import ReportsResource
from chicago_risk.storage.io_manager import WarehouseIOManager
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.synthetic import quick_settings, synthetic_city

pytestmark = pytest.mark.slow

FIRST_CUTOFF, SECOND_CUTOFF = date(2024, 5, 13), date(2024, 5, 20)
PREDICTED = (FIRST_CUTOFF, SECOND_CUTOFF + timedelta(days=6))
RESOLUTION = 7  # 160 cells


def _materialize(assets, resources, instance, first: str, last: str, raise_on_error: bool = True):
    return dg.materialize(
        assets, resources=resources, instance=instance, tags=partition_range_tags(first, last),
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    warehouse = WarehouseResource(path=str(root / "warehouse.duckdb"))
    features, labels, truth = synthetic_city(
        days=530, resolution=RESOLUTION, base_rate=0.015, burst_sd=1.3, rain_effect=0.08
    )
    warehouse.replace_table("cell_day_features", features)
    warehouse.replace_table("cell_day_labels", labels)
    warehouse.replace_table("demo_truth", truth)
    resources = {
        "warehouse": warehouse,
        "warehouse_io_manager": WarehouseIOManager(warehouse=warehouse),
        "city": CityGridResource(h3_resolution=RESOLUTION),
        "reports": ReportsResource(folder=str(root / "reports")),
    }
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test() as instance:
        patch.setattr(model_assets, "SETTINGS", quick_settings())
        results = {
            "risk_model": _materialize([risk_model], resources, instance, str(FIRST_CUTOFF), str(SECOND_CUTOFF)),
            "evaluation": _materialize(
                [model_evaluation, model_card], resources, instance, str(SECOND_CUTOFF), str(SECOND_CUTOFF)
            ),
            "champion": _materialize([model_champion], resources, instance, str(FIRST_CUTOFF), str(SECOND_CUTOFF)),
            "predictions": _materialize([risk_predictions], resources, instance, str(PREDICTED[0]), str(PREDICTED[1])),
        }
        yield {"warehouse": warehouse, "root": root, "resources": resources, "instance": instance, **results}


def test_every_check_passes_and_every_asset_materializes(run):
    for name in ("risk_model", "evaluation", "champion", "predictions"):
        result = run[name]
        assert result.success
        failed = [
            e.check_name for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
        ]
        assert failed == [], name
    checks = {e.check_name: e.passed for e in run["evaluation"].get_asset_check_evaluations()}
    assert checks["every_fold_and_metric"] and checks["folds_train_on_the_past"] and checks["bss_positive"]


def test_model_registry_holds_every_kind_per_cutoff(run):
    registry = run["warehouse"].read_table("model_registry")
    assert registry.group_by("cutoff").agg(pl.col("kind").sort()).sort("cutoff").rows() == [
        (FIRST_CUTOFF, sorted(MODEL_KINDS)), (SECOND_CUTOFF, sorted(MODEL_KINDS))
    ]
    served = load_models_at(run["warehouse"], SECOND_CUTOFF)["lightgbm"]
    window = served.calibration.slice
    # both cutoffs are served by the fit of the quarter's first Monday (refits every 3 months)
    assert served.params["fitted_cutoff"] == "2024-04-01"
    assert window["last_labelled_day"] == str(date(2024, 4, 1) - timedelta(days=8))
    assert window["training_last_day"] < window["calibration_blocks"][0][0]
    metadata = run["risk_model"].get_asset_materialization_events()[0].materialization.metadata
    assert metadata["served_model_id"].value == served.model_id
    assert metadata["calibration_method"].value == "isotonic"


def test_lightgbm_beats_climatology_in_the_backtest(run):
    evaluation = run["warehouse"].read_table("model_evaluation")
    assert evaluation["cutoff"].unique().to_list() == [SECOND_CUTOFF]
    assert set(evaluation["metric"].unique()) == {*METRIC_NAMES, ORACLE_METRIC}
    assert evaluation.group_by("model").agg(pl.col("fold_start").n_unique())["fold_start"].to_list() == [12] * len(
        MODEL_KINDS
    )
    wide = evaluation.filter(pl.col("model").is_in(["lightgbm", "climatology"])).pivot(
        on="model", index=["fold_start", "metric"], values="value"
    )

    def folds_won(metric, better):
        part = wide.filter(pl.col("metric") == metric)
        return int(better(part["lightgbm"], part["climatology"]).sum())

    assert folds_won("log_loss", lambda a, b: a < b) >= 10
    assert folds_won("auroc", lambda a, b: a > b) >= 10
    assert wide.filter(pl.col("metric") == "oracle_share")["lightgbm"].mean() > 0.1
    misses = run["warehouse"].read_table("model_evaluation_misses")
    assert 0 < misses.height <= 10 and misses["h3_id"].is_unique().all()
    assert misses["why"].str.contains("missed|false alarm").all()


def test_figures_and_model_card_are_written_and_attached(run):
    folder = run["root"] / "reports" / "model_evaluation" / str(SECOND_CUTOFF)
    names = sorted(p.name for p in folder.glob("*.png"))
    assert names == ["capture.png", "precision_recall.png", "reliability.png", "roc.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in folder.glob("*.png"))
    card = (run["root"] / "reports" / "model_card.md").read_text()
    assert card == (run["root"] / "reports" / f"model_card_{SECOND_CUTOFF}.md").read_text()
    for section in ("## Intended use", "## Data and windows", "## Backtest", "## The 10 worst misses",
                    "## Limitations", "## Retraining triggers", "drift_retrain_sensor", "Calibration slice"):
        assert section in card
    materializations = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in run["evaluation"].get_asset_materialization_events()
    }
    assert materializations["model_card"]["model_card"].value == card
    assert "data:image/png;base64," in materializations["model_evaluation"]["figures"].value


def test_the_model_card_draws_the_served_models_shap_figures(run):
    reports = run["root"] / "reports"
    card = (reports / "model_card.md").read_text()
    section = card.split("## What drives the forecasts (SHAP)")[1].split("\n## ")[0]
    for name in ("shap_beeswarm", "shap_waterfall"):
        relative = f"model_card/{SECOND_CUTOFF}/{name}.png"
        assert f"![{name}]({relative})" in section
        png = (reports / relative).read_bytes()  # the link resolves from the card's folder
        assert png[:4] == b"\x89PNG" and len(png) > 10_000
    assert f"2,000 cell-days sampled from {SECOND_CUTOFF - timedelta(days=27)}..{SECOND_CUTOFF}" in section
    # the waterfall's cell is the day's highest-risk cell of the map
    day = run["warehouse"].read_partitions("risk_predictions", SECOND_CUTOFF, SECOND_CUTOFF)
    cell = section.split(f"the highest-risk cell of {SECOND_CUTOFF}, `")[1].split("`")[0]
    assert day.filter(pl.col("h3_id") == cell)["p_event_7d"][0] == day["p_event_7d"].max()
    card_events = [
        e for e in run["evaluation"].get_asset_materialization_events() if e.asset_key.path == ["model_card"]
    ]
    assert card_events[0].materialization.metadata["shap_figures"].value.count("data:image/png;base64,") == 2


def test_shaps_own_tree_shap_agrees_with_the_served_drivers(run):
    """shap is the independent check of our drivers: its own TreeSHAP (its C++ extension over its
    own parse of the booster) against LightGBM's `pred_contrib` in `LightGBMScorer.contributions`."""
    model = load_models_at(run["warehouse"], SECOND_CUTOFF)["lightgbm"]  # the served booster, from its text
    scorer = model.scorer
    assert isinstance(scorer, LightGBMScorer)
    rows = run["warehouse"].read_partitions("cell_day_features", *PREDICTED).sample(1_000, seed=0)
    # unknown forecasts on a third of the rows: the missing-value branches must agree too
    forecasts = [n for n in scorer.feature_names if n.startswith("fc_")]
    assert forecasts
    unknown = pl.Series(np.arange(rows.height) % 3 == 0)
    rows = rows.with_columns(pl.when(~unknown).then(pl.col(n)).alias(n) for n in forecasts)
    # Given a booster, TreeExplainer only calls LightGBM's pred_contrib; given the trees shap parsed
    # from the booster's dump, it runs its own algorithm.
    own = shap.TreeExplainer(shap.TreeExplainer(scorer.booster).model.trees)
    assert own.model.model_type == "internal"
    x = feature_matrix(rows, scorer.feature_names)
    expected = own.shap_values(x)
    offset = [scorer.feature_names.index(n) for n in scorer.offset.feature_names]
    expected[:, offset] += scorer.offset.contributions(x[:, offset])
    served = scorer.contributions(rows)
    # Both are float64 sums over the same trees: only the summation order differs (about 1e-16);
    # a row sent down another branch would move a contribution by a leaf value, 1e-4 or more.
    tolerance = 1e-9
    np.testing.assert_allclose(served[:, :-1], expected, rtol=0, atol=tolerance)
    assert served[:, -1] == pytest.approx(
        float(np.ravel(own.expected_value)[0]) + scorer.offset.intercept, abs=tolerance
    )


def test_the_shap_sample_is_the_same_rows_of_its_window_every_time(run):
    first, last = SECOND_CUTOFF - timedelta(days=27), SECOND_CUTOFF
    sample = sample_features(run["warehouse"], first, last, 2_000)
    assert sample.height == 2_000 and sample.select("h3_id", "day").is_unique().all()
    assert sample["day"].is_between(first, last).all() and sample["day"].n_unique() == 28
    assert sample.equals(sample_features(run["warehouse"], first, last, 2_000))
    # a window smaller than the sample gives all its rows
    assert sample_features(run["warehouse"], last, last, 2_000).height == len(city_cells(RESOLUTION))


def test_a_served_model_without_contributions_gets_no_shap_figures(run, tmp_path):
    climatology = load_models_at(run["warehouse"], SECOND_CUTOFF)["climatology"]
    explained = write_explanations(
        run["warehouse"], climatology, SECOND_CUTOFF, tmp_path, "card", ExplanationSettings()
    )
    assert explained is None
    assert list(tmp_path.iterdir()) == []


def test_shap_figures_name_the_feature_days_to_materialize(run, tmp_path):
    served = load_models_at(run["warehouse"], SECOND_CUTOFF)["lightgbm"]
    empty = WarehouseResource(path=str(tmp_path / "empty.duckdb"))
    with pytest.raises(
        MissingFeatureStoreDataError, match=f"holds no day on or before {SECOND_CUTOFF}; run: chicago-risk"
    ):
        write_explanations(empty, served, SECOND_CUTOFF, tmp_path, "card", ExplanationSettings())
    gap = date(2024, 5, 1)
    features = run["warehouse"].read_table("cell_day_features").filter(pl.col("day") != gap)
    holed = WarehouseResource(path=str(tmp_path / "holed.duckdb"))
    holed.replace_table("cell_day_features", features)
    with pytest.raises(MissingFeatureStoreDataError, match=f"lacks 1 day.*between {gap} and {gap}"):
        write_explanations(holed, served, SECOND_CUTOFF, tmp_path, "card", ExplanationSettings())
    assert not (tmp_path / "card").exists()


def test_every_model_is_evaluated_on_the_storm_days_in_the_table_and_the_card(run):
    storms = run["warehouse"].read_table("model_evaluation_storms")
    assert sorted(storms["model"].unique()) == sorted(MODEL_KINDS)
    wide = storm_table(storms.drop("cutoff"))
    assert wide.columns == ["model", *STORM_METRICS]
    assert (wide["days"] >= 4).all() and wide["mean_p"].is_between(0, 1).all()
    card = (run["root"] / "reports" / "model_card.md").read_text()
    assert "## Storm days (the wettest 1% of the backtest's test days)" in card
    assert all(f"| {kind} |" in card.split("## Storm days")[1] for kind in MODEL_KINDS)


def test_predictions_cover_every_cell_and_day_with_the_champion_of_their_week(run):
    predictions = run["warehouse"].read_table("risk_predictions")
    days = (PREDICTED[1] - PREDICTED[0]).days + 1
    assert predictions.height == len(city_cells(RESOLUTION)) * days
    assert predictions.select("h3_id", "day").is_unique().all()
    # one monthly fit, stored at both cutoffs: champion of both weeks as its first stored row
    champion = load_models_at(run["warehouse"], FIRST_CUTOFF)["lightgbm"].model_id
    assert predictions.select("model_id", "model_cutoff").unique().rows() == [(champion, FIRST_CUTOFF)]
    assert predictions["p_event_7d"].is_between(0, 1, closed="none").all()
    assert (predictions["expected_events"] >= predictions["p_event_7d"]).all()
    assert set(predictions["risk_band"].unique()) <= {"low", "medium", "high"}
    # days of 2024 are not recent: drivers for the cells above the low band only
    explained = predictions.filter(pl.col("risk_band") != "low")
    assert explained.height and explained["drivers"].list.len().is_between(3, 5).all()
    assert (predictions.filter(pl.col("risk_band") == "low")["drivers"].list.len() == 0).all()
    first = explained["drivers"][0][0]
    assert set(first) == {"feature", "value", "contribution", "label"} and first["label"]


def test_predictions_are_calibrated_against_what_followed(run):
    predictions = run["warehouse"].read_table("risk_predictions")
    labels = run["warehouse"].read_partitions("cell_day_labels", *PREDICTED)
    joined = predictions.join(labels, on=["h3_id", "day"])
    assert joined["p_event_7d"].mean() == pytest.approx(joined["y_event_7d"].cast(pl.Float64).mean(), abs=0.06)


def test_rematerializing_a_day_replaces_it_identically(run):
    before = run["warehouse"].read_table("risk_predictions").sort("day", "h3_id")
    day = str(SECOND_CUTOFF)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_assets, "SETTINGS", quick_settings())
        _materialize([risk_predictions], run["resources"], run["instance"], day, day)
    assert run["warehouse"].read_table("risk_predictions").sort("day", "h3_id").equals(before)


def test_a_day_before_any_model_is_refused(run):
    day = str(FIRST_CUTOFF - timedelta(days=1))
    result = _materialize([risk_predictions], run["resources"], run["instance"], day, day, raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    message = error.cause.message if error.cause else error.message
    week = FIRST_CUTOFF - timedelta(days=7)
    assert (
        f"no champion is decided for 1 week(s) {week}..{week}; run: "
        f"chicago-risk materialize --start {week} --end {day} --select model_champion"
    ) in message


def test_predictions_move_little_under_noise_and_rise_with_a_wetter_week(run):
    model = load_models_at(run["warehouse"], SECOND_CUTOFF)["lightgbm"]
    rows = run["warehouse"].read_partitions("cell_day_features", *PREDICTED)
    p = model.predict_proba(rows)
    rng = np.random.default_rng(0)
    weather = ["tmin_c", "tmax_c", "precip_mm", "precip_3d_mm", "temp_drop_c", "fc_precip_7d_mm"]
    noisy = rows.with_columns(pl.col(c) * (1 + 0.01 * pl.Series(rng.normal(size=rows.height))) for c in weather)
    assert np.mean(np.abs(model.predict_proba(noisy) - p)) < 0.01
    wetter = rows.with_columns(pl.col("fc_precip_7d_mm") + 30.0)
    # the synthetic city's truth: rain raises every cell's rate
    assert model.predict_proba(wetter).mean() > p.mean() + 0.01
