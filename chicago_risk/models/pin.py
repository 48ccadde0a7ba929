"""An operator's pin (`chicago-risk model pin` / `unpin`): the model that is champion of every week
from a Monday on, whatever the promotion rule says, until unpinned.

A pin is a `pin` row of `model_aliases` (who, when, why, from which week). It takes effect when
`model_champion` next decides those weeks: the weekly retrain does on Mondays; to apply it at
once, materialize `model_champion` for them (the command is printed), and under the Dagster
daemon the week's predictions, cost and their publication follow.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from chicago_risk.features.registry import registry_hash
from chicago_risk.models.aliases import PIN, alias_rows, append_aliases, utc_now
from chicago_risk.models.registry import fits_up_to
from chicago_risk.storage.warehouse import WarehouseResource


class PinError(ValueError):
    """A pin that cannot be honoured as asked; the message says why and what to pin instead."""


def pin(
    warehouse: WarehouseResource, model_id: str | None, effective_from: date, set_by: str, reason: str, kind: str
) -> pl.DataFrame:
    """Append the pin of `model_id` (None: unpin) from the week of `effective_from` (a Monday);
    returns the row. The model must be a stored `kind` model, on the current feature
    definitions, with a cutoff on or before that week."""
    if not reason.strip():
        raise PinError("a pin needs a reason (--reason): it is kept with the pin and shown beside the champion")
    if model_id is not None:
        fits = fits_up_to(warehouse, kind, effective_from).explode("model_ids")
        found = fits.filter(pl.col("model_ids") == model_id)
        newest = ", ".join(fits.unique("model_id", keep="last", maintain_order=True)["model_id"].tail(3).to_list())
        if found.is_empty():
            raise PinError(
                f"{model_id} is not a stored {kind} model with a cutoff on or before {effective_from}; "
                f"the newest are: {newest or 'none'}"
            )
        if found["feature_registry_hash"][0] != registry_hash():
            raise PinError(
                f"{model_id} was trained on other feature definitions than the current ones and cannot score"
            )
    try:
        rows = alias_rows({PIN: model_id}, effective_from, set_by, reason, utc_now())
    except ValueError as error:
        raise PinError(str(error)) from None
    append_aliases(warehouse, rows)
    return rows
