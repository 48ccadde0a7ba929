"""FilesSource over folders of portal exports written in tmp_path."""

import csv
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from chicago_risk.sources.base import (
    WEATHER_SOURCE_SCHEMA,
    RequestSource,
    SourceUnavailableError,
    WeatherSource,
)
from chicago_risk.sources.files import FilesSource
from chicago_risk.sources.soda import SODA_BOOLEAN_FIELDS, SODA_SCHEMA, SODA_STRING_FIELDS
from chicago_risk_tests.fixtures.servers import RECORDED

TYPES = ("Water On Street Complaint", "Water in Basement Complaint", "Check for Leak")
START, END = date(2021, 1, 1), date(2021, 1, 7)
DATES = ("created_date", "last_modified_date", "closed_date")


def write_api_json(path: Path, rows: list[dict]) -> None:
    path.write_text(json.dumps(rows))


def write_api_csv(path: Path, rows: list[dict]) -> None:
    """The API's CSV: SODA names and timestamps, `location` as text."""
    fields = [*SODA_STRING_FIELDS, "duplicate", "legacy_record", "location"]
    write_csv(path, fields, [{**row, "location": location_text(row)} for row in rows])


def write_portal_csv(path: Path, rows: list[dict]) -> None:
    """The Export button's CSV: upper-case names, US dates, booleans and LOCATION as text."""
    fields = [*SODA_STRING_FIELDS, "duplicate", "legacy_record", "electrical_district", "location"]
    portal = [
        {
            **row,
            **{name: us_date(row[name]) for name in DATES if name in row},
            **{name: str(row[name]).lower() for name in SODA_BOOLEAN_FIELDS if name in row},
            "location": location_text(row),
        }
        for row in rows
    ]
    write_csv(path, [name.upper() for name in fields],
              [{name.upper(): value for name, value in row.items()} for row in portal])


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def us_date(soda: str) -> str:
    try:
        return datetime.strptime(soda, "%Y-%m-%dT%H:%M:%S.%f").strftime("%m/%d/%Y %I:%M:%S %p")
    except ValueError:
        return soda  # a malformed value stays malformed


def location_text(row: dict) -> str | None:
    location = row.get("location")
    return location and f"({location['latitude']}, {location['longitude']})"


def source_over(folder: Path, writer, rows: list[dict], name: str) -> FilesSource:
    folder.mkdir(exist_ok=True)
    writer(folder / name, rows)
    return FilesSource(folder=str(folder))


def test_one_source_serves_both_roles(tmp_path):
    source = FilesSource(folder=str(tmp_path))
    assert isinstance(source, RequestSource) and isinstance(source, WeatherSource)


def test_api_json_api_csv_and_portal_csv_exports_give_the_same_rows(tmp_path):
    frames = {
        name: source_over(tmp_path / name, writer, RECORDED, name).fetch_requests(START, END, TYPES)
        for name, writer in [("api.json", write_api_json), ("api.csv", write_api_csv),
                             ("portal.csv", write_portal_csv)]
    }

    api = frames["api.json"]
    assert api["sr_number"].to_list() == [row["sr_number"] for row in RECORDED]
    for frame in frames.values():
        assert frame.schema == pl.Schema(SODA_SCHEMA)
        assert frame.drop(*DATES, "location").equals(api.drop(*DATES, "location"))
        assert frame["location"].struct.unnest().select("latitude", "longitude").equals(
            api["location"].struct.unnest().select("latitude", "longitude")
        )
    assert frames["api.csv"].select(DATES).equals(api.select(DATES))
    # Dates stay verbatim in the export's own style; normalisation reads both.
    assert frames["portal.csv"].row(0, named=True)["created_date"] == "01/01/2021 05:59:30 AM"
    assert api.row(0, named=True)["created_date"] == "2021-01-01T05:59:30.000"
    assert frames["portal.csv"]["duplicate"].to_list() == [False, False, True]
    assert frames["portal.csv"]["closed_date"][1] is None  # an empty cell is a null


