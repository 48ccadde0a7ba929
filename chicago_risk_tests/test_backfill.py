"""The backfill runner on toy assets: unpartitioned nodes run once, warnings never fail a window,
failed blocking checks do."""

from datetime import date

import dagster as dg
import pytest

from chicago_risk.backfill import BackfillError, materialize_window
from chicago_risk.partitions import daily_partitions, single_run


@dg.asset
def lookup_table() -> int:
    return 1


def _daily_with_check(severity: dg.AssetCheckSeverity):
    @dg.asset(
        name="daily_table",
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        deps=[lookup_table],
        check_specs=[dg.AssetCheckSpec("looks_odd", asset="daily_table", blocking=True)],
    )
    def daily_table(context: dg.AssetExecutionContext):
        yield dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})
        yield dg.AssetCheckResult(check_name="looks_odd", passed=False, severity=severity)

    return daily_table


def test_unpartitioned_assets_run_once_and_warnings_are_reported(instance):
    defs = dg.Definitions(assets=[lookup_table, _daily_with_check(dg.AssetCheckSeverity.WARN)])
    lines = []
    runs = materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lines.append)
    assert [(run.assets, run.partitions) for run in runs] == [(("lookup_table",), 1), (("daily_table",), 5)]
    assert instance.get_latest_materialization_event(dg.AssetKey("lookup_table")) is not None
    assert any("warning: daily_table:looks_odd did not pass" in line for line in lines)


def test_a_failed_blocking_check_fails_the_window(instance):
    defs = dg.Definitions(assets=[lookup_table, _daily_with_check(dg.AssetCheckSeverity.ERROR)])
    with pytest.raises(BackfillError, match="checks failed: daily_table:looks_odd"):
        materialize_window(defs, date(2024, 1, 1), date(2024, 1, 5), instance, echo=lambda _: None)
