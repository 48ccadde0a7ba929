"""Materialize a window of the graph through Dagster: one single-run backfill per asset node, in
dependency order, with a progress line for each."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from chicago_risk.config import CHICAGO_TZ
from chicago_risk.partitions import partition_range_tags
from chicago_risk.sources.base import RequestSource, SourceUnavailableError

# Dagster's own step logs are for the UI; the command line prints one line per asset instead.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class BackfillError(RuntimeError):
    """A run failed or a blocking check did not pass; the message names which."""


@dataclass(frozen=True)
class PlannedRun:
    """One single-run backfill: an asset node's selected keys over its partition range."""

    assets: tuple[dg.AssetKey, ...]
    partition_keys: tuple[str, ...]  # empty for an unpartitioned node

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.to_user_string() for key in self.assets)

    def describe(self) -> str:
        if not self.partition_keys:
            return "unpartitioned"
        count = len(self.partition_keys)
        return f"{self.partition_keys[0]}..{self.partition_keys[-1]} ({count} partition{'s' * (count != 1)})"


@dataclass(frozen=True)
class NodeRun:
    assets: tuple[str, ...]
    first_partition: str
    last_partition: str
    partitions: int
    rows: int
    seconds: float


@dataclass(frozen=True)
class Step:
    """One call of `materialize_window`: what it builds, for which days, with which assets."""

    title: str
    start: date
    end: date
    select: tuple[str, ...] | None  # None: every asset


# Assessed once for the newest model, not once per weekly cutoff of a window.
EVALUATION_ASSETS = ("demo_truth", "model_evaluation", "model_card")


def default_steps(defs: dg.Definitions, start: date, end: date) -> list[Step]:
    """The whole graph for start..end as an operator wants it: the map layers of those days (with
    the models, two years of features and four of 311 history they need), then the backtest and
    model card of the newest model, once (not once per weekly cutoff of the window)."""
    known = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    evaluation = tuple(name for name in EVALUATION_ASSETS if name in known)
    cutoff = end - timedelta(days=end.weekday())  # the newest Monday: its model
    return [
        Step(f"map layers {start}..{end} and their history", start, end, tuple(sorted(known - set(evaluation)))),
        Step(f"backtest and model card of the {cutoff} model", cutoff, end, evaluation),
    ]


def plan_backfill(
    defs: dg.Definitions, start: date, end: date, select: Sequence[str] | None = None
) -> list[PlannedRun]:
    """The runs that materialize the selected assets (all by default) for start..end, in
    dependency order: each node's window widened to what its selected downstream nodes read,
    and clipped to the partitions that exist when the 311 source's data ends (a source of exports
    ends on its last day: later days, and the labels that would read them, wait for their data)."""
    with _as_of_source_end(defs):
        return _plan(defs, start, end, select)


def _as_of_source_end(defs: dg.Definitions):
    """Partitions as they were the day after the 311 source's last day, when it has one."""
    source = (defs.resources or {}).get("requests_source")
    try:
        held = source.days_held() if isinstance(source, RequestSource) else None
    except SourceUnavailableError as error:
        raise BackfillError(f"cannot plan: {error}") from error
    if held is None or held[1] >= datetime.now(ZoneInfo(CHICAGO_TZ)).date() - timedelta(days=1):
        return nullcontext()
    return dg.partition_loading_context(effective_dt=datetime.combine(held[1] + timedelta(days=1), datetime.min.time()))


def _plan(defs: dg.Definitions, start: date, end: date, select: Sequence[str] | None) -> list[PlannedRun]:
    graph = defs.resolve_asset_graph()
    known = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
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
    plan = []
    for node in nodes:
        # A node that cannot be subset (the raw 311 multi-asset) runs whole.
        keys = tuple(sorted(k for k in node.keys if k.to_user_string() in wanted or not node.can_subset))
        if node.partitions_def is None:  # one table, rebuilt whole
            plan.append(PlannedRun(keys, ()))
        elif partition_keys := _partition_keys(node.partitions_def, *windows[node]):
            plan.append(PlannedRun(keys, tuple(partition_keys)))
    return plan


# Runs one planned run given its progress label: `execute_planned` in this process by default;
# `make demo` runs each in a child process instead.
Execute = Callable[[PlannedRun, str], NodeRun]


