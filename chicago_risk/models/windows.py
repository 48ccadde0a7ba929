"""Which labelled days a model for training cutoff C may see, and what each is used for.

A row of as-of day t carries the label of days t+1..t+7, known at the end of t+7. A model trained
at cutoff C (the start of day C) may therefore use rows with t <= C - 8 only: `last_labelled_day`.

Of the days up to there, the calibration slice takes `blocks` blocks of whole days spread evenly
over the last year (so it covers every season the model will serve), and training takes the rest,
minus a purge of the label horizon on each side of every block: no training row's label window
touches a calibration row's as-of day or label window, and vice versa.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import polars as pl

from chicago_risk.config import LABEL_HORIZON_DAYS, CalibrationSettings, TrainingSettings
from chicago_risk.models.data import days_between
from chicago_risk.partitions import DATA_FIRST_DAY

TRAIN, CALIBRATION = "train", "calibration"


class InsufficientHistoryError(RuntimeError):
    """Too few labelled days before the cutoff to train and calibrate a model."""


def last_labelled_day(cutoff: date) -> date:
    """The newest as-of day whose whole label window ends before `cutoff`."""
    return cutoff - timedelta(days=LABEL_HORIZON_DAYS + 1)


@dataclass(frozen=True)
class TrainingWindow:
    cutoff: date
    first_day: date  # the oldest labelled day read
    last_day: date  # last_labelled_day(cutoff)
    calibration_blocks: tuple[tuple[date, date], ...]  # newest first, inclusive
    purge_days: int

    def _days(self) -> pl.Series:
        return pl.date_range(self.first_day, self.last_day, eager=True).alias("day")

    def roles(self) -> pl.DataFrame:
        """One row per day first_day..last_day: its `role`, train, calibration or null (purged)."""
        day = pl.col("day")
        in_block = pl.lit(False)
        purged = pl.lit(False)
        gap = timedelta(days=self.purge_days)
        for start, end in self.calibration_blocks:
            in_block = in_block | day.is_between(start, end)
            purged = purged | day.is_between(start - gap, end + gap)
        return self._days().to_frame().with_columns(
            role=pl.when(in_block).then(pl.lit(CALIBRATION)).when(purged).then(None).otherwise(pl.lit(TRAIN))
        )

    def days(self, role: str) -> pl.Series:
        return self.roles().filter(pl.col("role") == role)["day"]

    def split(self, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(training rows, calibration rows) of labelled rows; other days are dropped.

        Rows ordered by day (as the feature store reads them) are cut into slices of each role's
        runs of consecutive days, which share the rows' memory: a filtered copy of two years of the
        city would add 0.6 GB to every fit. Other rows are filtered, in their own order."""
        if not rows["day"].is_sorted():
            train, calibration = (
                rows.filter(pl.col("day").is_in(self.days(role).implode())) for role in (TRAIN, CALIBRATION)
            )
            return train, calibration
        runs = (
            self.roles()
            .group_by(pl.col("role").rle_id().alias("run"), maintain_order=True)
            .agg(pl.col("role").first(), first=pl.col("day").min(), last=pl.col("day").max())
        )

        def rows_of(role: str) -> pl.DataFrame:
            bounds = runs.filter(pl.col("role") == role).select("first", "last").iter_rows()
            return pl.concat([rows.head(0), *(days_between(rows, *run) for run in bounds)], rechunk=False)

        return rows_of(TRAIN), rows_of(CALIBRATION)

    def describe(self) -> dict:
        """The window as JSON-ready facts, for the registry and the model card."""
        roles = self.roles()
        train = roles.filter(pl.col("role") == TRAIN)["day"]
        calibration = roles.filter(pl.col("role") == CALIBRATION)["day"]
        return {
            "cutoff": self.cutoff.isoformat(),
            "first_day": self.first_day.isoformat(),
            "last_labelled_day": self.last_day.isoformat(),
            "training_days": train.len(),
            "training_first_day": cast(date, train.min()).isoformat(),
            "training_last_day": cast(date, train.max()).isoformat(),
            "calibration_days": calibration.len(),
            "calibration_blocks": [[s.isoformat(), e.isoformat()] for s, e in self.calibration_blocks],
            "calibration_months": sorted(set(calibration.dt.month().to_list())),
            "purge_days": self.purge_days,
            "purged_days": roles["role"].null_count(),
        }


