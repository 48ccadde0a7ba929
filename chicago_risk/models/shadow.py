"""Shadow scoring: the champion and the challenger on the same labelled rows, the challenger's
predictions never served.

The rows are every cell of each as-of day from the challenger's fitted cutoff (the first day
neither model trained or calibrated on) to the decision's cutoff - 8 (the last day whose label is
complete then), whichever days the warehouse holds both features and labels for. One vectorised
prediction per model: a month of the city is ~170,000 rows, well under a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from chicago_risk.config import LABEL_HORIZON_DAYS
from chicago_risk.features.registry import FEATURE_NAMES
from chicago_risk.models import metrics as M
from chicago_risk.models.base import LABEL
from chicago_risk.models.data import FEATURES_TABLE, LABELS_TABLE
from chicago_risk.models.model import FittedModel
from chicago_risk.storage.warehouse import WarehouseResource


@dataclass(frozen=True)
class ShadowScores:
    """One model on the shadow rows."""

    days: int
    rows: int
    log_loss: float
    ece: float
    brier: float
    mean_p: float
    event_rate: float

    def as_dict(self) -> dict:
        return asdict(self)


def last_labelled_on(cutoff: date) -> date:
    """The newest as-of day whose label is complete when the cutoff's decision is made."""
    return cutoff - timedelta(days=LABEL_HORIZON_DAYS + 1)


def load_shadow_rows(warehouse: WarehouseResource, first: date, cutoff: date) -> pl.DataFrame:
    """Features and labels of every labelled as-of day first..cutoff - 8 the warehouse holds
    (none when that is empty)."""
    last = last_labelled_on(cutoff)
    columns = ", ".join(f'f."{name}"' for name in ("h3_id", "day", *FEATURE_NAMES))
    if first > last or not (warehouse.table_exists(FEATURES_TABLE) and warehouse.table_exists(LABELS_TABLE)):
        return pl.DataFrame(schema={"h3_id": pl.String, "day": pl.Date, LABEL: pl.Int8})
    return warehouse.query(
        f"SELECT {columns}, l.{LABEL} FROM {FEATURES_TABLE} f "
        f'JOIN {LABELS_TABLE} l ON f.h3_id = l.h3_id AND f."day" = l."day" '
        f'WHERE f."day" BETWEEN ? AND ? ORDER BY f."day", f.h3_id',
        [first, last],
    )


def shadow_scores(model: FittedModel, rows: pl.DataFrame) -> ShadowScores | None:
    """`model` on the shadow rows; None when there are none."""
    if rows.is_empty():
        return None
    y = rows[LABEL].cast(pl.Float64).to_numpy()
    p = model.predict_proba(rows)
    return ShadowScores(
        days=rows["day"].n_unique(),
        rows=rows.height,
        log_loss=M.log_loss(y, p),
        ece=M.expected_calibration_error(y, p),
        brier=M.brier(y, p),
        mean_p=float(np.mean(p)),
        event_rate=float(np.mean(y)),
    )