def run_steps(
    defs: dg.Definitions,
    steps: Sequence[Step],
    instance: dg.DagsterInstance | None,
    echo: Callable[[str], None] = print,
    execute: Execute | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[NodeRun]:
    """Materialize each step in turn; without an instance, only print the plan (a dry run).
    `tags` go on every run (e.g. the operator's check overrides, `chicago_risk.overrides`)."""
    runs = []
    for number, step in enumerate(steps, start=1):
        echo(f"step {number}/{len(steps)}: {step.title}")
        if instance is None:
            for planned in plan_backfill(defs, step.start, step.end, step.select):
                echo(f"  {', '.join(planned.names)}: {planned.describe()}")
        else:
            runs += materialize_window(defs, step.start, step.end, instance, step.select, echo, execute, tags)
    return runs


def materialize_window(
    defs: dg.Definitions,
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    execute: Execute | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[NodeRun]:
    """Materialize the selected assets (all by default) for the partitions in start..end."""
    plan = plan_backfill(defs, start, end, select)
    if execute is None:
        def execute(planned: PlannedRun, label: str) -> NodeRun:
            return execute_planned(defs, planned, label, instance, echo, tags)
    return [
        execute(planned, f"[{index}/{len(plan)}] {', '.join(planned.names)}")
        for index, planned in enumerate(plan, start=1)
    ]


def execute_planned(
    defs: dg.Definitions,
    planned: PlannedRun,
    label: str,
    instance: dg.DagsterInstance,
    echo: Callable[[str], None] = print,
    tags: Mapping[str, str] | None = None,
) -> NodeRun:
    """One planned run as a single-run backfill in this process, with its progress lines."""
    echo(f"{label}: {planned.describe()} ...")
    tags = {
        **(tags or {}),
        **(partition_range_tags(planned.partition_keys[0], planned.partition_keys[-1]) if planned.partition_keys else {}),
    }
    began = time.perf_counter()
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config=QUIET_RUN_CONFIG,
        instance=instance,
        asset_selection=list(planned.assets),
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
    keys = planned.partition_keys or ("(unpartitioned)",)
    return NodeRun(planned.names, keys[0], keys[-1], len(keys), rows, seconds)


def _windows_read_downstream(
    nodes: list[dg.AssetsDefinition], start: date, end: date
) -> dict[dg.AssetsDefinition, tuple[date, date]]:
    """Each node's window of days: start..end, widened to every day a selected downstream node
    reads through its time-window partition mapping (trailing history, the days after a label,
    the two years a weekly model trains on), mapped by Dagster itself."""
    windows = {node: (start, end) for node in nodes}
    for child in reversed(nodes):
        child_def = child.partitions_def
        child_keys = _partition_keys(child_def, *windows[child])
        if not child_keys:
            continue
        child_subset = child_def.subset_with_partition_keys(child_keys)
        for parent in nodes:
            parent_def = parent.partitions_def
            if not isinstance(parent_def, dg.TimeWindowPartitionsDefinition):
                continue
            for key in parent.keys & set(child.dependency_keys):
                mapping = child.get_partition_mapping(key)
                if not isinstance(mapping, dg.TimeWindowPartitionMapping):
                    continue
                upstream = mapping.get_upstream_mapped_partitions_result_for_partitions(
                    child_subset, child_def, parent_def
                ).partitions_subset.get_partition_keys()
                if not upstream:
                    continue
                first = parent_def.time_window_for_partition_key(min(upstream)).start.date()
                last = parent_def.time_window_for_partition_key(max(upstream)).end.date() - timedelta(days=1)
                known_first, known_last = windows[parent]
                windows[parent] = (min(known_first, first), max(known_last, last))
    return windows


def _partition_keys(partitions_def: dg.PartitionsDefinition | None, start: date, end: date) -> list[str]:
    """The partitions of days start..end that exist now: a window widened past yesterday (the
    days after a label) stops at the last complete partition, not at days still to come, and one
    widened before the data's first day (CHICAGO_RISK_DATA_START) starts there."""
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return []
    first, last = partitions_def.get_first_partition_window(), partitions_def.get_last_partition_window()
    if first is None or last is None:
        return []
    window_start = max(first.start, datetime.combine(start, datetime.min.time(), tzinfo=partitions_def.start.tzinfo))
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
