"""An independent city delivered as portal exports, through the command line: history before the
default data start, a window ending on the data's last day, and runs of different windows."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import h3
import numpy as np
import pytest

from chicago_risk.grid import city_cells

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).with_name("chicago-risk")
FIRST, LAST = date(2016, 1, 1), date(2016, 3, 31)  # the exports' days, before the default 2019 start
TYPES = ("Water On Street Complaint", "Water in Basement Complaint")


def export_rows(rng: np.random.Generator) -> list[dict]:
    """About 25 requests a day at random city cells, plus 25 rows whose created date is garbage."""
    cells = city_cells(7)
    rows = []
    for offset in range((LAST - FIRST).days + 1):
        day = FIRST + timedelta(days=offset)
        for i in range(rng.poisson(25)):
            lat, lon = h3.cell_to_latlng(cells[rng.integers(len(cells))])
            rows.append({
                "sr_number": f"SR16-{offset:03d}{i:03d}", "sr_type": TYPES[i % 2], "status": "Completed",
                "created_date": f"{day.isoformat()}T{rng.integers(24):02d}:15:00.000",
                "latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}", "duplicate": False,
            })
    garbage = [{**rows[i], "sr_number": f"SR16-BAD{i:02d}", "created_date": "sometime in 2016"} for i in range(25)]
    return rows + garbage


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("files_city")
    exports = data / "exports"
    exports.mkdir()
    (exports / "v6vf-nfxy.json").write_text(json.dumps(export_rows(np.random.default_rng(16))))
    days = [FIRST - timedelta(days=40) + timedelta(days=i) for i in range(200)]
    (exports / "weather.csv").write_text(
        "day,tmin_c,tmax_c,precip_mm\n" + "".join(f"{d},-2.0,4.0,{(d.day % 5) * 1.5}\n" for d in days)
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHICAGO_RISK_", "DAGSTER_"))},
        "CHICAGO_RISK_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
        "CHICAGO_RISK_SOURCE": "files",
        "CHICAGO_RISK_FILES_DIR": str(exports),
        "CHICAGO_RISK_DATA_START": FIRST.isoformat(),
        "CHICAGO_RISK_H3_RESOLUTION": "7",
    }


def chicago_risk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=600)


INGEST = "raw_311_requests,raw_311_quarantine,raw_311_coverage,weather_daily,cell_day_labels"


def test_a_window_before_the_data_start_is_refused_with_the_setting_to_change(city):
    done = chicago_risk(city, "materialize", "--dry-run", "--start", "2015-12-01", "--end", "2016-01-10")

    assert done.returncode == 2
    assert "before the data's first day, 2016-01-01" in done.stderr and "CHICAGO_RISK_DATA_START" in done.stderr


def test_the_plan_stops_where_the_exports_end_and_labels_wait_for_their_week(city):
    done = chicago_risk(
        city, "materialize", "--dry-run", "--start", "2016-03-20", "--end", "2016-04-10", "--select", INGEST
    )

    assert done.returncode == 0, done.stderr
    assert (
        "raw_311_coverage, raw_311_quarantine, raw_311_requests: 2016-03-20..2016-03-31 (12 partitions)" in done.stdout
    )
    assert "cell_day_labels: 2016-03-20..2016-03-24 (5 partitions)" in done.stdout


def test_history_before_2019_ingests_and_bad_rows_are_stored_once_over_several_windows(city):
    for start, end in (("2016-03-25", "2016-03-31"), ("2016-01-01", "2016-01-07"), ("2016-03-20", "2016-03-31")):
        done = chicago_risk(city, "materialize", "--start", start, "--end", end, "--select", INGEST)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    import duckdb

    with duckdb.connect(str(Path(city["CHICAGO_RISK_DATA_DIR"]) / "warehouse.duckdb"), read_only=True) as db:
        bad = db.execute("SELECT count(*), count(DISTINCT record) FROM raw_311_quarantine "
                         "WHERE reason = 'unparseable_created_date'").fetchone()
        labels = db.execute("SELECT min(day), max(day) FROM cell_day_labels").fetchone()
        raw = db.execute("SELECT min(day), max(day), count(*) FROM raw_311_requests").fetchone()
    assert bad == (25, 25)
    assert labels == (date(2016, 1, 1), date(2016, 3, 24))
    assert raw is not None and raw[:2] == (date(2016, 1, 1), date(2016, 3, 31)) and raw[2] > 20 * 25
