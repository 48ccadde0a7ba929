"""The model's Dagster objects are part of the one Definitions, for every source."""

import dagster as dg
import pytest

from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions


@pytest.mark.parametrize("source", ["demo", "socrata"])
def test_model_assets_jobs_and_sensors_load_with_the_platform(tmp_path, source):
    defs = build_definitions(Settings(data_dir=tmp_path, source=source))
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    parents = {
        name: sorted(p.to_user_string() for p in graph.get(dg.AssetKey(name)).parent_keys)
        for name in ("risk_model", "model_evaluation", "model_card", "model_champion", "risk_predictions")
    }
    assert parents == {
        "risk_model": ["cell_day_features", "cell_day_labels"],
        # on the demo city the backtest also reads its truth (oracle_share)
        "model_evaluation": ["cell_day_features", "cell_day_labels", *(["demo_truth"] if source == "demo" else [])],
        "model_card": ["model_evaluation", "risk_model"],
        "model_champion": ["risk_model"],
        "risk_predictions": ["cell_day_features", "model_champion"],
    }
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert ("demo_truth" in keys) == (source == "demo")  # the models read it only if it is there
    assert defs.resolve_job_def("weekly_retrain") is not None
    assert {s.name for s in defs.sensors or ()} == {"drift_retrain_sensor", "follow_upstream_sensor"}