def test_rows_kept_by_type_and_created_day_in_either_format_and_unparseable_days(tmp_path):
    base = RECORDED[0]

    def row(sr_number, created, sr_type=base["sr_type"]):
        return {**base, "sr_number": sr_number, "created_date": created, "sr_type": sr_type}

    write_api_json(tmp_path / "api.json", [
        row("in", "2021-01-01T00:00:00.000"),
        row("after", "2021-01-08T00:00:00.000"),
        row("garbage", "yesterday-ish"),
        {key: value for key, value in row("no_date", "").items() if key != "created_date"},
        row("other_type", "2021-01-02T00:00:00.000", "Pothole in Street Complaint"),
        row("other_type_garbage", "garbage", "Pothole in Street Complaint"),
    ])
    write_portal_csv(tmp_path / "portal.csv", [
        row("last_second", "2021-01-07T23:59:59.000"),
        row("before", "2020-12-31T23:59:59.000"),
        {**row("malformed", "2021-01-03T12:00:00.000"), "latitude": "4l.88",
         "location": {"latitude": "4l.88", "longitude": "-87.63"}},
    ])

    frame = FilesSource(folder=str(tmp_path)).fetch_requests(START, END, TYPES)

    assert sorted(frame["sr_number"]) == ["garbage", "in", "last_second", "malformed", "no_date"]
    kept = {r["sr_number"]: r for r in frame.iter_rows(named=True)}
    assert kept["garbage"]["created_date"] == "yesterday-ish"
    assert kept["no_date"]["created_date"] is None
    assert kept["last_second"]["created_date"] == "01/07/2021 11:59:59 PM"
    assert kept["malformed"]["latitude"] == "4l.88"
    assert kept["malformed"]["location"]["latitude"] == "4l.88"


def test_the_days_held_run_from_the_first_to_the_last_created_day_of_any_export(tmp_path):
    base = RECORDED[0]
    write_api_json(tmp_path / "api.json", [{**base, "sr_number": "a", "created_date": "2020-03-02T10:00:00.000"},
                                           {**base, "sr_number": "b", "created_date": "garbage"}])
    write_portal_csv(tmp_path / "portal.csv", [{**base, "sr_number": "c", "created_date": "2021-02-28T23:59:59.000"}])

    assert FilesSource(folder=str(tmp_path)).days_held() == (date(2020, 3, 2), date(2021, 2, 28))


def test_the_latest_modified_copy_of_a_request_wins_across_files(tmp_path):
    base = RECORDED[1]
    write_api_json(tmp_path / "a.json", [
        {**base, "sr_number": "SR1", "status": "Completed",
         "last_modified_date": "2021-01-05T08:00:00.000"},
        {**base, "sr_number": "SR2", "status": "Open",
         "last_modified_date": "2021-01-02T08:00:00.000"},
    ])
    write_portal_csv(tmp_path / "b.csv", [
        {**base, "sr_number": "SR1", "status": "Open",
         "last_modified_date": "2021-01-02T08:00:00.000"},
        {**base, "sr_number": "SR2", "status": "Completed",
         "last_modified_date": "2021-01-02T08:00:00.000"},  # a tie: the later file wins
        {**base, "sr_number": None, "status": "one"},
        {**base, "sr_number": None, "status": "two"},
    ])

    frame = FilesSource(folder=str(tmp_path)).fetch_requests(START, END, TYPES)

    assert frame.select("sr_number", "status").rows() == [
        ("SR1", "Completed"), ("SR2", "Completed"), (None, "one"), (None, "two")
    ]


def test_weather_csv_is_read_as_weather_not_as_an_export(tmp_path):
    write_api_json(tmp_path / "api.json", RECORDED)
    (tmp_path / "weather.csv").write_text(
        "day,tmin_c,tmax_c,precip_mm,fc_precip_7d_mm,fc_freeze_days_7d\n"
        "2020-12-31,-9,-2,0,,\n"
        "2021-01-01,-5.5,1.5,3.2,12.5,4\n"
        "2021-01-02,-3,2,0,,\n"
    )
    source = FilesSource(folder=str(tmp_path))

    weather = source.fetch_weather(date(2021, 1, 1), date(2021, 1, 2))

    assert weather.schema == pl.Schema(WEATHER_SOURCE_SCHEMA)
    assert weather.rows() == [
        (date(2021, 1, 1), -5.5, 1.5, 3.2, 12.5, 4.0),
        (date(2021, 1, 2), -3.0, 2.0, 0.0, None, None),
    ]
    assert source.fetch_requests(START, END, TYPES).height == len(RECORDED)


