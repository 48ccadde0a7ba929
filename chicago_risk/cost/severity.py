"""Severity learned from 311 history, point in time.

For each as-of day A (see `history.severity_as_of`), the incidents first reported in the year up
to A - settle_days are the evidence. Each is classed by two proxies known at the end of A:
- repeat reports: how many duplicates were filed for it by A (a break that floods a street is
  reported again; a dripping valve is not);
- time to close, relative to its request type's median in the same window: a request closed after
  A counts as still open, its time the hours elapsed by the end of A (a lower bound), so a
  closure recorded later never leaks into A.
The class shares of each type group are the counts shrunk toward the prior mix (a Dirichlet
prior), and a cell's class probabilities mix its groups' shares by the cell's own history of
groups, shrunk toward the city's. The share of those that come from pressure-sensitive groups
is kept apart: only they respond to a pressure step.
"""

from __future__ import annotations

import polars as pl

from chicago_risk.config import LEAK_TYPES, TYPE_GROUPS
from chicago_risk.config.cost import CostSettings
from chicago_risk.cost.history import first_reports, repeat_reports

CLASS_INDEX = "severity_class"
AS_OF_DAYS_PER_CHUNK = 8  # as-of days (weeks) whose severity is computed together


def class_columns(settings: CostSettings, prefix: str) -> list[str]:
    return [f"{prefix}{name}" for name in settings.class_names]


def _as_of_frame(as_of_days: pl.Series, settings: CostSettings) -> pl.DataFrame:
    severity = settings.severity
    return pl.DataFrame({"as_of": as_of_days.unique().sort()}).with_columns(
        first_day=pl.col("as_of") - pl.duration(days=severity.history_days - 1),
        last_evidence_day=pl.col("as_of") - pl.duration(days=severity.settle_days),
        as_of_end=(pl.col("as_of") + pl.duration(days=1)).cast(pl.Datetime("us")),
    )


def _in_windows(incidents: pl.DataFrame, as_of: pl.DataFrame, last_day: str) -> pl.DataFrame:
    """Each incident once per as-of day whose window (first_day .. `last_day`) holds its day.
    A lazy cross join with the filter pushed into it: about 5x faster than `join_where` here."""
    return (
        incidents.lazy()
        .join(as_of.lazy(), how="cross")
        .filter(pl.col("day") >= pl.col("first_day"), pl.col("day") <= pl.col(last_day))
        .collect()
    )


def classify_incidents(history: pl.DataFrame, as_of_days: pl.Series, settings: CostSettings) -> pl.DataFrame:
    """One row per (as_of, evidence incident): type group, repeats, hours, ratio, class index."""
    severity = settings.severity
    as_of = _as_of_frame(as_of_days, settings)
    evidence = _in_windows(first_reports(history), as_of, "last_evidence_day")
    closed_by_as_of = pl.col("closed_at").is_not_null() & (pl.col("closed_at") < pl.col("as_of_end"))
    evidence = evidence.with_columns(
        hours=(
            pl.when(closed_by_as_of).then(pl.col("closed_at")).otherwise(pl.col("as_of_end")) - pl.col("created_at")
        ).dt.total_seconds().truediv(3600.0).clip(lower_bound=0.0),
        cancelled=closed_by_as_of & (pl.col("status") == "Canceled"),
    )
    repeats = (
        evidence.select("as_of", "incident_key")
        .join(repeat_reports(history).rename({"day": "repeat_day"}), on="incident_key")
        .filter(pl.col("repeat_day") <= pl.col("as_of"))
        .group_by("as_of", "incident_key")
        .agg(repeats=pl.len().cast(pl.Int32))
    )
    configured = pl.DataFrame(
        {"sr_type": [t.sr_type for t in LEAK_TYPES], "configured_hours": [t.median_close_hours for t in LEAK_TYPES]}
    )
    medians = (
        evidence.filter(~pl.col("cancelled"))
        .group_by("as_of", "sr_type")
        .agg(learned_hours=pl.col("hours").median(), incidents=pl.len())
    )
    evidence = (
        evidence.join(repeats, on=["as_of", "incident_key"], how="left")
        .join(medians, on=["as_of", "sr_type"], how="left")
        .join(configured, on="sr_type", how="left")
        .with_columns(
            repeats=pl.col("repeats").fill_null(0),
            median_hours=pl.when(pl.col("incidents") >= severity.min_type_incidents)
            .then(pl.col("learned_hours"))
            .otherwise(pl.col("configured_hours")),
        )
        .with_columns(ratio=pl.col("hours") / pl.col("median_hours").clip(lower_bound=1.0))
    )
    # The highest class whose repeat or time threshold the incident reaches.
    index = pl.lit(0, dtype=pl.Int32)
    thresholds = zip(severity.repeats_at_least, severity.resolution_ratio_at_least, strict=True)
    for level, (repeats_at_least, ratio_at_least) in enumerate(thresholds, start=1):
        reached = (pl.col("repeats") >= repeats_at_least) | (pl.col("ratio") >= ratio_at_least)
        index = pl.when(reached).then(pl.lit(level, dtype=pl.Int32)).otherwise(index)
    return evidence.with_columns(
        pl.when(pl.col("cancelled")).then(pl.lit(0, dtype=pl.Int32)).otherwise(index).alias(CLASS_INDEX)
    ).select("as_of", "incident_key", "sr_type", "type_group", "repeats", "hours", "ratio", CLASS_INDEX)


