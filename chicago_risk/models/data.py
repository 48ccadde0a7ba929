"""Reading the feature store for the models: labelled rows, scoring rows, the demo truth, and
the days the 311 source covers.

Every read checks that the warehouse holds each day it needs, and says which partitions to
materialize when it does not, instead of training on a partial history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import polars as pl

from chicago_risk.features.registry import FEATURE_NAMES
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import materialize_command

FEATURES_TABLE = "cell_day_features"
LABELS_TABLE = "cell_day_labels"
TRUTH_TABLE = "demo_truth"


# The source whose rows say which days are covered (see `chicago_risk.models.coverage`).
class MissingFeatureStoreDataError(RuntimeError):
    """Days the model needs are not in the warehouse."""


def _columns() -> str:
    return ", ".join(f'f."{name}"' for name in ("h3_id", "day", *FEATURE_NAMES))


def require_days(warehouse: WarehouseResource, table: str, first: date, last: date) -> None:
    """Raise unless `table` holds rows for every day first..last."""
    if not warehouse.table_exists(table):
        raise MissingFeatureStoreDataError(
            f"the warehouse has no {table} table: run: {materialize_command([table], first, last)}"
        )
    present = warehouse.query(
        f'SELECT DISTINCT "day" AS day FROM {table} WHERE "day" BETWEEN ? AND ?', [first, last]
    )["day"]
    expected = pl.date_range(first, last, eager=True)
    missing = expected.filter(~expected.is_in(present.implode()))
    if missing.len():
        first_missing, last_missing = cast(date, missing.min()), cast(date, missing.max())
        raise MissingFeatureStoreDataError(
            f"{table} lacks {missing.len()} day(s) between {first_missing} and {last_missing} that "
            f"the model needs; run: {materialize_command([table], first_missing, last_missing)}"
        )


def first_labelled_day(warehouse: WarehouseResource, needed: tuple[date, date] | None = None) -> date:
    """The oldest as-of day with both features and labels; `needed` (the days the caller will
    read) goes into the command printed when the tables do not exist yet."""
    for table in (FEATURES_TABLE, LABELS_TABLE):
        if not warehouse.table_exists(table):
            raise MissingFeatureStoreDataError(
                f"the warehouse has no {table} table yet: run: "
                f"{materialize_command([FEATURES_TABLE, LABELS_TABLE], *(needed or ()))}"
            )
    first = warehouse.query(
        f'SELECT greatest((SELECT min("day") FROM {FEATURES_TABLE}), (SELECT min("day") FROM {LABELS_TABLE})) AS day'
    )["day"][0]
    if first is None:
        raise MissingFeatureStoreDataError("cell_day_features or cell_day_labels is empty")
    return first


def require_labelled_days(warehouse: WarehouseResource, first: date, last: date) -> None:
    """Raise unless the warehouse holds features and labels for every day first..last."""
    for table in (FEATURES_TABLE, LABELS_TABLE):
        require_days(warehouse, table, first, last)


def load_labelled_rows(warehouse: WarehouseResource, first: date, last: date, every_day: bool = True) -> pl.DataFrame:
    """Features joined with labels for as-of days first..last: every day required, or (not
    `every_day`) the days the warehouse holds both for."""
    if every_day:
        require_labelled_days(warehouse, first, last)
    return warehouse.query(
        f"SELECT {_columns()}, l.y_event_7d, l.n_events_7d FROM {FEATURES_TABLE} f "
        f'JOIN {LABELS_TABLE} l ON f.h3_id = l.h3_id AND f."day" = l."day" '
        f'WHERE f."day" BETWEEN ? AND ? ORDER BY f."day", f.h3_id',
        [first, last],
    )


def load_features(warehouse: WarehouseResource, first: date, last: date) -> pl.DataFrame:
    """Scoring rows: features of every cell for days first..last, every day required."""
    require_days(warehouse, FEATURES_TABLE, first, last)
    return warehouse.query(
        f'SELECT {_columns()} FROM {FEATURES_TABLE} f WHERE f."day" BETWEEN ? AND ? ORDER BY f."day", f.h3_id',
        [first, last],
    )


def newest_feature_day(warehouse: WarehouseResource, on_or_before: date) -> date:
    """The newest as-of day of the feature store on or before `on_or_before`."""
    day = None
    if warehouse.table_exists(FEATURES_TABLE):
        day = warehouse.query(
            f'SELECT max("day") AS day FROM {FEATURES_TABLE} WHERE "day" <= ?', [on_or_before]
        )["day"][0]
    if day is None:
        raise MissingFeatureStoreDataError(
            f"{FEATURES_TABLE} holds no day on or before {on_or_before}; run: "
            f"{materialize_command([FEATURES_TABLE], on_or_before, on_or_before)}"
        )
    return day


def sample_features(warehouse: WarehouseResource, first: date, last: date, rows: int) -> pl.DataFrame:
    """Up to `rows` scoring rows of days first..last, every day required, the same rows on every
    call: ordered by a hash of (cell, day), not drawn at random."""
    require_days(warehouse, FEATURES_TABLE, first, last)
    return warehouse.query(
        f'SELECT {_columns()} FROM {FEATURES_TABLE} f WHERE f."day" BETWEEN ? AND ? '
        f'ORDER BY hash(f.h3_id, f."day"), f.h3_id, f."day" LIMIT ?',
        [first, last, rows],
    )


def load_truth(warehouse: WarehouseResource, first: date, last: date) -> pl.DataFrame | None:
    """The demo city's `p_oracle_7d` for first..last when the warehouse has all of it, else None
    (live sources have no truth)."""
    if not warehouse.table_exists(TRUTH_TABLE):
        return None
    truth = warehouse.query(
        f'SELECT h3_id, "day" AS day, p_oracle_7d FROM {TRUTH_TABLE} WHERE "day" BETWEEN ? AND ?', [first, last]
    )
    days = truth["day"].n_unique() if truth.height else 0
    return truth if days == (last - first).days + 1 else None


class SlidingRows:
    """Labelled rows of a sequence of windows moving forward in time (the refits of a backfill),
    each day read from the warehouse once: a window keeps what it shares with the previous one
    and reads only its new days, so two years of weekly cutoffs read about four years of rows
    once, not two years per fit, and hold one window at a time.

    Rows are read `block_days` at a time and kept as those blocks (a window is their
    concatenation, sharing their memory): reading two years at once holds about twice the
    frame while DuckDB hands it over, and filtering the days a window keeps would copy them."""

    def __init__(self, warehouse: WarehouseResource, block_days: int = 91) -> None:
        self.warehouse = warehouse
        self.block_days = block_days
        self.blocks: list[tuple[date, date, pl.DataFrame]] = []

    def window(self, first: date, last: date) -> pl.DataFrame:
        held = [block for block in self.blocks if block[1] >= first and block[0] <= last]
        if not held or held[0][0] > first:
            held = []
        begin = held[-1][1] + timedelta(days=1) if held else first
        if begin <= last:  # checked once for the new days, not once per block
            require_labelled_days(self.warehouse, begin, last)
        self.blocks = held + [
            (start, end, load_labelled_rows(self.warehouse, start, end, every_day=False))
            for start, end in _blocks(begin, last, self.block_days)
        ]
        # Rows are in day order within and across blocks: a window is its blocks in order, the two
        # at its ends cut to its days.
        frames = [days_between(rows, first, last) for _, _, rows in self.blocks]
        return pl.concat(frames, rechunk=False) if frames else load_labelled_rows(self.warehouse, first, last)


def days_between(rows: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """The rows of days first..last of `rows` ordered by day: a slice, sharing their memory."""
    days = rows["day"]
    start = days.search_sorted(first, side="left")
    return rows.slice(start, days.search_sorted(last, side="right") - start)


def _blocks(first: date, last: date, days: int) -> list[tuple[date, date]]:
    """first..last cut into consecutive ranges of at most `days` days."""
    starts = pl.date_range(first, last, interval=f"{days}d", eager=True).to_list() if first <= last else []
    return [(start, min(start + timedelta(days=days - 1), last)) for start in starts]
