"""The 7-night plan: by savings, within capacity, each cluster once, surveys left out."""

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chicago_risk.config.cost import ScheduleSettings
from chicago_risk.cost.pressure import LEAK_SURVEY, PRESSURE_STEP
from chicago_risk.cost.schedule import build_schedule

DAY = date(2024, 6, 3)


def _clusters(savings, actions=None, day=DAY):
    actions = actions or [PRESSURE_STEP] * len(savings)
    return pl.DataFrame(
        {
            "day": [day] * len(savings),
            "rec_id": [f"rec-{day:%Y%m%d}-{i:03d}" for i in range(1, len(savings) + 1)],
            "action_type": actions,
            "delta_p_psi": [20.0] * len(savings),
            "time_window": ["22:00-06:00"] * len(savings),
            "expected_savings_usd": savings,
        },
        schema={"day": pl.Date, "rec_id": pl.String, "action_type": pl.String, "delta_p_psi": pl.Float64,
                "time_window": pl.String, "expected_savings_usd": pl.Float64},
    )


def test_largest_savings_get_the_earliest_nights():
    clusters = _clusters([100.0, 700.0, 300.0, 50.0, 0.0, 900.0], actions=[PRESSURE_STEP] * 5 + [LEAK_SURVEY])
    plan = build_schedule(clusters, ScheduleSettings(tests_per_night=2, nights=7))
    assert plan.select("night", "slot", "rec_id").rows() == [
        (DAY + timedelta(days=1), 1, "rec-20240603-002"),
        (DAY + timedelta(days=1), 2, "rec-20240603-003"),
        (DAY + timedelta(days=2), 1, "rec-20240603-001"),
        (DAY + timedelta(days=2), 2, "rec-20240603-004"),
    ]  # the survey and the zero-savings step are not planned
    # the step is kept after its night: night 2 of 7 holds 6/7 of the week
    assert plan["expected_savings_usd"].to_list() == pytest.approx([700.0, 300.0, 100 * 6 / 7, 50 * 6 / 7])


@settings(max_examples=50, deadline=None)
@given(
    savings=st.lists(st.floats(0, 1e5), min_size=0, max_size=60),
    capacity=st.integers(1, 5),
    second_day=st.lists(st.floats(0, 1e5), min_size=0, max_size=30),
)
def test_capacity_is_never_exceeded_and_no_cluster_comes_twice(savings, capacity, second_day):
    clusters = pl.concat([_clusters(savings), _clusters(second_day, day=DAY + timedelta(days=1))])
    plan = build_schedule(clusters, ScheduleSettings(tests_per_night=capacity, nights=7))
    assert (plan.group_by("day", "night").len()["len"].max() or 0) <= capacity
    assert plan.select("day", "rec_id").is_unique().all()
    assert ((plan["night"] - plan["day"]).dt.total_days().is_between(1, 7)).all()
    planned = plan.filter(pl.col("day") == DAY).height
    assert planned == min(sum(s > 0 for s in savings), 7 * capacity)
