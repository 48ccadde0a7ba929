"""The publish assets materialized through Dagster: what they publish, what they skip, and how
automation follows a backfill of a layer."""

from datetime import timedelta

import dagster as dg
import polars as pl
import pytest

from chicago_risk.features.registry import registry_frame
from chicago_risk.models.assets import risk_predictions
from chicago_risk.publish.assets import PUBLISH_ASSETS, NothingToPublishError, published_key
from chicago_risk.publish.layers import EVENT_COLUMNS, PUBLISHED_TABLES
from chicago_risk.publish.store import PublishedStore
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.instances import fast_test_instance
from chicago_risk_tests.fixtures.map_layers import (
    FIRST_DAY,
    LAST_DAY,
    MAP_PUBLISH,
    layer_resources,
    materialize,
)
from chicago_risk_tests.fixtures.stand_ins import STAND_IN_ASSETS, cost_layer

DAYS = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
PUBLISH = {a.key: a for a in PUBLISH_ASSETS}


def test_every_table_is_published_for_every_materialized_day(small_city):
    store = small_city.store()
    warehouse = WarehouseResource(path=str(small_city.root / "warehouse.duckdb"))
    for spec in PUBLISHED_TABLES:
        manifest = store.read_manifest(spec.table)
        if not spec.daily:
            continue
        assert manifest.days() == DAYS, spec.table
        assert manifest.h3_resolution == 7
        for day in (FIRST_DAY, LAST_DAY):
            published = store.read_partition(manifest.entry(day))
            rows = warehouse.read_partitions(spec.table, day, day)
            assert published.height == rows.height == manifest.entry(day).rows, (spec.table, day)
            assert published.columns == list(spec.columns or rows.columns)
    events = store.read_layer("raw_311_requests")
    assert events.columns == list(EVENT_COLUMNS)
    assert {"street_address", "zip_code", "x_coordinate", "origin"}.isdisjoint(events.columns)


def test_the_champion_its_decision_and_the_feature_registry_are_published(small_city):
    store = small_city.store()
    model = store.read_layer("model_registry")
    registry = WarehouseResource(path=str(small_city.root / "warehouse.duckdb")).read_table("model_registry")
    newest = registry.filter(pl.col("kind") == "lightgbm").sort("cutoff")["model_id"][-1]
    # the one fit: champion of both weeks, no challenger beside it
    assert model.select("alias", "model_id", "kind").rows() == [("champion", newest, "lightgbm")]
    decision = store.read_layer("model_champion").row(0, named=True)
    assert decision["cutoff"] == LAST_DAY - timedelta(days=6) and decision["champion_model_id"] == newest
    assert (decision["decision"], decision["challenger_model_id"], decision["pinned"]) == ("no_challenger", None, False)
    assert store.read_layer("feature_registry")["name"].to_list() == registry_frame()["name"].to_list()
    risk = store.read_manifest("risk_predictions").entry(LAST_DAY)
    assert risk.facets == {"model_id": [newest]} and risk.source_version.startswith("risk_predictions@")


def test_republishing_identical_days_keeps_their_versions_and_reports_what_it_did(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    before = small_city.store().read_manifest("cost_layer")
    window = (LAST_DAY - timedelta(days=2), LAST_DAY + timedelta(days=2))  # two days not materialized
    result = materialize(
        [PUBLISH[published_key("cost_layer")]],
        layer_resources(root),
        small_city.instance,
        first=window[0],
        last=window[1],
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["published_partitions"].value == 3 and metadata["skipped_days"].value == 2
    assert metadata["dagster/row_count"].value == 3 * 160
    republished = PublishedStore(str(root / "published")).read_manifest("cost_layer")
    assert republished is not None and before is not None
    assert republished.days() == DAYS, "days never materialized are not published (not even empty)"
    assert republished.table_version == before.table_version + 1, "the window is one commit"
    assert {k: e.version for k, e in republished.partitions.items()} == {
        k: e.version for k, e in before.partitions.items()
    }


def test_a_window_with_nothing_materialized_fails_with_the_command_to_run(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    day = FIRST_DAY - timedelta(days=30)
    with pytest.raises(NothingToPublishError, match=f"chicago-risk materialize --start {day}"):
        materialize(
            [PUBLISH[published_key("cost_layer")]], layer_resources(root), small_city.instance, first=day, last=day
        )


def test_automation_publishes_the_days_a_backfill_rematerialized(small_city, tmp_path):
    root = small_city.copy_to(tmp_path)
    resources = layer_resources(root)
    defs = dg.Definitions(assets=[risk_predictions, *STAND_IN_ASSETS, *MAP_PUBLISH], resources=resources)
    backfilled = [str(d) for d in DAYS[2:6]]
    with fast_test_instance() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0
        # old days, as a backfill would; its input comes from the copied warehouse
        materialize([cost_layer, risk_predictions.to_source_asset()], resources, instance, first=DAYS[2], last=DAYS[5])
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert second.get_requested_partitions(published_key("cost_layer")) == set(backfilled)
        assert second.total_requested == len(backfilled)
        materialize([PUBLISH[published_key("cost_layer")]], resources, instance, first=DAYS[2], last=DAYS[5])
        third = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=second.cursor)
        assert third.total_requested == 0
