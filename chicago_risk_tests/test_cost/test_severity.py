"""Severity from 311 history: classes by repeats and time to close, point in time, shrunk mixes."""

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from chicago_risk.config.cost import COST_SETTINGS
from chicago_risk.cost.history import HISTORY_COLUMNS, history_window
from chicago_risk.cost.severity import cell_class_probabilities, classify_incidents, group_class_shares

AS_OF = date(2024, 6, 3)  # a Monday
MAIN = "Check for Leak"  # type group "main", configured median 96 h


def _request(number, day, hours_to_close, sr_type=MAIN, group="main", cell="cellA", status="Completed", parent=None):
    created = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
    return {
        "sr_number": number,
        "sr_type": sr_type,
        "type_group": group,
        "status": status,
        "created_at": created,
        "closed_at": None if hours_to_close is None else created + timedelta(hours=hours_to_close),
        "day": day,
        "h3_id": cell,
        "incident_key": parent or number,
    }


def _history(rows):
    return pl.DataFrame(rows, schema={
        "sr_number": pl.String, "sr_type": pl.String, "type_group": pl.String, "status": pl.String,
        "created_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"), "day": pl.Date, "h3_id": pl.String,
        "incident_key": pl.String,
    }).select(HISTORY_COLUMNS)


def _classes(rows, as_of=AS_OF):
    classified = classify_incidents(_history(rows), pl.Series([as_of]), COST_SETTINGS)
    return dict(classified.select("incident_key", "severity_class").iter_rows())


def test_repeats_and_time_to_close_set_the_class():
    old = AS_OF - timedelta(days=60)
    rows = [_request(f"SR{i}", old, 96.0) for i in range(30)]  # 30 typical requests: median 96 h
    rows += [
        _request("ONE_REPEAT", old, 10.0), _request("R1", old, 1.0, parent="ONE_REPEAT"),
        _request("TWO_REPEATS", old, 10.0), _request("R2", old, 1.0, parent="TWO_REPEATS"),
        _request("R3", old, 1.0, parent="TWO_REPEATS"),
        _request("SLOW", old, 96.0 * 2), _request("VERY_SLOW", old, 96.0 * 5),
        _request("CANCELLED_SLOWLY", old, 96.0 * 5, status="Canceled"),
    ]
    classes = _classes(rows)
    assert classes["SR0"] == 0
    assert classes["ONE_REPEAT"] == 1 and classes["TWO_REPEATS"] == 2
    assert classes["SLOW"] == 1 and classes["VERY_SLOW"] == 2
    assert classes["CANCELLED_SLOWLY"] == 0  # nothing was repaired
    assert "R1" not in classes  # a repeat report is evidence about its incident, not an incident


def test_only_what_was_known_at_the_as_of_day_counts():
    created = AS_OF - timedelta(days=20)
    later = (datetime.combine(AS_OF, datetime.min.time()) - datetime.combine(created, datetime.min.time()))
    rows = [_request(f"SR{i}", created, 96.0) for i in range(30)] + [
        # closed long after the as-of day: at the as-of day it had been open ~20 days (5x median)
        _request("CLOSED_LATER", created, later.total_seconds() / 3600 + 24 * 30),
        # its repeats: one filed by the as-of day, one after it
        _request("FUTURE_REPEAT", created, 10.0),
        _request("RP", created + timedelta(days=5), 1.0, parent="FUTURE_REPEAT"),
        _request("RF", AS_OF + timedelta(days=1), 1.0, parent="FUTURE_REPEAT"),
        # too young to be evidence, and reported after the as-of day
        _request("YOUNG", AS_OF - timedelta(days=3), 96.0), _request("FUTURE", AS_OF + timedelta(days=2), 96.0),
    ]
    classes = _classes(rows)
    assert classes["CLOSED_LATER"] == 2  # censored at the end of the as-of day, not at its closure
    assert classes["FUTURE_REPEAT"] == 1  # one repeat by the as-of day, not two
    assert "YOUNG" not in classes and "FUTURE" not in classes


def test_group_shares_are_shrunk_toward_the_prior():
    old = AS_OF - timedelta(days=60)
    rows = [_request(f"SR{i}", old, 96.0) for i in range(50)]  # 50 minor main incidents
    classified = classify_incidents(_history(rows), pl.Series([AS_OF]), COST_SETTINGS)
    shares = group_class_shares(classified, pl.Series([AS_OF]), COST_SETTINGS)
    main = shares.filter(pl.col("type_group") == "main").row(0, named=True)
    prior, weight = COST_SETTINGS.severity.prior_mix, COST_SETTINGS.severity.prior_incidents
    assert main["incidents"] == 50
    assert main["share_minor"] == pytest.approx((50 + weight * prior[0]) / (50 + weight))
    assert main["share_major"] == pytest.approx(weight * prior[2] / (50 + weight))
    sewer = shares.filter(pl.col("type_group") == "sewer").row(0, named=True)
    assert (sewer["share_minor"], sewer["share_moderate"], sewer["share_major"]) == pytest.approx(prior)


def test_a_cell_of_hydrant_incidents_is_more_pressure_sensitive_than_a_cell_of_sewer_ones():
    old = AS_OF - timedelta(days=60)
    rows = [_request(f"H{i}", old, 8.0, sr_type="Open Fire Hydrant Complaint", group="hydrant", cell="hydrants")
            for i in range(10)]
    rows += [_request(f"S{i}", old, 150.0, sr_type="Sewer Cleaning Inspection Request", group="sewer", cell="sewers")
             for i in range(10)]
    history = _history(rows)
    shares = group_class_shares(classify_incidents(history, pl.Series([AS_OF]), COST_SETTINGS), pl.Series([AS_OF]),
                                COST_SETTINGS)
    cells = pl.DataFrame({"as_of": [AS_OF] * 3, "h3_id": ["hydrants", "sewers", "quiet"]})
    q = cell_class_probabilities(history, cells, shares, COST_SETTINGS).sort("h3_id")
    by_cell = {r["h3_id"]: r for r in q.iter_rows(named=True)}
    names = COST_SETTINGS.class_names
    for row in by_cell.values():
        assert sum(row[f"q_{n}"] for n in names) == pytest.approx(1.0)
    pressure = {cell: sum(row[f"qp_{n}"] for n in names) for cell, row in by_cell.items()}
    # city mix 50/50 hydrant/sewer, cell mix shrunk by 5 incidents: (10 + 5 * 0.5) / 15
    assert pressure["hydrants"] == pytest.approx(12.5 / 15)
    assert pressure["sewers"] == pytest.approx(2.5 / 15)
    assert pressure["quiet"] == pytest.approx(0.5)  # no history: the city's mix


def test_history_window_starts_a_year_before_the_first_monday():
    first, last = history_window(date(2024, 6, 1), date(2024, 6, 30), COST_SETTINGS)  # a Saturday
    assert first == date(2024, 5, 27) - timedelta(days=364) and last == date(2024, 6, 30)
    assert history_window(date(2019, 3, 1), date(2019, 3, 1), COST_SETTINGS)[0] == date(2019, 1, 1)
