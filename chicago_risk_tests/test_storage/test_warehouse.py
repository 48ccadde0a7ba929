"""The warehouse's promises, kept by every storage (the DuckDB file, Delta tables in a local folder,
Delta tables on an S3 server): atomic, idempotent partition replacement by column name, writers
that never lose each other's days, clear errors."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date

import polars as pl
import pyarrow.fs as pafs
import pytest

from chicago_risk.storage.delta_tables import filesystem
from chicago_risk.storage.delta_warehouse import DeltaWarehouse
from chicago_risk.storage.locks import exclusive_lock
from chicago_risk.storage.warehouse import WarehouseLockTimeout, WarehouseResource

JAN = [date(2024, 1, d) for d in (1, 2, 3)]
STORAGES = ["duckdb", "delta", "s3"]


def frame(days, value: float) -> pl.DataFrame:
    return pl.DataFrame({"day": days, "h3_id": ["a"] * len(days), "value": [value] * len(days)})


def open_warehouse(storage: str, folder, s3_server=None, lock_timeout_s: float = 5) -> WarehouseResource:
    if storage == "s3":
        url = f"s3://{s3_server.new_bucket()}/warehouse"
        return WarehouseResource(storage="delta", url=url, object_store=s3_server.object_store())
    if storage == "delta":
        return WarehouseResource(storage="delta", url=str(folder / "warehouse"))
    return WarehouseResource(path=str(folder / "warehouse.duckdb"), lock_timeout_s=lock_timeout_s)


@pytest.fixture(params=STORAGES)
def warehouse(request, tmp_path) -> WarehouseResource:
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    return open_warehouse(request.param, tmp_path, server)


def test_replacing_a_partition_twice_gives_the_same_rows(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[1], JAN[1])
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[1], JAN[1])
    stored = warehouse.read_table("t").sort("day")
    assert stored["value"].to_list() == [1.0, 2.0, 1.0]


def test_a_day_the_new_rows_leave_out_is_emptied(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[0], JAN[-1])
    assert warehouse.read_table("t").rows() == [(JAN[1], "a", 2.0)]


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
    # A window of old days alone still has the new column.
    assert warehouse.read_partitions("t", JAN[0], JAN[0]).columns == ["day", "h3_id", "value", "extra"]


def test_rows_outside_the_window_are_refused_and_nothing_changes(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    with pytest.raises(ValueError, match=r"outside 2024-01-01\.\.2024-01-01"):
        warehouse.replace_partitions("t", frame(JAN[:2], 9.0), JAN[0], JAN[0])
    with pytest.raises(ValueError, match="outside"):  # a row without a day belongs to no window
        warehouse.replace_partitions("t", frame([JAN[0], None], 9.0), JAN[0], JAN[0])
    assert warehouse.read_table("t")["value"].to_list() == [1.0, 1.0, 1.0]


def test_an_empty_window_still_creates_the_table_with_its_columns(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0).clear(), JAN[0], JAN[-1])
    assert warehouse.table_exists("t")
    empty = warehouse.read_partitions("t", JAN[0], JAN[-1])
    assert empty.height == 0 and empty.columns == ["day", "h3_id", "value"]


def test_a_table_written_whole_keeps_its_rows_outside_a_replaced_window(warehouse):
    warehouse.replace_table("t", frame(JAN, 1.0))
    warehouse.replace_partitions("t", frame(JAN[1:2], 2.0), JAN[1], JAN[1])
    assert warehouse.read_table("t").sort("day")["value"].to_list() == [1.0, 2.0, 1.0]
    warehouse.replace_table("t", frame(JAN[:1], 3.0))  # whole again: the old days are gone
    assert warehouse.read_table("t").rows() == [(JAN[0], "a", 3.0)]


def test_sql_joins_tables_by_name_with_parameters(warehouse):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    warehouse.replace_table("cells", pl.DataFrame({"h3_id": ["a"], "ward": [7]}))
    joined = warehouse.query(
        'SELECT t."day", c.ward FROM t JOIN "cells" c USING (h3_id) WHERE t."day" >= ? ORDER BY 1', [JAN[1]]
    )
    assert joined.rows() == [(JAN[1], 7), (JAN[2], 7)]


def test_reading_a_table_never_materialized_says_what_to_do(warehouse):
    assert not warehouse.table_exists("raw_311_requests")
    command = f"run: chicago-risk materialize --start {JAN[0]} --end {JAN[0]} --select raw_311_requests$"
    with pytest.raises(LookupError, match=command):
        warehouse.read_partitions("raw_311_requests", JAN[0], JAN[0])


def test_concurrent_writers_of_one_table_never_lose_each_others_days(warehouse):
    days = [date(2024, 2, d) for d in range(1, 13)]
    writers = [
        threading.Thread(target=lambda mine=mine: [
            warehouse.replace_partitions("t", frame([d], 1.0), d, d) for d in mine
        ])
        for mine in (days[0::2], days[1::2])
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert sorted(warehouse.read_table("t")["day"].to_list()) == days


def test_appending_writers_keep_every_row_by_column_name(warehouse):
    """A log (the model aliases) is appended to, never rewritten: writers at once keep all rows."""
    warehouse.append("log", pl.DataFrame({"writer": [0], "note": ["first"]}))
    writers = [
        threading.Thread(target=lambda i=i: [
            warehouse.append("log", pl.DataFrame({"note": [f"{i}-{n}"], "writer": [i]})) for n in range(3)
        ])
        for i in (1, 2)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    warehouse.append("log", pl.DataFrame({"writer": [3], "note": ["last"], "extra": [1.5]}))
    stored = warehouse.read_table("log").sort("writer", "note")
    assert stored.columns == ["writer", "note", "extra"]
    assert stored.rows() == [
        (0, "first", None), *[(i, f"{i}-{n}", None) for i in (1, 2) for n in range(3)], (3, "last", 1.5)
    ]


def test_concurrent_writers_of_the_same_days_leave_one_whole_window(warehouse):
    """Conflicting commits: the loser is redone on the winner's snapshot, never merged into it."""
    def rewrite(generation: float) -> None:
        for _ in range(4):
            warehouse.replace_partitions("t", frame(JAN * 50, generation), JAN[0], JAN[-1])

    writers = [threading.Thread(target=rewrite, args=(float(g),)) for g in (1, 2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stored = warehouse.read_table("t")
    assert stored.height == 150 and stored["value"].n_unique() == 1


def test_a_reader_racing_a_writer_always_reads_one_whole_window(warehouse):
    rows = 2_000  # per day
    def window(generation: int) -> pl.DataFrame:
        return frame(JAN * rows, float(generation))

    warehouse.replace_partitions("t", window(1), JAN[0], JAN[-1])
    writer = threading.Thread(target=lambda: [
        warehouse.replace_partitions("t", window(g), JAN[0], JAN[-1]) for g in range(2, 16)
    ])
    writer.start()
    seen = set()
    while writer.is_alive():
        stored = warehouse.read_partitions("t", JAN[0], JAN[-1])
        assert stored.height == 3 * rows and stored["value"].n_unique() == 1
        seen.add(stored["value"][0])
    writer.join()
    assert warehouse.read_table("t")["value"].unique().to_list() == [15.0]
    if warehouse.storage == "delta":  # the DuckDB file's readers queue behind the writer instead
        assert len(seen) >= 2, "readers take no lock: they read while the writer replaced the window"


KILLED_PREAMBLE = """
    import sys, time
    from datetime import date
    import polars as pl

    days = [date(2024, 1, d) for d in (1, 2, 3)]
    new_rows = pl.DataFrame({"day": days * ROWS, "h3_id": ["b"] * 3 * ROWS, "value": [9.0] * 3 * ROWS})
"""
# The DuckDB file: the real replacement runs its DELETE and INSERT, then the process dies before
# COMMIT (it says so in the marker file).
DUCKDB_WRITER = """
    import duckdb
    from chicago_risk.storage.duckdb_file import replace_partitions

    class StallAtCommit:
        def __init__(self, connection):
            self.connection = connection
        def commit(self):
            open(sys.argv[2], "w").write("deleted and inserted")
            time.sleep(120)
        def __getattr__(self, name):
            return getattr(self.connection, name)

    replace_partitions(StallAtCommit(duckdb.connect(sys.argv[1])), "t", new_rows, days[0], days[-1])
"""
# Delta: delta-rs writes the window's Parquet files, then commits; the test kills the process as
# soon as a new data file exists and no new commit does.
DELTA_WRITER = """
    import json
    from chicago_risk.storage.warehouse import WarehouseResource

    WarehouseResource(storage="delta", url=sys.argv[1], object_store=json.loads(sys.argv[2])).replace_partitions(
        "t", new_rows, days[0], days[-1]
    )
"""


def _files(warehouse: WarehouseResource) -> list[str]:
    backend = warehouse._backend()
    assert isinstance(backend, DeltaWarehouse)
    listing = filesystem(backend.root, backend.storage_options).get_file_info(pafs.FileSelector("t", recursive=True))
    return [info.path for info in listing if info.type == pafs.FileType.File]


def test_a_process_killed_mid_write_leaves_the_previous_partition_intact(warehouse, tmp_path):
    warehouse.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    if warehouse.storage == "duckdb":
        marker = tmp_path / "reached_the_last_step"
        script, arguments, ROWS = DUCKDB_WRITER, [warehouse.location, str(marker)], 1_000
        reached = marker.exists
    else:
        before = set(_files(warehouse))
        script, arguments, ROWS = (
            DELTA_WRITER,
            [warehouse.location, json.dumps(warehouse.object_store.model_dump())],
            1_500_000,
        )

        def reached() -> bool:
            new = set(_files(warehouse)) - before
            assert not any("_delta_log/" in path and path.endswith(".json") for path in new), (
                "committed before the kill"
            )
            return any(path.endswith(".parquet") for path in new)

    source = textwrap.dedent(KILLED_PREAMBLE).replace("ROWS", str(ROWS)) + textwrap.dedent(script)
    writer = subprocess.Popen([sys.executable, "-c", source, *arguments])
    try:
        deadline = time.monotonic() + 60
        while not reached():
            assert writer.poll() is None, "the writer exited before its last step"
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    stored = warehouse.read_table("t").sort("day")
    assert stored.equals(frame(JAN, 1.0))
    warehouse.replace_partitions("t", frame(JAN[:1], 2.0), JAN[0], JAN[0])  # and writes go on
    assert warehouse.read_table("t").sort("day")["value"].to_list() == [2.0, 1.0, 1.0]


def test_a_second_duckdb_writer_waits_for_the_first_and_times_out_clearly(tmp_path):
    warehouse = open_warehouse("duckdb", tmp_path)
    impatient = warehouse.model_copy(update={"lock_timeout_s": 0.2})
    with warehouse.connect(), pytest.raises(WarehouseLockTimeout, match="another chicago-risk run is writing"):
        impatient.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])
    impatient.replace_partitions("t", frame(JAN, 1.0), JAN[0], JAN[-1])  # free again once the first is done
    assert warehouse.read_table("t").height == 3


