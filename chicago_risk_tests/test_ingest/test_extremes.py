"""The raw assets on the days they exist for: a spike, an empty day, a missing weather day, a bad
row seen by many windows, and the operator's override of a check."""

from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk.ingest.coverage import source_coverage
from chicago_risk.ingest.raw_311 import raw_311
from chicago_risk.ingest.weather import weather_daily
from chicago_risk.overrides import OPERATOR_TAG, REASON_TAG, OverrideError, accept_tags, run_overrides
from chicago_risk.partitions import partition_range_tags
from chicago_risk.sources.demo_city import DemoCitySource
from chicago_risk.storage.warehouse import WarehouseResource

START, END = date(2024, 1, 1), date(2024, 1, 31)
SPIKE, HOLE = date(2024, 1, 20), date(2024, 1, 12)


class DryCity(DemoCitySource):
    """The demo city without rain (so no spike is explained), with hooks for broken days."""

    spike_copies: int = 0  # every request of SPIKE is filed this many more times, as new requests
    empty_answers: int = 0  # HOLE comes back empty this many times, then with its rows
    weather_holes: list[str] = []  # days the weather source lacks  # noqa: RUF012 (a pydantic field)
    spike_rain_mm: float = 0.0  # the rain of SPIKE
    token: str = ""  # keys this source's count of answers (resources are frozen)

    def fetch_requests(self, start, end, sr_types):
        rows = super().fetch_requests(start, end, sr_types)
        on_spike = rows.filter(pl.col("created_date").str.starts_with(str(SPIKE)))
        copies = [on_spike.with_columns(pl.col("sr_number") + f"-{k}") for k in range(self.spike_copies)]
        if start <= HOLE <= end and _ASKED.setdefault(self.token, 0) < self.empty_answers:
            _ASKED[self.token] += 1
            rows = rows.filter(~pl.col("created_date").str.starts_with(str(HOLE)))
        return pl.concat([rows, *copies])

    def fetch_weather(self, start, end):
        holes = [date.fromisoformat(day) for day in self.weather_holes]
        return super().fetch_weather(start, end).with_columns(
            precip_mm=pl.when(pl.col("day") == SPIKE).then(self.spike_rain_mm).otherwise(0.0),
            tmin_c=pl.when(pl.col("day").is_in(holes)).then(None).otherwise(pl.col("tmin_c")),
        )


_ASKED: dict[str, int] = {}


def run(settings: Settings, instance, source: DemoCitySource, tags: dict[str, str] | None = None, start=START, end=END):
    resources = {**(build_definitions(settings).resources or {}), "requests_source": source, "weather_source": source}
    return dg.materialize(
        [raw_311, weather_daily], resources=resources, instance=instance, raise_on_error=False,
        tags={**(tags or {}), **partition_range_tags(start.isoformat(), end.isoformat())},
    )


def evaluation(result, name: str):
    (found,) = [e for e in result.get_asset_check_evaluations() if e.check_name == name]
    return found


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, h3_resolution=7)


def test_an_unexplained_spike_blocks_until_the_operator_accepts_that_day(settings, instance):
    spike = DryCity(spike_copies=30)

    blocked = run(settings, instance, spike)
    assert not evaluation(blocked, "daily_volume_plausible").passed
    assert str(SPIKE) in evaluation(blocked, "daily_volume_plausible").metadata["implausible_days"].value

    elsewhere = run(settings, instance, spike, accept_tags(["daily_volume_plausible@2024-01-21"], "checked", "ops"))
    check = evaluation(elsewhere, "daily_volume_plausible")
    assert not check.passed and check.metadata["override_does_not_cover"].value == str(SPIKE)

    accepted = run(settings, instance, spike, accept_tags(
        ["daily_volume_plausible@2024-01-19..2024-01-20"], "a real main break, checked in the portal", "ops"))
    check = evaluation(accepted, "daily_volume_plausible")
    assert accepted.success and check.passed
    assert check.metadata["override"].value == "chicago-risk/accept.daily_volume_plausible"
    assert check.metadata["override_days"].value == "2024-01-19..2024-01-20"
    assert check.metadata["override_reason"].value == "a real main break, checked in the portal"
    assert check.metadata["override_by"].value == "ops"
    assert str(SPIKE) in check.metadata["implausible_days"].value  # what was found stays visible
    logs = [e.message for e in instance.all_logs(accepted.run_id) if "accepted by ops" in (e.message or "")]
    assert len(logs) == 1 and "daily_volume_plausible" in logs[0]


def test_the_same_spike_under_a_storm_is_plausible_and_shown_as_explained(settings, instance):
    result = run(settings, instance, DryCity(spike_copies=30, spike_rain_mm=80.0))

    check = evaluation(result, "daily_volume_plausible")
    assert result.success and check.passed
    assert str(SPIKE) in check.metadata["spikes_explained_by_weather"].value


