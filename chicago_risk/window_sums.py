"""Sums over a fixed window of neighbouring rows that do not depend on where a frame starts.

polars' `rolling_sum` keeps a running total, adding each new value and subtracting the one that
leaves, so a row's float sum carries the rounding of every row before it in the frame: the same
day got 0.0 or 3.6e-15 mm of three-day rain depending on where a backfill's run began, and the
models, which split at zero, saw two different days. Adding the window's own values, in a fixed
order, gives every row the same sum whatever the frame holds before it (and exactly 0.0 for a
window of zeros).
"""

from __future__ import annotations

import functools
import operator

import polars as pl


def window_sum(values: pl.Expr, first: int, last: int) -> pl.Expr:
    """`values` summed over the rows `first`..`last` away from each row (-2..0: the row and the
    two before it; 1..7: the seven after it); null where any of them is null or outside the frame."""
    if first > last:
        raise ValueError(f"an empty window: rows {first}..{last}")
    return functools.reduce(operator.add, (values.shift(-offset) for offset in range(first, last + 1)))
