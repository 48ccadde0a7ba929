"""Normalisation: every row is accepted with typed fields or quarantined with its reason."""

from datetime import date, datetime

import polars as pl

from chicago_risk.ingest.normalise import QUARANTINE_SCHEMA, RAW_311_SCHEMA, normalise_requests
from chicago_risk.sources.soda import soda_frame

DAY = date(2021, 1, 1)
LOOP = {"latitude": "41.8781", "longitude": "-87.6298"}


def row(sr_number, **fields):
    return {"sr_number": sr_number, "sr_type": "Water On Street Complaint",
            "created_date": "2021-01-01T05:59:30.000", "duplicate": False, **LOOP, **fields}


def split(rows, start=DAY, end=DAY):
    return normalise_requests(soda_frame(rows), start, end, resolution=9)


def test_accepted_rows_get_typed_normalised_fields_and_keep_source_fields():
    accepted, quarantined = split([row("SR21-1", closed_date="2021-01-02T08:00:00.000", status="Completed")])
    assert quarantined.is_empty()
    assert dict(accepted.schema) == RAW_311_SCHEMA
    got = accepted.row(0, named=True)
    assert got["created_at"] == datetime(2021, 1, 1, 5, 59, 30)
    assert got["closed_at"] == datetime(2021, 1, 2, 8)
    assert got["day"] == DAY and got["type_group"] == "street"
    assert got["h3_id"] == "892664c1a8fffff" and got["incident_key"] == "SR21-1"
    assert got["created_date"] == "2021-01-01T05:59:30.000"  # the source's own text is kept


def test_duplicates_point_to_their_parent_incident():
    accepted, _ = split([row("SR21-1"), row("SR21-2", duplicate=True, parent_sr_number="SR21-1"),
                         row("SR21-3", duplicate=True)])
    keys = dict(accepted.select("sr_number", "incident_key").iter_rows())
    assert keys == {"SR21-1": "SR21-1", "SR21-2": "SR21-1", "SR21-3": "SR21-3"}
    flags = dict(accepted.select("sr_number", "quality_flags").iter_rows())
    assert flags["SR21-3"] == ["duplicate_without_parent"] and flags["SR21-1"] == []


def test_portal_export_timestamps_and_location_only_coordinates_are_accepted():
    accepted, quarantined = split([{
        "sr_number": "SR21-9", "sr_type": "No Water Complaint", "created_date": "01/01/2021 05:59:30 PM",
        "location": {"latitude": "41.79", "longitude": "-87.6298", "human_address": "{}"},
    }])
    assert quarantined.is_empty()
    assert accepted["created_at"].to_list() == [datetime(2021, 1, 1, 17, 59, 30)]


def test_each_bad_row_is_quarantined_with_its_reason_and_the_row_as_received():
    bad = {
        "SR21-10": row("SR21-10", latitude=None, longitude=None),
        "SR21-11": row("SR21-11", latitude="4l.88"),
        "SR21-12": row("SR21-12", latitude="42.60"),
        "SR21-13": row("SR21-13", sr_type="Pothole in Street Complaint"),
        "SR21-14": row("SR21-14", created_date="2021-13-45T99:00:00.000"),
        "SR21-15": row("SR21-15", created_date="2021-01-05T10:00:00.000"),
        "SR21-16": row("SR21-16", latitude="91.0"),
    }
    accepted, quarantined = split([row("SR21-1"), *bad.values()])
    assert accepted["sr_number"].to_list() == ["SR21-1"]
    assert dict(quarantined.schema) == QUARANTINE_SCHEMA
    reasons = dict(quarantined.select("sr_number", "reason").iter_rows())
    assert reasons == {
        "SR21-10": "missing_coordinates",
        "SR21-11": "malformed_coordinates",
        "SR21-12": "outside_city",
        "SR21-13": "unknown_sr_type",
        "SR21-14": "unparseable_created_date",
        "SR21-15": "created_outside_requested_window",
        "SR21-16": "malformed_coordinates",
    }
    assert quarantined["day"].unique().to_list() == [DAY]
    record = quarantined.filter(pl.col("sr_number") == "SR21-11")["record"].str.json_decode()[0]
    assert record["latitude"] == "4l.88"


def test_a_request_fetched_twice_keeps_its_latest_version_and_quarantines_the_other():
    old = row("SR21-1", status="Open", last_modified_date="2021-01-01T06:00:00.000")
    new = row("SR21-1", status="Completed", last_modified_date="2021-01-02T06:00:00.000")
    accepted, quarantined = split([old, new])
    assert accepted["status"].to_list() == ["Completed"]
    assert quarantined["reason"].to_list() == ["repeated_sr_number"]


def test_row_counts_are_conserved():
    rows = [row(f"SR21-{i}", latitude=None if i % 3 == 0 else "41.8781") for i in range(30)]
    accepted, quarantined = split(rows)
    assert accepted.height + quarantined.height == 30 and quarantined.height == 10