def group_class_shares(classified: pl.DataFrame, as_of_days: pl.Series, settings: CostSettings) -> pl.DataFrame:
    """Per (as_of, type_group): `incidents` of evidence and `share_<class>` (Dirichlet posterior mean)."""
    severity = settings.severity
    grid = (
        pl.DataFrame({"as_of": as_of_days.unique().sort()})
        .join(pl.DataFrame({"type_group": TYPE_GROUPS}), how="cross")
        .join(pl.DataFrame({CLASS_INDEX: range(len(settings.classes))}, schema={CLASS_INDEX: pl.Int32}), how="cross")
    )
    counts = classified.group_by("as_of", "type_group", CLASS_INDEX).agg(n=pl.len())
    prior_of_class = pl.col(CLASS_INDEX).replace_strict(
        dict(enumerate(severity.prior_mix)), return_dtype=pl.Float64
    )
    shares = (
        grid.join(counts, on=["as_of", "type_group", CLASS_INDEX], how="left")
        .with_columns(n=pl.col("n").fill_null(0))
        .with_columns(incidents=pl.col("n").sum().over("as_of", "type_group"))
        .with_columns(
            share=(pl.col("n") + severity.prior_incidents * prior_of_class)
            / (pl.col("incidents") + severity.prior_incidents)
        )
    )
    return (
        shares.with_columns(pl.col(CLASS_INDEX).replace_strict(dict(enumerate(class_columns(settings, "share_")))))
        .pivot(on=CLASS_INDEX, index=["as_of", "type_group", "incidents"], values="share")
        .select("as_of", "type_group", "incidents", *class_columns(settings, "share_"))
        .sort("as_of", "type_group")
    )


def _configured_group_shares() -> pl.DataFrame:
    """The city's mix of type groups from the configured yearly volumes (for a history-less start)."""
    volumes = pl.DataFrame(
        {"type_group": [t.group for t in LEAK_TYPES], "volume": [float(t.requests_per_year) for t in LEAK_TYPES]}
    ).group_by("type_group").agg(pl.col("volume").sum())
    return volumes.select("type_group", prior_share=pl.col("volume") / pl.col("volume").sum())


