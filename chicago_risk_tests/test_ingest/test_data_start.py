"""CHICAGO_RISK_DATA_START: where the partitions, and so every planned window, begin."""

import subprocess
import sys
from datetime import date

import pytest

from chicago_risk.config import DATA_START, Settings


def test_the_default_is_the_demo_citys_first_day_and_a_live_source_may_start_earlier():
    assert Settings.from_env({}).data_start == DATA_START == date(2019, 1, 1)
    live = Settings.from_env({"CHICAGO_RISK_SOURCE": "files", "CHICAGO_RISK_DATA_START": "2010-01-01"})
    assert live.data_start == date(2010, 1, 1)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHICAGO_RISK_DATA_START": "2019-02-30"}, "not a date; use YYYY-MM-DD"),
        (
            {"CHICAGO_RISK_DATA_START": "2015-01-01"},
            "before the demo city's first day .2019-01-01.; use a later day, or a live or files source",
        ),
    ],
)
def test_a_bad_data_start_fails_with_what_to_do(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)


def test_the_partitions_and_the_first_model_week_follow_the_setting():
    code = (
        "from chicago_risk.partitions import daily_partitions, label_partitions, model_partitions;"
        "print(daily_partitions.start.date(), label_partitions.start.date(),"
        " model_partitions.get_first_partition_key())"
    )
    env = {"CHICAGO_RISK_SOURCE": "socrata", "CHICAGO_RISK_DATA_START": "2010-07-21", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2010-07-21", "2010-07-21", "2010-07-26"]  # the first Monday on or after it


def test_history_widened_before_the_data_start_is_never_planned(tmp_path):
    from chicago_risk.backfill import plan_window
    from chicago_risk.definitions import build_definitions

    defs = build_definitions(Settings(data_dir=tmp_path, h3_resolution=7))
    plan = {run.names: run for run in plan_window(defs, date(2019, 1, 5), date(2019, 1, 6), ["cell_day_features"]).runs}
    (features,) = plan.values()
    assert features.partition_keys == ("2019-01-05", "2019-01-06")
    runs = plan_window(defs, date(2019, 1, 5), date(2019, 1, 6), ["raw_311_requests", "cell_day_features"]).runs
    raw = next(run for run in runs if "raw_311_requests" in run.names)
    assert raw.partition_keys[0] == "2019-01-01"  # the features' two years of history, clipped
    assert plan_window(defs, date(2018, 6, 1), date(2018, 6, 3), ["weather_daily"]).runs == []