def test_override_tags_are_checked_before_anything_runs():
    with pytest.raises(OverrideError, match="needs --reason"):
        accept_tags(["daily_volume_plausible"], " ", "ops")
    with pytest.raises(OverrideError, match="not a day or a range"):
        accept_tags(["daily_volume_plausible@2024-13-01"], "why", "ops")
    with pytest.raises(OverrideError, match="not a check name"):
        accept_tags(["daily volume"], "why", "ops")
    with pytest.raises(OverrideError, match="no chicago-risk/accept-reason tag"):
        run_overrides({"chicago-risk/accept.schema": "all"})
    tags = accept_tags(["schema", "daily_volume_plausible@2024-01-02,2024-01-05..2024-01-06"], "why", "ops")
    assert tags[REASON_TAG] == "why" and tags[OPERATOR_TAG] == "ops"
    overrides = run_overrides(tags)
    assert overrides["schema"].days == () and overrides["schema"].covers(date(1999, 1, 1))
    volume = overrides["daily_volume_plausible"]
    assert [volume.covers(date(2024, 1, d)) for d in (1, 2, 5, 6, 7)] == [False, True, True, True, False]


def test_a_day_that_comes_back_empty_is_asked_again_and_kept_when_it_arrives(settings, instance):
    result = run(settings, instance, DryCity(empty_answers=1, token="once"))

    assert result.success
    coverage = WarehouseResource(path=str(settings.warehouse_path)).read_table("raw_311_coverage")
    hole = coverage.filter(pl.col("day") == HOLE).row(0, named=True)
    assert hole["fetch_attempts"] == 2 and hole["status"] == "rows" and hole["requests"] > 50


def test_a_day_that_stays_empty_is_flagged_degraded_and_blocks(settings, instance):
    result = run(settings, instance, DryCity(empty_answers=10, token="always"))

    assert not evaluation(result, "daily_volume_plausible").passed
    warehouse = WarehouseResource(path=str(settings.warehouse_path))
    hole = warehouse.read_table("raw_311_coverage").filter(pl.col("day") == HOLE).row(0, named=True)
    assert (hole["fetch_attempts"], hole["status"], hole["requests"]) == (3, "empty", 0)
    coverage = source_coverage(warehouse, "raw_311_requests")
    assert coverage.degraded_days == (HOLE,) and (coverage.first_day, coverage.last_day) == (START, END)


def test_a_missing_weather_day_is_interpolated_flagged_and_the_run_goes_on(settings, instance):
    result = run(settings, instance, DryCity(weather_holes=["2024-01-15", "2024-01-16"]))

    assert result.success
    observed = evaluation(result, "every_day_observed")
    assert not observed.passed and observed.severity == dg.AssetCheckSeverity.WARN
    weather = WarehouseResource(path=str(settings.warehouse_path)).read_table("weather_daily").sort("day")
    around = weather.filter(pl.col("day").is_between(date(2024, 1, 14), date(2024, 1, 17)))
    assert around["filled_by"].to_list() == [None, "interpolated", "interpolated", None]
    first, last = around["tmin_c"][0], around["tmin_c"][3]
    assert around["tmin_c"][1] == pytest.approx(first + (last - first) / 3)
    metadata = result.asset_materializations_for_node("weather_daily")[0].metadata
    assert metadata["filled_days"].value == {"2024-01-15": "interpolated", "2024-01-16": "interpolated"}
    coverage = source_coverage(WarehouseResource(path=str(settings.warehouse_path)), "weather_daily")
    assert coverage.degraded_days == (date(2024, 1, 15), date(2024, 1, 16))


def test_more_than_a_week_of_missing_weather_fails_naming_the_days(settings, instance):
    holes = tuple(str(date(2024, 1, 10) + timedelta(days=i)) for i in range(8))
    result = run(settings, instance, DryCity(weather_holes=list(holes)))

    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.event_specific_data.error.cause.message
    assert "2024-01-10..2024-01-17 (8 days)" in message and "at most 7 missing days" in message


class BadRows(DemoCitySource):
    """A folder-like source: the same unparseable rows come back whatever window is asked."""

    def fetch_requests(self, start, end, sr_types):
        rows = super().fetch_requests(start, end, sr_types)
        garbage = (
            super()
            .fetch_requests(START, START, sr_types)
            .head(25)
            .with_columns(pl.lit("not a date").alias("created_date"), pl.col("sr_number") + "-bad")
        )
        return pl.concat([rows, garbage])


def test_a_bad_row_is_quarantined_once_whatever_windows_are_run(settings, instance):
    source = BadRows()
    for start, end in ((date(2024, 1, 5), date(2024, 1, 9)), (date(2024, 1, 1), date(2024, 1, 3)),
                       (date(2024, 1, 7), date(2024, 1, 12)), (date(2024, 1, 1), date(2024, 1, 3))):
        assert run(settings, instance, source, start=start, end=end).success

    quarantine = WarehouseResource(path=str(settings.warehouse_path)).read_table("raw_311_quarantine")
    bad = quarantine.filter(pl.col("reason") == "unparseable_created_date")
    assert bad.height == 25 and bad["record"].n_unique() == 25


def test_an_accepted_weather_check_passes_with_the_override(settings, instance):
    # The weather checks' results do not name their asset: the override's log line must not need it.
    out_of_range = DryCity(spike_rain_mm=400.0)
    refused = run(settings, instance, out_of_range)
    assert not refused.success and not evaluation(refused, "physical_ranges").passed

    tags = accept_tags([f"physical_ranges@{SPIKE}"], "a gauge glitch, checked by hand", "ops")
    accepted = run(settings, instance, out_of_range, tags)
    check = evaluation(accepted, "physical_ranges")
    assert accepted.success and check.passed
    assert check.metadata["override_by"].value == "ops"