def cell_class_probabilities(
    history: pl.DataFrame, cells_by_as_of: pl.DataFrame, shares: pl.DataFrame, settings: CostSettings
) -> pl.DataFrame:
    """Per (as_of, h3_id) of `cells_by_as_of`: `q_<class>` (an incident's class probabilities)
    and `qp_<class>` (the part from pressure-sensitive groups), from the cell's type groups in
    the year up to as_of."""
    severity = settings.severity
    as_of = _as_of_frame(cells_by_as_of["as_of"], settings)
    per_cell = (
        _in_windows(first_reports(history).select("day", "h3_id", "type_group"), as_of, "as_of")
        .group_by("as_of", "h3_id", "type_group")
        .agg(n=pl.len())
    )
    city = (
        pl.DataFrame({"as_of": as_of["as_of"]})
        .join(_configured_group_shares(), how="cross")
        .join(
            per_cell.group_by("as_of", "type_group").agg(city_n=pl.col("n").sum()),
            on=["as_of", "type_group"],
            how="left",
        )
        .with_columns(city_n=pl.col("city_n").fill_null(0))
        .with_columns(city_total=pl.col("city_n").sum().over("as_of"))
        .select(
            "as_of",
            "type_group",
            city_share=pl.when(pl.col("city_total") > 0)
            .then(pl.col("city_n") / pl.col("city_total"))
            .otherwise(pl.col("prior_share")),
        )
    )
    k = severity.cell_mix_prior_incidents
    mix = (
        cells_by_as_of.select("as_of", "h3_id").unique()
        .join(city, on="as_of")
        .join(per_cell, on=["as_of", "h3_id", "type_group"], how="left")
        .with_columns(n=pl.col("n").fill_null(0))
        .with_columns(mix=(pl.col("n") + k * pl.col("city_share")) / (pl.col("n").sum().over("as_of", "h3_id") + k))
        .join(shares, on=["as_of", "type_group"])
    )
    names = settings.class_names
    # One column per (class, group), summed across groups in a fixed order: a cell's result does
    # not depend on how a group-by ordered its rows, so a re-materialized day is identical.
    wide = mix.select(
        "as_of", "h3_id", "type_group", *[(pl.col("mix") * pl.col(f"share_{c}")).alias(c) for c in names]
    ).pivot(on="type_group", index=["as_of", "h3_id"], values=list(names))
    sensitive = [g for g in TYPE_GROUPS if g in severity.pressure_sensitive_groups]
    return wide.select(
        "as_of", "h3_id",
        *[pl.sum_horizontal(f"{c}_{g}" for g in TYPE_GROUPS).alias(f"q_{c}") for c in names],
        *[pl.sum_horizontal(f"{c}_{g}" for g in sensitive).alias(f"qp_{c}") for c in names],
    )

def cell_severity(
    history: pl.DataFrame, cells_by_as_of: pl.DataFrame, settings: CostSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(class probabilities per (as_of, h3_id), class shares per (as_of, type_group)).

    Computed for a few as-of days at a time: each expands the year of incidents once per as-of
    day, so a two-year backfill in one go would hold ~100 copies of it (4 GB)."""
    as_of_days = cells_by_as_of["as_of"].unique().sort()
    if as_of_days.is_empty():  # no cell to cost: frames of the same columns, no rows
        def values(prefix: str) -> dict:
            return {c: pl.Float64 for c in class_columns(settings, prefix)}

        return (
            pl.DataFrame(schema={"as_of": pl.Date, "h3_id": pl.String, **values("q_"), **values("qp_")}),
            pl.DataFrame(
                schema={"as_of": pl.Date, "type_group": pl.String, "incidents": pl.UInt32, **values("share_")}
            ),
        )
    probabilities, shares = [], []
    for offset in range(0, as_of_days.len(), AS_OF_DAYS_PER_CHUNK):
        chunk = as_of_days.slice(offset, AS_OF_DAYS_PER_CHUNK)
        chunk_shares = group_class_shares(classify_incidents(history, chunk, settings), chunk, settings)
        cells = cells_by_as_of.filter(pl.col("as_of").is_in(chunk.implode()))
        probabilities.append(cell_class_probabilities(history, cells, chunk_shares, settings))
        shares.append(chunk_shares)
    return pl.concat(probabilities), pl.concat(shares)
