"""The `model_aliases` table: the log of the served kind's aliases, in the spirit of MLflow's
registered-model aliases, appended to and never rewritten.

- `champion`: the model `risk_predictions` scores with and the API serves, from `effective_from`
  (a weekly cutoff, a Monday) on; set by the promotion rule (`set_by` "rule") or by a pin.
- `challenger`: the newest fit after the champion's, scored in shadow beside it (null: none).
- `pin`: an operator's override (`chicago-risk model pin`): the pinned model is champion of every
  week from `effective_from` on, whatever the rule says, until a `pin` row without a model
  (`chicago-risk model unpin`).

An alias's value in a week is its row with the newest `effective_from` on or before the week and,
among those, the newest `set_at`. `model_champion` appends a row only where its decision changes
a value, so re-deciding a week appends nothing: `model_champion` says what served each week, this
log when, by whom and why each alias changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from chicago_risk.storage.warehouse import WarehouseResource

MODEL_ALIASES = "model_aliases"
CHAMPION, CHALLENGER, PIN = "champion", "challenger", "pin"
ALIASES = (CHAMPION, CHALLENGER, PIN)
RULE = "rule"  # `set_by` of the promotion rule's rows

MODEL_ALIASES_SCHEMA: dict[str, pl.DataType] = {
    "alias": pl.String(),
    "model_id": pl.String(),  # null: the alias is cleared (no challenger, unpinned)
    "effective_from": pl.Date(),  # the first weekly cutoff it applies to
    "set_at": pl.Datetime("us"),  # UTC
    "set_by": pl.String(),  # "rule", or the operator's user name
    "reason": pl.String(),
    "run_id": pl.String(),  # the Dagster run that set it (null from the command line)
}


def utc_now() -> datetime:
    """Naive UTC (a DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def alias_rows(
    values: dict[str, str | None], effective_from: date, set_by: str, reason: str, set_at: datetime,
    run_id: str | None = None,
) -> pl.DataFrame:
    """Rows setting each alias of `values` (alias -> model id, None to clear it)."""
    unknown = set(values) - set(ALIASES)
    if unknown:
        raise ValueError(f"unknown alias(es) {', '.join(sorted(unknown))}; known: {', '.join(ALIASES)}")
    if effective_from.weekday() != 0:
        raise ValueError(
            f"an alias takes effect from a weekly cutoff (a Monday), not {effective_from} (a {effective_from:%A})"
        )
    return pl.DataFrame(
        [
            {"alias": alias, "model_id": model_id, "effective_from": effective_from, "set_at": set_at,
             "set_by": set_by, "reason": reason, "run_id": run_id}
            for alias, model_id in values.items()
        ],
        schema=MODEL_ALIASES_SCHEMA,
    )


def append_aliases(warehouse: WarehouseResource, rows: pl.DataFrame) -> None:
    if rows.height:
        warehouse.append(MODEL_ALIASES, rows)


def alias_history(warehouse: WarehouseResource) -> pl.DataFrame:
    """Every row, oldest first."""
    if not warehouse.table_exists(MODEL_ALIASES):
        return pl.DataFrame(schema=MODEL_ALIASES_SCHEMA)
    return warehouse.query(f"SELECT * FROM {MODEL_ALIASES} ORDER BY set_at").select(
        pl.col(name).cast(dtype) for name, dtype in MODEL_ALIASES_SCHEMA.items()
    )


def alias_at(history: pl.DataFrame, alias: str, week: date) -> dict | None:
    """The row that gives `alias` its value in `week` (None: never set by then)."""
    rows = history.filter((pl.col("alias") == alias) & (pl.col("effective_from") <= week))
    return rows.sort("effective_from", "set_at").row(-1, named=True) if rows.height else None


def changed(history: pl.DataFrame, week: date, values: dict[str, str | None]) -> dict[str, str | None]:
    """The aliases of `values` whose value in `week` the history does not already hold."""
    return {
        alias: model_id for alias, model_id in values.items()
        if (alias_at(history, alias, week) or {}).get("model_id") != model_id
    }
