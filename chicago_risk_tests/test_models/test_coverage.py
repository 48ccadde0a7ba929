"""Only covered days: no window starts before the 311 source covers its rows' history, and a
window cut by coverage or holding a gap in the source is warned about in the log and metadata."""

from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from chicago_risk.features.registry import HISTORY_DAYS
from chicago_risk.ingest.coverage import COVERAGE_SCHEMA, Coverage, source_coverage
from chicago_risk.models import assets as model_assets
from chicago_risk.models.assets import risk_model
from chicago_risk.models.coverage import (
    STARTS_WITH_THE_DATA_DAYS,
    first_covered_day,
    first_trainable_day,
    window_warnings,
)
from chicago_risk.models.windows import plan_window
from chicago_risk.partitions import DATA_FIRST_DAY, partition_range_tags
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk_tests.fixtures.synthetic import quick_settings

SOURCE_FIRST = date(2021, 6, 1)  # the features (from 2023-01-02) would reach back to 2021-01-03
GAP = (date(2023, 8, 1), date(2023, 8, 10))
CUTOFF = date(2024, 3, 4)
SETTINGS = quick_settings(rounds=10)


def _coverage_days(first: date, last: date, gap: tuple[date, date] | None) -> pl.DataFrame:
    """`raw_311_coverage` as the ingest records it: requests every day first..last but the gap's."""
    days = pl.date_range(first, last, eager=True).alias("day").to_frame()
    in_gap = pl.col("day").is_between(*gap) if gap else pl.lit(False)
    return days.with_columns(
        requests=pl.when(in_gap).then(0).otherwise(20), quarantined=pl.lit(0), fetch_attempts=pl.lit(1),
        status=pl.when(in_gap).then(pl.lit("quiet")).otherwise(pl.lit("rows")),
    ).select(pl.col(name).cast(dtype) for name, dtype in COVERAGE_SCHEMA.items())


@pytest.fixture()
def warehouse(small_city, tmp_path):
    features, labels, _ = small_city
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))
    warehouse.replace_table("cell_day_features", features)
    warehouse.replace_table("cell_day_labels", labels)
    warehouse.replace_table(
        "raw_311_coverage", _coverage_days(SOURCE_FIRST, labels["day"].max() + timedelta(days=7), GAP)
    )
    return warehouse


def test_windows_start_on_the_first_covered_day_and_say_why(warehouse):
    first, labelled, coverage = first_trainable_day(warehouse, SETTINGS.training)
    assert coverage == source_coverage(warehouse, "raw_311_requests") and coverage.first_day == SOURCE_FIRST
    assert first == SOURCE_FIRST + timedelta(days=HISTORY_DAYS - 1) > labelled == date(2023, 1, 2)
    window = plan_window(CUTOFF, first, SETTINGS.training, SETTINGS.calibration)
    assert window.first_day == first
    warnings = window_warnings(warehouse, coverage, labelled, window, SETTINGS.training)
    assert any(f"would start on {labelled}" in w and f"it starts on {first}" in w for w in warnings)
    assert any(f"no request on {GAP[0]}..{GAP[1]} (10 days)" in w for w in warnings)


def test_a_source_that_starts_with_the_warehouse_covers_its_first_months(warehouse):
    """The source's first request within a gap of the data's first day: no history was missed
    (the demo city and a young warehouse train from their first months)."""
    warehouse.replace_table(
        "raw_311_coverage", _coverage_days(DATA_FIRST_DAY + timedelta(days=3), date(2024, 6, 30), None)
    )
    first, labelled, coverage = first_trainable_day(warehouse, SETTINGS.training)
    assert coverage is not None
    assert first == labelled and first_covered_day(coverage) == coverage.first_day
    late_first = DATA_FIRST_DAY + timedelta(days=STARTS_WITH_THE_DATA_DAYS)
    late = Coverage("raw_311_requests", late_first, date(2024, 6, 30))
    assert first_covered_day(late) == late_first + timedelta(days=HISTORY_DAYS - 1)


def test_a_warehouse_without_the_source_trains_on_its_feature_store_and_says_coverage_is_unknown(warehouse):
    warehouse.query("DROP TABLE raw_311_coverage")
    first, labelled, coverage = first_trainable_day(warehouse, SETTINGS.training)
    assert coverage is None and first == labelled
    window = plan_window(CUTOFF, first, SETTINGS.training, SETTINGS.calibration)
    assert window_warnings(warehouse, None, labelled, window, SETTINGS.training)[0].endswith("is unknown")


def test_risk_model_trains_on_covered_days_and_warns_in_its_log_and_metadata(warehouse, monkeypatch):
    monkeypatch.setattr(model_assets, "SETTINGS", SETTINGS)
    with dg.instance_for_test() as instance:
        result = dg.materialize([risk_model], resources={"warehouse": warehouse}, instance=instance,
                                tags=partition_range_tags(str(CUTOFF), str(CUTOFF)))
        logs = [e.message for e in instance.all_logs(result.run_id) if e.level == 30]  # WARNING
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["first_trainable_day"].value == str(SOURCE_FIRST + timedelta(days=HISTORY_DAYS - 1))
    assert "no request on 2023-08-01..2023-08-10" in str(metadata["coverage_warnings"].value)
    assert any("would start on 2023-01-02" in message for message in logs)
    slice_ = warehouse.query("SELECT calibration_map FROM model_registry WHERE kind = 'lightgbm'")["calibration_map"][0]
    assert '"first_day": "2023-05-31"' in slice_
