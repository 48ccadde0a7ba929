"""The `model_registry` table: every fitted model, one row per (cutoff, kind), in the warehouse.

The `cutoff` column is the table's partition column: re-training a cutoff replaces its rows in
one transaction. The model itself is text (LightGBM's `model_to_string()`, JSON for the others),
so a model loaded from here predicts exactly what the fitted one did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from chicago_risk.models.model import FittedModel
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import materialize_command

MODEL_REGISTRY = "model_registry"

MODEL_REGISTRY_SCHEMA: dict[str, pl.DataType] = {
    "model_id": pl.String(),
    "cutoff": pl.Date(),
    "kind": pl.String(),
    "params": pl.String(),  # JSON
    "feature_list": pl.List(pl.String()),
    "feature_registry_hash": pl.String(),
    "calibration_map": pl.String(),  # JSON: probability map, events map, confidence, the slice
    "metrics": pl.String(),  # JSON
    "model_text": pl.String(),
    "created_at": pl.Datetime("us"),  # UTC
}


class ModelNotFoundError(LookupError):
    """No model in the registry answers the request; the message says what to materialize."""


def registry_frame(models: Iterable[FittedModel]) -> pl.DataFrame:
    return pl.DataFrame([m.to_record() for m in models], schema=MODEL_REGISTRY_SCHEMA)


def write_models(warehouse: WarehouseResource, models: Iterable[FittedModel], first: date, last: date) -> pl.DataFrame:
    """Replace the registry rows of cutoffs first..last with `models`, in one transaction."""
    frame = registry_frame(models)
    warehouse.replace_partitions(MODEL_REGISTRY, frame, first, last, partition_column="cutoff")
    return frame


def _require_registry(warehouse: WarehouseResource) -> None:
    if not warehouse.table_exists(MODEL_REGISTRY):
        raise ModelNotFoundError(
            "the warehouse has no model_registry table yet: train a model first; run: "
            f"{materialize_command(['risk_model'])}"
        )


def load_model(warehouse: WarehouseResource, model_id: str) -> FittedModel:
    _require_registry(warehouse)
    rows = warehouse.query(f"SELECT * FROM {MODEL_REGISTRY} WHERE model_id = ?", [model_id])
    if rows.is_empty():
        raise ModelNotFoundError(f"model {model_id} is not in the model_registry")
    return FittedModel.from_record(rows.row(0, named=True))


def load_models_at(warehouse: WarehouseResource, cutoff: date) -> dict[str, FittedModel]:
    """Every kind trained at exactly `cutoff`."""
    _require_registry(warehouse)
    rows = warehouse.query(f"SELECT * FROM {MODEL_REGISTRY} WHERE cutoff = ?", [cutoff])
    if rows.is_empty():
        raise ModelNotFoundError(
            f"no model was trained at cutoff {cutoff}; run: {materialize_command(['risk_model'], cutoff, cutoff)}"
        )
    return {row["kind"]: FittedModel.from_record(row) for row in rows.iter_rows(named=True)}


def fits_up_to(warehouse: WarehouseResource, kind: str, last_cutoff: date) -> pl.DataFrame:
    """Each fit of `kind` stored at a cutoff <= `last_cutoff`, oldest first, one row each.

    A fit is a training cutoff on one version of the feature registry: with refits every few months
    a fit is stored again at each weekly cutoff it serves, under another `model_id`.
    Columns: `model_id` and `cutoff` of its first stored row (what it is served as),
    `fitted_cutoff`, `feature_registry_hash`, and `model_ids` (every row it is stored as)."""
    _require_registry(warehouse)
    return warehouse.query(
        "WITH stored AS (SELECT model_id, cutoff, feature_registry_hash, "
        "coalesce(CAST(json_extract_string(params, '$.fitted_cutoff') AS DATE), cutoff) AS fitted_cutoff "
        f"FROM {MODEL_REGISTRY} WHERE kind = ? AND cutoff <= ?) "
        "SELECT first(model_id ORDER BY cutoff) AS model_id, min(cutoff) AS cutoff, fitted_cutoff, "
        "feature_registry_hash, list(model_id ORDER BY cutoff) AS model_ids "
        "FROM stored GROUP BY fitted_cutoff, feature_registry_hash "
        "ORDER BY fitted_cutoff, cutoff",
        [kind, last_cutoff],
    )


def registry_summary(warehouse: WarehouseResource) -> pl.DataFrame:
    """Model id, cutoff and kind of every stored model (no model text)."""
    _require_registry(warehouse)
    return warehouse.query(
        f"SELECT model_id, cutoff, kind, feature_registry_hash, created_at FROM {MODEL_REGISTRY} ORDER BY cutoff, kind"
    )