def plan_window(
    cutoff: date,
    first_available: date,
    training: TrainingSettings,
    calibration: CalibrationSettings,
) -> TrainingWindow:
    """The window of a model trained at `cutoff` on labelled days from `first_available` on."""
    last = last_labelled_day(cutoff)
    first = max(first_available, last - timedelta(days=training.training_days - 1))
    spacing = calibration.span_days // calibration.blocks
    blocks = []
    for index in range(calibration.blocks):
        end = last - timedelta(days=index * spacing)
        start = end - timedelta(days=calibration.block_days - 1)
        if start >= first:
            blocks.append((start, end))
    if not blocks:
        raise InsufficientHistoryError(
            f"cutoff {cutoff}: labelled days {first}..{last} leave no room for a "
            f"{calibration.block_days}-day calibration block"
        )
    window = TrainingWindow(cutoff, first, last, tuple(blocks), calibration.purge_days)
    training_days = window.days(TRAIN).len()
    if training_days < training.min_training_days:
        raise InsufficientHistoryError(
            f"cutoff {cutoff}: labelled days {first}..{last} leave {training_days} training days "
            f"after the calibration slice and its purges; at least {training.min_training_days} "
            "are needed"
        )
    return window


def first_trainable_cutoff(first_available: date, training: TrainingSettings, calibration: CalibrationSettings) -> date:
    """The first Monday whose model can be trained on labelled days from `first_available` on
    (a later cutoff only adds labelled days, so the first one found by bisection is the first)."""
    monday = first_available + timedelta(days=-first_available.weekday() % 7)
    # Past the longest window, every calibration block and the training days fit.
    weeks = (LABEL_HORIZON_DAYS + training.training_days + calibration.span_days) // 7 + 2

    def trainable(week: int) -> bool:
        try:
            plan_window(monday + timedelta(weeks=week), first_available, training, calibration)
        except InsufficientHistoryError:
            return False
        return True

    return monday + timedelta(weeks=bisect.bisect_left(range(weeks), True, key=trainable))


def labelled_days_read(first_cutoff: date, last_day: date, training: TrainingSettings) -> tuple[date, date]:
    """The labelled days that models from `first_cutoff` on read, at most, up to `last_day`: a
    refit's window starts up to `refit_months` months before its first cutoff (from the data's first day)."""
    first_fit = first_cutoff
    if training.refit_months:
        first_fit = refit_anchor(first_cutoff - timedelta(days=first_cutoff.weekday()), training.refit_months)
    return max(DATA_FIRST_DAY, last_labelled_day(first_fit) - timedelta(days=training.training_days - 1)), last_day


def refit_anchor(monday: date, months: int) -> date:
    """The first Monday of the newest month on or before `monday`'s whose number since January
    of year 0 is a multiple of `months` (every month for 1; January, April, July, October for 3)."""
    index = monday.year * 12 + monday.month - 1
    index -= index % months
    first = date(index // 12, index % 12 + 1, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def fit_cutoff(day: date, first_available: date, training: TrainingSettings, calibration: CalibrationSettings) -> date:
    """The cutoff whose full fit serves as-of `day` (a weekly cutoff, or a backtest fold's first
    day): with `refit_months`, the `refit_anchor` of the Monday on or before `day` (never after
    `day`, so its rows end 8 days before `day` or earlier); when that Monday lacks the history to
    train, the first trainable cutoff, which then serves up to the next anchor (a young warehouse
    fits once, not every week); with 0, or when no cutoff up to `day` is trainable, `day` itself."""
    if not training.refit_months:
        return day
    anchor = refit_anchor(day - timedelta(days=day.weekday()), training.refit_months)
    try:
        plan_window(anchor, first_available, training, calibration)
    except InsufficientHistoryError:
        first = first_trainable_cutoff(first_available, training, calibration)
        return first if first <= day else day
    return anchor
