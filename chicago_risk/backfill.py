"""Materialize a window of the graph through Dagster: one single-run backfill per asset node, in
dependency order, with a progress line for each."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import dagster as dg

from chicago_risk.partitions import partition_range_tags

# Dagster's own step logs are for the UI; the command line prints one line per asset instead.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class BackfillError(RuntimeError):
    """A run failed or a blocking check did not pass; the message names which."""


@dataclass(frozen=True)
class NodeRun:
    assets: tuple[str, ...]
    first_partition: str
    last_partition: str
    partitions: int
    rows: int
    seconds: float


def default_window(today: date) -> tuple[date, date]:
    """The demo window: two years ending yesterday."""
    end = today - timedelta(days=1)
    return end - timedelta(days=729), end


def materialize_window(
    defs: dg.Definitions,
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
) -> list[NodeRun]:
    """Materialize the selected assets (all by default) for the partitions in start..end."""
    graph = defs.resolve_asset_graph()
    all_assets = list(defs.resolve_all_asset_specs())
    known = {spec.key.to_user_string() for spec in all_assets}
    wanted = set(known if not select else select)
    unknown = sorted(wanted - known)
    if unknown:
        raise BackfillError(f"unknown asset(s) {', '.join(unknown)}; available: {', '.join(sorted(known))}")

    nodes: list[dg.AssetsDefinition] = []
    for key in graph.toposorted_asset_keys:
        node = defs.resolve_assets_def(key)
        if key.to_user_string() in wanted and node not in nodes:
            nodes.append(node)
    windows = _windows_read_downstream(nodes, start, end)

    runs = []
    for index, node in enumerate(nodes, start=1):
        keys = sorted(k for k in node.keys if k.to_user_string() in wanted)
        names = tuple(k.to_user_string() for k in keys)
        label = f"[{index}/{len(nodes)}] {', '.join(names)}"
        if node.partitions_def is None:  # one table, rebuilt whole
            partition_keys, tags = ["(unpartitioned)"], {}
            echo(f"{label}: unpartitioned ...")
        else:
            partition_keys = _partition_keys(node.partitions_def, *windows[node])
            if not partition_keys:
                echo(f"{label}: no partition in {start}..{end}, skipped")
                continue
            tags = partition_range_tags(partition_keys[0], partition_keys[-1])
            echo(f"{label}: {partition_keys[0]}..{partition_keys[-1]} ({len(partition_keys)} partitions) ...")
        began = time.perf_counter()
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            run_config=QUIET_RUN_CONFIG,
            instance=instance,
            asset_selection=keys,
            tags=tags,
            raise_on_error=False,
        )
        seconds = time.perf_counter() - began
        _raise_on_failure(result, label)
        for warning in _check_warnings(result):
            echo(f"{label}: warning: {warning}")
        # A range run records one materialization per partition, each with the run's row count.
        row_counts = {
            event.asset_key: int(event.materialization.metadata["dagster/row_count"].value)
            for event in result.get_asset_materialization_events()
            if "dagster/row_count" in event.materialization.metadata
        }
        rows = sum(row_counts.values())
        echo(f"{label}: done in {seconds:.1f} s, {rows:,} rows")
        runs.append(NodeRun(names, partition_keys[0], partition_keys[-1], len(partition_keys), rows, seconds))
    return runs


def _windows_read_downstream(
    nodes: list[dg.AssetsDefinition], start: date, end: date
) -> dict[dg.AssetsDefinition, tuple[date, date]]:
    """Each node's window: start..end, widened to every day a selected downstream node reads
    through its time-window partition mapping (trailing history, the days after a label).
    Offsets count days: the time-partitioned assets mapped this way are all daily."""
    windows = {node: (start, end) for node in nodes}
    for child in reversed(nodes):
        child_start, child_end = windows[child]
        for parent in nodes:
            for key in parent.keys & set(child.dependency_keys):
                mapping = child.get_partition_mapping(key)
                if isinstance(mapping, dg.TimeWindowPartitionMapping):
                    first, last = windows[parent]
                    windows[parent] = (
                        min(first, child_start + timedelta(days=mapping.start_offset)),
                        max(last, child_end + timedelta(days=mapping.end_offset)),
                    )
    return windows


def _partition_keys(partitions_def: dg.PartitionsDefinition | None, start: date, end: date) -> list[str]:
    """The partitions of days start..end that exist now: a window widened past yesterday (the
    days after a label) stops at the last complete partition, not at days still to come."""
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return []
    last = partitions_def.get_last_partition_window()
    if last is None:
        return []
    window_start = datetime.combine(start, datetime.min.time(), tzinfo=partitions_def.start.tzinfo)
    window_end = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=partitions_def.start.tzinfo)
    window = dg.TimeWindow(window_start, min(window_end, last.end))
    return partitions_def.get_partition_keys_in_time_window(window) if window.start < window.end else []


def _check_warnings(result: dg.ExecuteInProcessResult) -> list[str]:
    """Checks of severity WARN that did not pass: reported, never a failure."""
    return [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} did not pass"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    ]


def _raise_on_failure(result: dg.ExecuteInProcessResult, label: str) -> None:
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    if failed_checks:
        raise BackfillError(f"{label}: checks failed: {', '.join(failed_checks)}")
    if not result.success:
        failures = [
            f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
            for event in result.get_step_failure_events()
        ]
        raise BackfillError(f"{label}: run {result.run_id} failed: " + "; ".join(failures))
