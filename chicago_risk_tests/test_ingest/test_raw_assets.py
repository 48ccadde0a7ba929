"""The raw assets materialized through Dagster into a temporary DuckDB warehouse."""

from datetime import date, timedelta
from typing import cast

import dagster as dg
import polars as pl
import pytest

from chicago_risk.backfill import BackfillError, materialize_window
from chicago_risk.config import LABEL_HORIZON_DAYS, LEAK_TYPES, Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.ingest.normalise import RAW_311_SCHEMA
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import WEATHER_SCHEMA, weather_daily
from chicago_risk.partitions import daily_partitions, partition_range_tags, single_run
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.storage.warehouse import WarehouseResource

JAN_START, JAN_END = date(2024, 1, 1), date(2024, 1, 31)
RAW = ["raw_311_requests", "raw_311_quarantine", "weather_daily"]


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    io_manager_key="warehouse_io_manager",
    ins={"raw_311_requests": dg.AssetIn(), "weather_daily": dg.AssetIn()},
)
def requests_per_day(raw_311_requests: pl.DataFrame, weather_daily: pl.DataFrame) -> pl.DataFrame:
    """A downstream asset: proves both raw assets load back as frames with their schemas."""
    assert dict(raw_311_requests.schema) == RAW_311_SCHEMA
    assert dict(weather_daily.schema) == WEATHER_SCHEMA
    return weather_daily.join(
        raw_311_requests.group_by("day").agg(requests=pl.len()), on="day", how="left"
    ).select("day", "precip_mm", "requests")


def materialize_january(defs, instance, extra_assets=()):
    return dg.materialize(
        [raw_311, weather_daily, *extra_assets],
        resources=defs.resources,
        instance=instance,
        tags=partition_range_tags(JAN_START.isoformat(), JAN_END.isoformat()),
    )


def warehouse_of(settings) -> WarehouseResource:
    return WarehouseResource(path=str(settings.warehouse_path))


def test_a_month_materializes_in_one_run_and_loads_downstream(defs, settings, instance):
    result = materialize_january(defs, instance, extra_assets=[requests_per_day])
    assert result.success
    assert len(instance.get_runs()) == 1  # a single-run backfill, not 31 runs
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())
    assert len(result.get_asset_check_evaluations()) == 8
    downstream = warehouse_of(settings).read_table("requests_per_day")
    assert downstream.height == 31 and cast(int, downstream["requests"].min()) > 50
    materialized = instance.get_materialized_partitions(dg.AssetKey("raw_311_requests"))
    assert len(materialized) == 31


def test_every_fetched_row_is_accepted_or_quarantined(defs, settings, instance):
    materialize_january(defs, instance)
    warehouse = warehouse_of(settings)
    accepted = warehouse.read_table("raw_311_requests")
    quarantined = warehouse.read_table("raw_311_quarantine")
    fetched = DemoCitySource(seed=settings.demo_seed).fetch_requests(
        JAN_START, JAN_END, tuple(t.sr_type for t in LEAK_TYPES)
    )
    assert accepted.height + quarantined.height == fetched.height
    assert 0 < quarantined.height < 0.01 * fetched.height
    assert set(quarantined["reason"]) <= {"missing_coordinates", "malformed_coordinates",
                                          "outside_city", "unparseable_created_date"}


def test_materializing_a_partition_again_gives_the_same_rows(defs, settings, instance):
    materialize_january(defs, instance)
    first = warehouse_of(settings).read_table("raw_311_requests")
    materialize_january(defs, instance)
    again = warehouse_of(settings).read_table("raw_311_requests")
    assert again.height == first.height
    assert again.sort("sr_number").equals(first.sort("sr_number"))


def test_a_window_inside_a_longer_one_gives_identical_rows(tmp_path, instance):
    from chicago_risk.config import Settings

    short, long = (Settings(data_dir=tmp_path / name) for name in ("short", "long"))
    materialize_window(build_definitions(short), date(2024, 1, 10), date(2024, 1, 12), instance, select=RAW)
    materialize_window(build_definitions(long), date(2024, 1, 1), date(2024, 1, 31), instance, select=RAW)
    for table in (*RAW, "raw_311_coverage"):
        inner = warehouse_of(short).read_partitions(table, date(2024, 1, 10), date(2024, 1, 12)).sort(pl.all())
        outer = (
            warehouse_of(long)
            .read_partitions(table, date(2024, 1, 10), date(2024, 1, 12))
            .sort(pl.all())
        )
        assert inner.height > 0 and inner.equals(outer), table


class DeadUpstreamDay(DemoCitySource):
    """The demo city with one day missing, as a dead upstream or a broken filter would give."""

    def fetch_requests(self, start, end, sr_types):
        rows = super().fetch_requests(start, end, sr_types)
        return rows.filter(~pl.col("created_date").str.starts_with("2024-01-20"))


def test_an_empty_day_fails_the_blocking_volume_check_and_stops_downstream(settings, instance):
    defs = build_definitions(settings)
    resources = {**(defs.resources or {}), "requests_source": DeadUpstreamDay(seed=settings.demo_seed)}
    result = dg.materialize(
        [raw_311, weather_daily, requests_per_day],
        resources=resources,
        instance=instance,
        tags=partition_range_tags(JAN_START.isoformat(), JAN_END.isoformat()),
        raise_on_error=False,
    )
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {"daily_volume_plausible"}
    assert not result.success
    assert dg.AssetKey("requests_per_day") not in {
        e.asset_key for e in result.get_asset_materialization_events()
    }


def test_backfill_runner_reports_each_asset_and_refuses_unknown_names(defs, instance):
    lines: list[str] = []
    runs = materialize_window(defs, JAN_START, date(2024, 1, 3), instance, select=RAW, echo=lines.append)
    # The weather of the ten days before comes too: the volume check reads it.
    assert [run.partitions for run in runs] == [13, 3]
    assert any("raw_311_coverage, raw_311_quarantine, raw_311_requests: done in" in line for line in lines)
    with pytest.raises(BackfillError, match="unknown asset\\(s\\) nope; available: "):
        materialize_window(defs, JAN_START, JAN_END, instance, select=["nope"])


def test_a_window_ending_yesterday_stops_at_the_partitions_that_exist(tmp_path, instance):
    """Labels read the week after each day; for the newest days that week has not happened, so
    the runner must neither ask for raw partitions of days to come nor labels they would need."""
    last_key = daily_partitions.get_last_partition_key()
    assert last_key is not None
    yesterday = date.fromisoformat(last_key)
    start = yesterday - timedelta(days=9)
    defs = build_definitions(Settings(data_dir=tmp_path, h3_resolution=7))
    runs = materialize_window(
        defs, start, yesterday, instance, select=[*RAW, "cell_day_labels"], echo=lambda _: None
    )
    by_asset = {run.assets: run for run in runs}
    raw = by_asset[("raw_311_coverage", "raw_311_quarantine", "raw_311_requests")]
    assert (raw.first_partition, raw.last_partition) == (str(start), str(yesterday))
    labels = by_asset[("cell_day_labels",)]
    assert (labels.first_partition, labels.last_partition) == (
        str(start), str(yesterday - timedelta(days=LABEL_HORIZON_DAYS))
    )
