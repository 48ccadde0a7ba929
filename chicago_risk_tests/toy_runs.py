"""Toy assets for the run executor's tests: each sleeps, then appends `name start end` to the
file `$TOY_RUNS_LOG`, so a test sees from any process which runs overlapped."""

import os
import time

import dagster as dg

from chicago_risk.partitions import daily_partitions, single_run

WEEKLY = dg.WeeklyPartitionsDefinition(start_date="2019-01-07", day_offset=1, timezone="America/Chicago")


def _record(name: str, began: float) -> None:
    with open(os.environ["TOY_RUNS_LOG"], "a") as log:
        log.write(f"{name} {began} {time.time()}\n")


def _sleeper(name: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, partitions_def=daily_partitions, backfill_policy=single_run)
    def sleeper() -> dg.MaterializeResult:
        began = time.time()
        time.sleep(1.0)
        _record(name, began)
        return dg.MaterializeResult(metadata={"dagster/row_count": 1})

    return sleeper


left, right = _sleeper("left"), _sleeper("right")


@dg.asset(partitions_def=WEEKLY, backfill_policy=single_run, deps=[left, right])
def after_both() -> dg.MaterializeResult:
    _record("after_both", time.time())
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


@dg.asset(partitions_def=daily_partitions, backfill_policy=single_run)
def broken() -> None:
    raise ValueError("the upstream is down")


@dg.asset(partitions_def=daily_partitions, backfill_policy=single_run, deps=[broken])
def after_broken() -> None:
    _record("after_broken", time.time())


TOY_DEFS = dg.Definitions(assets=[left, right, after_both, broken, after_broken])


def read_log(path) -> dict[str, tuple[float, float]]:
    entries = [line.split() for line in path.read_text().splitlines()] if path.exists() else []
    return {name: (float(began), float(ended)) for name, began, ended in entries}
