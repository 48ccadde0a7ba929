"""Materialization metadata: a day shows its schema and a preview; a range only what is true of it
(Dagster copies a range run's metadata into every partition's materialization)."""

from datetime import date

import polars as pl

from chicago_risk.metadata import frame_metadata

FRAME = pl.DataFrame({"day": [date(2025, 1, 1), date(2025, 1, 2)], "h3_id": ["a", "b"]})


def test_a_single_day_carries_its_schema_and_a_preview():
    metadata = frame_metadata(FRAME.head(1), date(2025, 1, 1), date(2025, 1, 1))
    assert {"dagster/row_count", "dagster/column_schema", "preview", "window"} == set(metadata)


def test_a_range_carries_only_its_row_count_and_window():
    metadata = frame_metadata(FRAME, date(2025, 1, 1), date(2025, 1, 2))
    assert metadata == {"dagster/row_count": 2, "window": "2025-01-01..2025-01-02"}
