"""The warehouse's promises: atomic, idempotent partition replacement by column name, one writer."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

import polars as pl
import pytest

from chicago_risk.resources.warehouse import WarehouseLockTimeout, WarehouseResource

JAN = [date(2024, 1, d) for d in (1, 2, 3)]


def frame(days, value: float) -> pl.DataFrame:
    return pl.DataFrame({"day": days, "h3_id": ["a"] * len(days), "value": [value] * len(days)})


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    return WarehouseResource(path=str(tmp_path / "warehouse.duckdb"), lock_timeout_s=5)


def test_replacing_a_partition_twice_gives_the_same_rows(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[1], JAN[1])
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[1], JAN[1])
    stored = warehouse.read_table("t").sort("day")
    assert stored["value"].to_list() == [1.0, 2.0, 1.0]


def test_columns_are_inserted_by_name_not_position(warehouse):
    warehouse.replace_partitions("t", frame(JAN[:1], 1.0), JAN[0], JAN[0])
    reordered = frame(JAN[1:2], 7.0).select("value", "h3_id", "day")
    warehouse.replace_partitions("t", reordered, JAN[1], JAN[1])
    assert warehouse.read_partitions("t", JAN[1], JAN[1]).row(0, named=True) == {
        "day": JAN[1], "h3_id": "a", "value": 7.0
    }


def test_a_new_column_is_added_and_old_rows_hold_null(warehouse):
    warehouse.replace_partitions("t", frame(JAN[:1], 1.0), JAN[0], JAN[0])
    warehouse.replace_partitions("t", frame(JAN[1:2], 1.0).with_columns(extra=pl.lit(3)), JAN[1], JAN[1])
    assert warehouse.read_table("t").sort("day")["extra"].to_list() == [None, 3]


def test_rows_outside_the_window_are_refused_and_nothing_changes(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    with pytest.raises(ValueError, match="outside 2024-01-01..2024-01-01"):
        warehouse.replace_partitions("t", frame(JAN[:2], 9.0), JAN[0], JAN[0])
    assert warehouse.read_table("t")["value"].to_list() == [1.0, 1.0, 1.0]


def test_reading_a_table_never_materialized_says_what_to_do(warehouse):
    with pytest.raises(LookupError, match="chicago-risk materialize --select raw_311_requests"):
        warehouse.read_partitions("raw_311_requests", JAN[0], JAN[0])


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    import duckdb, polars as pl
    from chicago_risk.resources.warehouse import replace_partitions

    class StallAtCommit:
        # The real replacement runs its DELETE and INSERT, then the process dies before COMMIT.
        def __init__(self, connection):
            self.connection = connection
        def commit(self):
            open(sys.argv[2], "w").write("deleted and inserted")
            time.sleep(120)
        def __getattr__(self, name):
            return getattr(self.connection, name)

    days = [date(2024, 1, d) for d in (1, 2, 3)]
    new_rows = pl.DataFrame({"day": days * 1000, "h3_id": ["b"] * 3000, "value": [9.0] * 3000})
    replace_partitions(StallAtCommit(duckdb.connect(sys.argv[1])), "t", new_rows, days[0], days[-1])
    """
)


def test_a_process_killed_mid_write_leaves_the_previous_partition_intact(warehouse, tmp_path):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    marker = tmp_path / "reached_commit"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, warehouse.path, str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert writer.poll() is None, "the writer exited before reaching COMMIT"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    stored = warehouse.read_table("t").sort("day")
    assert stored.equals(frame(JAN, 1.0))


def test_a_second_writer_waits_for_the_first_and_times_out_clearly(warehouse):
    impatient = WarehouseResource(path=warehouse.path, lock_timeout_s=0.2)
    with warehouse.connect():
        with pytest.raises(WarehouseLockTimeout, match="another chicago-risk run is writing"):
            with impatient.connect():
                pass
    with impatient.connect() as connection:  # free again once the first writer is done
        assert connection.execute("SELECT 1").fetchall() == [(1,)]