def test_a_duckdb_read_larger_than_the_memory_limit_spills_instead_of_failing(tmp_path):
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"), memory_limit="64MB")
    days = pl.date_range(date(2020, 1, 1), date(2024, 12, 31), eager=True)
    rows = pl.DataFrame({"day": days}).join(
        pl.DataFrame({"h3_id": [f"cell-{i:04d}" for i in range(1500)]}), how="cross"
    )
    warehouse.replace_partitions("wide", rows.with_columns(value=pl.int_range(pl.len())), days[0], days[-1])
    ordered = warehouse.query('SELECT * FROM wide ORDER BY h3_id DESC, "day"')  # ~2.7 M rows: over 64 MB sorted
    assert ordered.height == rows.height and ordered["h3_id"][0] == "cell-1499"


def test_a_waiter_gets_the_file_lock_from_a_holder_that_asks_again_at_once(tmp_path):
    """A reader taking the DuckDB file's lock again the moment it lets go never starves a waiting
    writer: the writer queues at the gate and gets the lock within its wait."""
    lock = tmp_path / "warehouse.duckdb.lock"
    stop = threading.Event()

    def greedy_reader() -> None:
        while not stop.is_set():
            with exclusive_lock(lock, timeout_s=5):
                time.sleep(0.02)

    reader = threading.Thread(target=greedy_reader)
    reader.start()
    try:
        time.sleep(0.1)
        for _ in range(5):
            with exclusive_lock(lock, timeout_s=2):
                pass
    finally:
        stop.set()
        reader.join()
