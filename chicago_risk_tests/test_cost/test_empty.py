"""Zero rows in, zero rows out, with the schema: an empty day costs, clusters and plans nothing
(issue 12: a day with no cell in a band must not crash the graph)."""

from datetime import date, datetime

import polars as pl

from chicago_risk.config.cost import COST_SETTINGS
from chicago_risk.cost.clusters import find_clusters, members_connected
from chicago_risk.cost.costs import cost_layer_frame, cost_layer_schema
from chicago_risk.cost.history import first_reports, history_window, severity_as_of
from chicago_risk.cost.pressure import recent_low_pressure
from chicago_risk.cost.recommendations import RECOMMENDATIONS_SCHEMA, build_recommendations
from chicago_risk.cost.schedule import SCHEDULE_SCHEMA, build_schedule
from chicago_risk.cost.severity import cell_severity
from chicago_risk.models.predict import PREDICTIONS_SCHEMA
from chicago_risk_tests.fixtures import demo_inputs

DAY = date(2024, 6, 3)


def test_an_empty_day_costs_nothing_and_keeps_the_schema():
    raw = demo_inputs.raw_requests(history_window(DAY, DAY, COST_SETTINGS)[0], DAY, datetime(2024, 6, 4))
    predictions = pl.DataFrame(schema=PREDICTIONS_SCHEMA).with_columns(severity_as_of=severity_as_of(pl.col("day")))
    probabilities, shares = cell_severity(
        raw, predictions.select(pl.col("severity_as_of").alias("as_of"), "h3_id"), COST_SETTINGS
    )
    assert probabilities.is_empty() and shares.is_empty()
    low_pressure = recent_low_pressure(first_reports(raw), predictions, COST_SETTINGS.pressure)
    costs = cost_layer_frame(predictions, probabilities, low_pressure, COST_SETTINGS)
    assert costs.is_empty() and costs.schema == pl.Schema(cost_layer_schema(COST_SETTINGS))
    drivers = predictions.select("h3_id", "day", "drivers")
    clusters = build_recommendations(costs, drivers, demo_inputs.RESOLUTION, COST_SETTINGS)
    assert clusters.is_empty() and clusters.schema == pl.Schema(RECOMMENDATIONS_SCHEMA)
    schedule = build_schedule(clusters, COST_SETTINGS.schedule)
    assert schedule.is_empty() and schedule.schema == pl.Schema(SCHEDULE_SCHEMA)


def test_clustering_no_cell_gives_no_cluster():
    nothing = pl.DataFrame(schema={"day": pl.Date, "h3_id": pl.String})
    assert find_clusters(nothing, demo_inputs.RESOLUTION, COST_SETTINGS.clusters.max_cells).is_empty()
    members = nothing.with_columns(rec_id=pl.lit(None, dtype=pl.String))
    assert members_connected(members, demo_inputs.RESOLUTION).is_empty()