def test_weather_without_forecast_columns_has_null_forecasts(tmp_path):
    (tmp_path / "weather.csv").write_text("day,tmin_c,tmax_c,precip_mm\n2021-01-01,-5,1,0.4\n")

    weather = FilesSource(folder=str(tmp_path)).fetch_weather(START, START)

    assert weather.rows() == [(START, -5.0, 1.0, 0.4, None, None)]


@pytest.mark.parametrize("lines", [["2021-01-01,-5,1,0"], ["2021-01-01,-5,1,0", "2021-01-02,-5,,0"]])
def test_a_day_missing_from_the_weather_file_has_null_observations(tmp_path, lines):
    """weather_daily fills and flags it; the source only says what the file holds."""
    (tmp_path / "weather.csv").write_text("\n".join(["day,tmin_c,tmax_c,precip_mm", *lines]))

    weather = FilesSource(folder=str(tmp_path)).fetch_weather(date(2021, 1, 1), date(2021, 1, 2))

    assert weather["day"].to_list() == [date(2021, 1, 1), date(2021, 1, 2)]
    assert weather.row(0)[:4] == (date(2021, 1, 1), -5.0, 1.0, 0.0)
    assert weather.row(1)[2] is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["2021-01-01,-5,1,0", "2021-01-01,-4,1,0", "2021-01-02,-5,1,0"],
         "more than one row for 2021-01-01"),
        (["2021-01-01,-5,1,0", "2021-01-02,cold,1,0"], "Cannot read"),
    ],
)
def test_weather_repeats_and_bad_values_are_errors(tmp_path, lines, message):
    (tmp_path / "weather.csv").write_text("\n".join(["day,tmin_c,tmax_c,precip_mm", *lines]))

    with pytest.raises(SourceUnavailableError, match=message):
        FilesSource(folder=str(tmp_path)).fetch_weather(date(2021, 1, 1), date(2021, 1, 2))


def test_a_missing_folder_says_which_path_and_setting(tmp_path):
    source = FilesSource(folder=str(tmp_path / "nowhere"))

    for fetch in (lambda: source.fetch_requests(START, END, TYPES),
                  lambda: source.fetch_weather(START, END)):
        with pytest.raises(SourceUnavailableError, match=r"nowhere.*CHICAGO_RISK_FILES_DIR"):
            fetch()


def test_a_folder_without_exports_or_weather_says_so(tmp_path):
    (tmp_path / "weather.csv").write_text("day,tmin_c,tmax_c,precip_mm\n")
    (tmp_path / "notes.txt").write_text("not an export")
    source = FilesSource(folder=str(tmp_path))

    with pytest.raises(SourceUnavailableError, match=r"No 311 export.*CHICAGO_RISK_FILES_DIR"):
        source.fetch_requests(START, END, TYPES)
    (tmp_path / "weather.csv").unlink()
    with pytest.raises(SourceUnavailableError, match=r"No weather\.csv.*CHICAGO_RISK_FILES_DIR"):
        source.fetch_weather(START, END)


def test_unreadable_exports_are_named(tmp_path):
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(SourceUnavailableError, match=r"broken\.json"):
        FilesSource(folder=str(tmp_path)).fetch_requests(START, END, TYPES)

    (tmp_path / "broken.json").unlink()
    (tmp_path / "other.csv").write_text("ID,NAME\n1,x\n")
    with pytest.raises(SourceUnavailableError, match=r"other\.csv is not a 311 export"):
        FilesSource(folder=str(tmp_path)).fetch_requests(START, END, TYPES)


def test_empty_exports_give_no_rows(tmp_path):
    (tmp_path / "empty.json").write_text("[]")
    write_portal_csv(tmp_path / "header_only.csv", [])

    frame = FilesSource(folder=str(tmp_path)).fetch_requests(START, END, TYPES)

    assert frame.is_empty() and frame.schema == pl.Schema(SODA_SCHEMA)


def test_dataset_info_points_at_the_folder(tmp_path):
    info = FilesSource(folder=str(tmp_path)).dataset_info()

    assert info.url == str(tmp_path.resolve()) and "export" in info.name
