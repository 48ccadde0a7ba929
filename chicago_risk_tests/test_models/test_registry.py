"""A model written to `model_registry` and loaded back predicts exactly as the fitted one."""

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from chicago_risk.config import MODEL_KINDS
from chicago_risk.features.registry import registry_hash
from chicago_risk.models.drivers import explain
from chicago_risk.models.gbm import MODEL_FORMAT, LightGBMScorer
from chicago_risk.models.model import FittedModel, StaleFeaturesError, fit_all
from chicago_risk.models.registry import (
    MODEL_REGISTRY_SCHEMA,
    ModelNotFoundError,
    fits_up_to,
    load_model,
    load_models_at,
    write_models,
)
from chicago_risk.models.windows import plan_window
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.synthetic import quick_settings

SETTINGS = quick_settings(rounds=60)
CUTOFF = date(2024, 3, 4)


@pytest.fixture(scope="module")
def fitted(small_city):
    features, labels, _ = small_city
    rows = features.join(labels, on=["h3_id", "day"])
    window = plan_window(CUTOFF, rows["day"].min(), SETTINGS.training, SETTINGS.calibration)
    return fit_all(rows, window, SETTINGS), features.filter(pl.col("day") >= CUTOFF)


def test_every_kind_round_trips_through_the_registry_table(fitted, tmp_path):
    models, scoring_rows = fitted
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    stored = write_models(warehouse, models.values(), CUTOFF, CUTOFF)
    assert dict(stored.schema) == MODEL_REGISTRY_SCHEMA
    table = warehouse.read_table("model_registry")
    assert sorted(table["kind"].to_list()) == sorted(MODEL_KINDS)
    assert set(table["feature_registry_hash"].to_list()) == {registry_hash()}
    stored_lightgbm = json.loads(table.filter(pl.col("kind") == "lightgbm")["model_text"][0])
    assert stored_lightgbm["format"] == MODEL_FORMAT
    assert stored_lightgbm["lightgbm"].startswith("tree")  # LightGBM's own text format, as saved
    assert stored_lightgbm["weather_offset"]["feature_names"]
    loaded = load_models_at(warehouse, CUTOFF)
    for kind, model in models.items():
        again = loaded[kind]
        assert again.model_id == model.model_id == load_model(warehouse, model.model_id).model_id
        np.testing.assert_array_equal(again.predict_proba(scoring_rows), model.predict_proba(scoring_rows))
        np.testing.assert_array_equal(again.expected_events(scoring_rows), model.expected_events(scoring_rows))
        assert again.predict(scoring_rows).equals(model.predict(scoring_rows))
        assert again.metrics == model.metrics and again.calibration.slice == model.calibration.slice
    loaded_scorer, fitted_scorer = loaded["lightgbm"].scorer, models["lightgbm"].scorer
    assert isinstance(loaded_scorer, LightGBMScorer) and isinstance(fitted_scorer, LightGBMScorer)
    assert explain(loaded_scorer, scoring_rows, SETTINGS.drivers).equals(
        explain(fitted_scorer, scoring_rows, SETTINGS.drivers)
    )
    # re-writing the same cutoff replaces its rows, never doubles them
    write_models(warehouse, models.values(), CUTOFF, CUTOFF)
    assert warehouse.read_table("model_registry").height == len(MODEL_KINDS)


def test_a_fit_stored_at_several_cutoffs_is_one_fit_and_misses_say_what_to_run(fitted, tmp_path):
    models, _ = fitted
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(
        ModelNotFoundError, match=r"no model_registry.*run: chicago-risk materialize --select risk_model"
    ):
        load_model(warehouse, "lightgbm-x")
    week = date(2024, 3, 11)
    write_models(warehouse, models.values(), CUTOFF, CUTOFF)
    write_models(warehouse, [m.served_at(week) for m in models.values()], week, week)  # a monthly fit, served again
    fits = fits_up_to(warehouse, "lightgbm", week)
    assert fits.select("model_id", "cutoff", "fitted_cutoff").rows() == [(models["lightgbm"].model_id, CUTOFF, CUTOFF)]
    assert fits["model_ids"][0].to_list() == [models["lightgbm"].model_id, models["lightgbm"].served_at(week).model_id]
    assert fits_up_to(warehouse, "lightgbm", CUTOFF - timedelta(days=7)).is_empty()
    with pytest.raises(
        ModelNotFoundError,
        match="run: chicago-risk materialize --start 2024-03-18 --end 2024-03-18 --select risk_model",
    ):
        load_models_at(warehouse, date(2024, 3, 18))


def test_a_model_of_other_feature_definitions_refuses_to_predict(fitted):
    models, _ = fitted
    record = {**models["lightgbm"].to_record(), "feature_registry_hash": "0000000000000000"}
    with pytest.raises(StaleFeaturesError, match="retrain"):
        FittedModel.from_record(record).require_current_features()
