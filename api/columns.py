"""The compact layer values (`GET /api/layers/{risk,cost}/values`): each property of a day's cells
as one array, as JSON or Arrow IPC, for clients that hold the grid's shapes already.

A `ValuesView` is built once per published partition (the values rounded as in the GeoJSON
layer, plus each cell's bounds for `bbox`); a filter is a boolean mask over it, as for GeoJSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from api.render import COST_COLUMNS, cost_properties, hexagon_bounds, risk_values


@dataclass(frozen=True)
class ValuesView:
    values: pl.DataFrame  # h3_id and the layer's properties
    columns: pl.DataFrame  # BOUNDS and the filter columns, row-aligned with `values`

    def select(self, mask: pl.Expr) -> pl.DataFrame:
        return self.values.filter(self.columns.select(mask.fill_null(False)).to_series())


def risk_values_view(frame: pl.DataFrame) -> ValuesView:
    values = frame.select(pl.col("h3_id"), *risk_values())
    return ValuesView(values, hexagon_bounds(frame["h3_id"]).hstack(frame.select("p_event_7d")))


def cost_values_view(frame: pl.DataFrame) -> ValuesView:
    values = frame.select(cost_properties())
    return ValuesView(values, hexagon_bounds(frame["h3_id"]).hstack(frame.select(COST_COLUMNS)))


def values_json(head: dict, values: pl.DataFrame) -> bytes:
    """`{...head, "count": n, "values": {"h3_id": [...], "<property>": [...], ...}}`."""
    body = {**head, "count": values.height, "values": values.to_dict(as_series=False)}
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def _plain(field: pa.Field) -> pa.Field:
    # polars hands out string views; plain utf8 is what every Arrow reader (apache-arrow JS too) knows.
    kind = field.type
    text = pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    return pa.field(field.name, pa.string()) if text else field


def values_arrow(head: dict, values: pl.DataFrame) -> bytes:
    """One Arrow IPC stream: a column per property, `head` as the schema's metadata."""
    table = values.to_arrow()
    metadata: dict[bytes | str, bytes | str] = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in head.items()
    }
    schema = pa.schema([_plain(f) for f in table.schema], metadata=metadata)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table.cast(schema))
    return sink.getvalue().to_pybytes()
