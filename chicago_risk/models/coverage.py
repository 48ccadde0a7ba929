"""Which as-of days a model may learn from: the days the 311 source covers.

A warehouse can hold feature and label rows for days the 311 source has no rows for (weather
reaches back further than the 311 archive, or the archive has a hole): those rows say "rain, and
no incident", which is not what happened but what was not recorded. A training, calibration or
backtest row of as-of day t is **covered** when

- its features' history lies inside the source's coverage: t - (HISTORY_DAYS - 1) >= the
  source's first day (the longest feature window, two years of incidents for the shrunk rate;
  a younger row undercounts every history feature). Except where the source begins with the
  warehouse itself (its first row within `IngestChecks.coverage_gap_warn_days` of the data's
  first day): there is no earlier history to miss, and the feature store counts from that day
  by design (a young warehouse trains from its first months); and
- its label window t+1..t+7 ends on or before the source's last day.

So a model window never starts before the first covered as-of day (`first_covered_day`). Gaps
inside the coverage (`Coverage.gaps`: at least `IngestChecks.coverage_gap_warn_days` consecutive
days without a request) are warned about, in the asset's metadata and its log, not cut out: a
quiet week and a missing week look the same to the rows, and a person must judge which it is.

Coverage is what the ingest recorded (`raw_311_coverage`, read by
`chicago_risk.ingest.coverage.source_coverage`), the same record the checks and the map use.
"""

from __future__ import annotations

from datetime import date, timedelta

from chicago_risk.config import LABEL_HORIZON_DAYS, IngestChecks, TrainingSettings
from chicago_risk.features.registry import HISTORY_DAYS
from chicago_risk.ingest.coverage import RAW_311, Coverage, source_coverage
from chicago_risk.models.data import FEATURES_TABLE, LABELS_TABLE, first_labelled_day
from chicago_risk.models.windows import TrainingWindow, last_labelled_day
from chicago_risk.partitions import DATA_FIRST_DAY
from chicago_risk.storage.warehouse import WarehouseResource
from chicago_risk.upstream import materialize_command

# A source whose first request is this close to the data's first day started with the warehouse.
STARTS_WITH_THE_DATA_DAYS = IngestChecks().coverage_gap_warn_days


def first_covered_day(coverage: Coverage) -> date:
    """The first as-of day whose feature history the source covers (it has a first day)."""
    assert coverage.first_day is not None
    return first_covered_as_of(coverage.first_day)


def first_covered_as_of(source_first_day: date) -> date:
    """The first as-of day whose feature history a source starting on `source_first_day` covers."""
    if source_first_day < DATA_FIRST_DAY + timedelta(days=STARTS_WITH_THE_DATA_DAYS):
        return source_first_day  # the source starts with the warehouse: nothing earlier to miss
    return source_first_day + timedelta(days=HISTORY_DAYS - 1)


def first_trainable_day(
    warehouse: WarehouseResource, training: TrainingSettings, needed: tuple[date, date] | None = None
) -> tuple[date, date, Coverage | None]:
    """(first covered labelled as-of day, first labelled day, coverage): where windows may start.
    `needed`: the labelled days the caller reads, for the command printed when there are none."""
    labelled = first_labelled_day(warehouse, needed)
    coverage = source_coverage(warehouse, RAW_311)
    if coverage.first_day is None:
        return labelled, labelled, None
    return max(labelled, first_covered_day(coverage)), labelled, coverage

def more_history(cutoff: date, first_labelled: date, coverage: Coverage | None, training: TrainingSettings) -> str:
    """What gives the model of `cutoff` the labelled history it lacks: the command that builds the
    feature store further back, or a later cutoff when the store already reaches as far back as
    the data covers."""
    earliest = first_covered_day(coverage) if coverage is not None else DATA_FIRST_DAY
    last = last_labelled_day(cutoff)
    first = max(earliest, last - timedelta(days=training.training_days - 1))
    if first_labelled <= first:
        return f"the feature store reaches back to {first_labelled}, as far as the data covers: choose a later cutoff"
    return f"run: {materialize_command([FEATURES_TABLE, LABELS_TABLE], first, first_labelled - timedelta(days=1))}"


def window_warnings(
    warehouse: WarehouseResource, coverage: Coverage | None, first_labelled: date, window: TrainingWindow,
    training: TrainingSettings,
) -> list[str]:
    """What a person should know about a window's coverage: it would have started before the
    source covers it (and was cut), or it holds a long gap, or coverage is unknown."""
    if coverage is None:
        return [
            f"{RAW_311} has no recorded coverage: the coverage of days {window.first_day}..{window.last_day} is unknown"
        ]
    warnings = []
    requested = max(first_labelled, window.last_day - timedelta(days=training.training_days - 1))
    covered = first_covered_day(coverage)
    if requested < covered:
        warnings.append(
            f"cutoff {window.cutoff}: the window would start on {requested}, before {RAW_311} covers a "
            f"row's history (rows from {coverage.first_day}, so as-of days from {covered}); "
            f"it starts on {window.first_day}"
        )
    history_first = window.first_day - timedelta(days=HISTORY_DAYS - 1)
    label_last = window.last_day + timedelta(days=LABEL_HORIZON_DAYS)
    for start, end in coverage.gaps:
        if start <= label_last and end >= history_first:
            warnings.append(
                f"cutoff {window.cutoff}: {RAW_311} has no request on {start}..{end} ({(end - start).days + 1} days) "
                "inside the window's history or labels: a gap in the source reads as a quiet spell"
            )
    return warnings
