"""The `model_aliases` table: the history of the served kind's aliases, MLflow style, appended to
and never rewritten.

- `champion`: the model `risk_predictions` scores with and the API serves, from `effective_from`
  (a weekly cutoff, a Monday) on; set by the promotion rule (`set_by` = "rule") or by a pin.
- `challenger`: the newest fit that is not the champion's, scored in shadow beside it.
- `pin`: an operator's override (`chicago-risk model pin`): the pinned model is the champion of
  every week from `effective_from` on, whatever the rule says, until a `pin` event with no
  `model_id` (`chicago-risk model unpin`).

A week's value of an alias is its event with the newest `effective_from` on or before the week
and, among events of that week, the newest `set_at`: re-deciding a week appends an event that
supersedes the week's earlier ones, which stay in the table. Rows are stored by `logged_on`
(the UTC day of `set_at`), so an append replaces only today's rows, with them included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import polars as pl

from chicago_risk.storage.warehouse import WarehouseResource

MODEL_ALIASES = "model_aliases"
ALIASES = ("champion", "challenger", "pin")
RULE = "rule"  # `set_by` of the promotion rule's events

MODEL_ALIASES_SCHEMA: dict[str, pl.DataType] = {
    "alias": pl.String(),
    "model_id": pl.String(),  # null: the alias is cleared (no challenger, unpinned)
    "effective_from": pl.Date(),  # the first weekly cutoff it applies to
    "set_at": pl.Datetime("us"),  # UTC
    "set_by": pl.String(),  # "rule", or the operator's user name
    "reason": pl.String(),
    "run_id": pl.String(),  # the Dagster run that set it (null from the command line)
    "logged_on": pl.Date(),  # the UTC day of set_at: the table's partition column
}


@dataclass(frozen=True)
class AliasEvent:
    alias: str
    model_id: str | None
    effective_from: date
    set_by: str
    reason: str
    run_id: str | None = None

    def __post_init__(self) -> None:
        if self.alias not in ALIASES:
            raise ValueError(f"unknown alias {self.alias!r}; known: {', '.join(ALIASES)}")
        if self.effective_from.weekday() != 0:
            raise ValueError(f"an alias takes effect from a weekly cutoff (a Monday), not {self.effective_from}")


def utc_now() -> datetime:
    """Naive UTC to the microsecond (a DuckDB TIMESTAMP), so events of one run keep their order."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def event_rows(events: list[AliasEvent], set_at: datetime) -> pl.DataFrame:
    """`events` as rows set from `set_at` on, a microsecond apart (a later one is set later)."""
    return pl.DataFrame(
        [
            {
                "alias": e.alias, "model_id": e.model_id, "effective_from": e.effective_from,
                "set_at": set_at + timedelta(microseconds=i), "set_by": e.set_by, "reason": e.reason,
                "run_id": e.run_id, "logged_on": set_at.date(),
            }
            for i, e in enumerate(events)
        ],
        schema=MODEL_ALIASES_SCHEMA,
    )


def append_events(warehouse: WarehouseResource, rows: pl.DataFrame) -> None:
    """Append event rows (`event_rows`) to the table, beside the rows logged the same day."""
    for (day,), part in rows.partition_by("logged_on", as_dict=True).items():
        logged = (
            warehouse.read_partitions(MODEL_ALIASES, day, day, partition_column="logged_on")
            if warehouse.table_exists(MODEL_ALIASES) else part.clear()
        )
        warehouse.replace_partitions(
            MODEL_ALIASES, pl.concat([logged.select(part.columns).cast(MODEL_ALIASES_SCHEMA), part]), day, day,
            partition_column="logged_on",
        )


def alias_history(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every event, oldest first."""
    if not warehouse.table_exists(MODEL_ALIASES):
        return pl.DataFrame(schema=MODEL_ALIASES_SCHEMA)
    return warehouse.query(f"SELECT * FROM {MODEL_ALIASES} ORDER BY set_at").cast(MODEL_ALIASES_SCHEMA)


def alias_at(history: pl.DataFrame, alias: str, week: date) -> dict | None:
    """The event that gives `alias` its value in `week` (None: never set by then)."""
    rows = history.filter((pl.col("alias") == alias) & (pl.col("effective_from") <= week))
    return rows.sort("effective_from", "set_at").row(-1, named=True) if rows.height else None
