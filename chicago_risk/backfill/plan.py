"""What a window of the graph takes: the runs, their partition ranges and which waits for which.

One run per asset node (a multi-asset's outputs together), in dependency order. Each node's
window is start..end widened to every day a selected downstream node reads through its
time-window partition mapping (trailing history, the days after a label, the two years a weekly
model trains on), mapped by Dagster itself and clipped to the partitions that exist. The weekly
model, and every node that reads it, starts no earlier than the first cutoff a model can be
trained at: no model serves the days before it. A run waits for the runs of the nodes it reads
from, and only for those: the others may run beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from chicago_risk.config import CHICAGO_TZ, MODEL_SETTINGS
from chicago_risk.models.coverage import first_covered_as_of
from chicago_risk.models.windows import first_trainable_cutoff
from chicago_risk.partitions import DATA_FIRST_DAY
from chicago_risk.sources.base import RequestSource, SourceUnavailableError


class BackfillError(RuntimeError):
    """A run failed, a blocking check did not pass, or the selection is wrong; the message says which."""


@dataclass(frozen=True)
class PlannedRun:
    """One single-run backfill: an asset node's selected keys over one partition range."""

    assets: tuple[dg.AssetKey, ...]
    partition_keys: tuple[str, ...]  # empty for unpartitioned assets
    after: frozenset[int] = field(default_factory=frozenset)  # positions of the runs it waits for

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.to_user_string() for key in self.assets)

    def describe(self) -> str:
        if not self.partition_keys:
            return "unpartitioned"
        count = len(self.partition_keys)
        return f"{self.partition_keys[0]}..{self.partition_keys[-1]} ({count} partition{'s' * (count != 1)})"


@dataclass(frozen=True)
class Step:
    """One window of `chicago-risk materialize`: what it builds, for which days, with which assets."""

    title: str
    start: date
    end: date
    select: tuple[str, ...] | None  # None: every asset


# The weekly model: it and every asset reading it begin at its first trainable cutoff.
MODEL_ASSET = dg.AssetKey("risk_model")

# Assessed once for the newest model, not once per weekly cutoff of a window.
EVALUATION_ASSETS = ("demo_truth", "model_evaluation", "model_card")


def default_steps(defs: dg.Definitions, start: date, end: date) -> list[Step]:
    """The whole graph for start..end as an operator wants it: the map layers of those days (with
    the models, two years of features and four of 311 history they need), then the backtest and
    model card of the newest model, once (not once per weekly cutoff of the window), unless the
    window ends before any model can be trained."""
    known = _asset_names(defs)
    evaluation = tuple(name for name in EVALUATION_ASSETS if name in known)
    cutoff = end - timedelta(days=end.weekday())  # the newest Monday: its model
    layers = Step(f"map layers {start}..{end} and their history", start, end, tuple(sorted(known - set(evaluation))))
    if cutoff < min(_model_floors(defs, _source_days(defs)).values(), default=cutoff):
        return [layers]
    return [layers, Step(f"backtest and model card of the {cutoff} model", cutoff, end, evaluation)]


# Whether an asset holds every one of the partition keys (of an unpartitioned asset: none, the
# table itself) in the warehouse; the command line asks the Dagster instance.
IsComplete = Callable[[dg.AssetKey, Sequence[str]], bool]


@dataclass(frozen=True)
class Plan:
    runs: list[PlannedRun]
    notes: list[str]  # assets added to the selection, and why


def instance_status(instance: dg.DagsterInstance) -> IsComplete:
    def is_complete(key: dg.AssetKey, partition_keys: Sequence[str]) -> bool:
        if not partition_keys:
            return instance.get_latest_materialization_event(key) is not None
        return set(partition_keys) <= instance.get_materialized_partitions(key)

    return is_complete


def complete_selection(defs: dg.Definitions, select: Sequence[str] | None) -> tuple[set[str], list[str]]:
    """The selected asset names (all by default) plus the assets a selected one can only be
    materialized with (the other outputs of a multi-asset), and a note for each one added."""
    known = _asset_names(defs)
    wanted = set(select or known)
    unknown = sorted(wanted - known)
    if unknown:
        raise BackfillError(f"unknown asset(s) {', '.join(unknown)}; available: {', '.join(sorted(known))}")
    notes = []
    for name in sorted(wanted):
        node = defs.resolve_assets_def(dg.AssetKey.from_user_string(name))
        siblings = {key.to_user_string() for key in node.keys} - wanted
        if siblings and not node.can_subset:
            notes.append(f"{', '.join(sorted(siblings))} added: materialized together with {name}")
            wanted |= siblings
    return wanted, notes


def plan_window(
    defs: dg.Definitions, start: date, end: date, select: Sequence[str] | None = None,
    is_complete: IsComplete | None = None,
) -> Plan:
    """The runs that materialize the selected assets (all by default) for start..end, each after
    the runs it reads from (see the module docstring), with the partitions that exist when the
    311 source's data ends (a folder of exports ends on its last day: later days, and the labels
    that would read them, wait for their data). With `is_complete`, an upstream asset whose days
    a selected one reads are not all materialized is added to the selection, so a selection is
    never refused for the history it lacks."""
    held = _source_days(defs)
    with _as_of_source_end(held):
        wanted, notes = complete_selection(defs, select)
        floors = _model_floors(defs, held)
        if is_complete is not None:
            wanted, added = _with_missing_upstream(defs, start, end, wanted, is_complete, floors)
            notes += added
        first = min(floors.values(), default=start)
        floored = sorted(name for name in wanted if dg.AssetKey.from_user_string(name) in floors)
        if floored and start < first:
            why = (f"the first cutoff with the labelled history to train a model is {first} (the data begins "
                   f"{held[0] if held else DATA_FIRST_DAY}): no model serves the days before it")
            notes.append(f"{', '.join(floored)} " + (f"left out: {why}" if end < first else f"start on {first}: {why}"))
        return Plan(_plan(defs, start, end, wanted, floors), notes)


def _source_days(defs: dg.Definitions) -> tuple[date, date] | None:
    """The first and last day the 311 source holds, when it is a fixed set."""
    source = (defs.resources or {}).get("requests_source")
    try:
        return source.days_held() if isinstance(source, RequestSource) else None
    except SourceUnavailableError as error:
        raise BackfillError(f"cannot plan: {error}") from error


def _as_of_source_end(held: tuple[date, date] | None) -> AbstractContextManager:
    """Partitions as they were the day after the 311 source's last day, when it has one."""
    if held is None or held[1] >= datetime.now(ZoneInfo(CHICAGO_TZ)).date() - timedelta(days=1):
        return nullcontext()
    return dg.partition_loading_context(effective_dt=datetime.combine(held[1] + timedelta(days=1), datetime.min.time()))


def _model_floors(defs: dg.Definitions, held: tuple[date, date] | None) -> dict[dg.AssetKey, date]:
    """The first day of the weekly model and of every asset reading it, directly or not: the first
    cutoff trainable on the source's covered days (a live source: from the data's first day)."""
    if MODEL_ASSET not in {spec.key for spec in defs.resolve_all_asset_specs()}:
        return {}
    first_available = first_covered_as_of(held[0] if held else DATA_FIRST_DAY)
    first = first_trainable_cutoff(first_available, MODEL_SETTINGS.training, MODEL_SETTINGS.calibration)
    served = {MODEL_ASSET}
    for key in defs.resolve_asset_graph().toposorted_asset_keys:
        if served.intersection(defs.resolve_assets_def(key).dependency_keys):
            served.add(key)
    return dict.fromkeys(served, first)


def _with_missing_upstream(
    defs: dg.Definitions, start: date, end: date, wanted: set[str], is_complete: IsComplete,
    floors: Mapping[dg.AssetKey, date],
) -> tuple[set[str], list[str]]:
    """`wanted` plus, level by level, every upstream node whose days a wanted node reads are not
    all materialized; a note for each."""
    notes = []
    while True:
        needed = _nodes(defs, wanted)
        parents = [
            node for node in _nodes(defs, {key.to_user_string() for n in needed for key in n.dependency_keys})
            if node not in needed
        ]
        windows = _windows_read_downstream(_nodes(defs, wanted | _names(parents)), start, end, floors)
        missing = []
        for parent in parents:
            keys = _partition_keys(parent.partitions_def, *windows[parent])
            if parent.partitions_def is not None and not keys:
                continue  # none of the days read exists yet (before the data, after yesterday)
            if not all(is_complete(key, keys) for key in parent.keys):
                missing.append(parent)
                first_last = f" {keys[0]}..{keys[-1]}" if keys else ""
                notes.append(f"{', '.join(sorted(_names([parent])))} added: its days{first_last} are read "
                             "by the selection and not all materialized")
        if not missing:
            return wanted, notes
        wanted = wanted | _names(missing)


def _nodes(defs: dg.Definitions, names: set[str]) -> list[dg.AssetsDefinition]:
    """The asset nodes holding `names`, in dependency order."""
    nodes: list[dg.AssetsDefinition] = []
    for key in defs.resolve_asset_graph().toposorted_asset_keys:
        node = defs.resolve_assets_def(key)
        if key.to_user_string() in names and node not in nodes:
            nodes.append(node)
    return nodes


def _names(nodes: list[dg.AssetsDefinition]) -> set[str]:
    return {key.to_user_string() for node in nodes for key in node.keys}


def _plan(
    defs: dg.Definitions, start: date, end: date, wanted: set[str], floors: Mapping[dg.AssetKey, date]
) -> list[PlannedRun]:
    nodes = _nodes(defs, wanted)
    windows = _windows_read_downstream(nodes, start, end, floors)
    keys = {node: _partition_keys(node.partitions_def, *windows[node]) for node in nodes}
    # A node with no partition in its window has nothing to do; nor has an unpartitioned one whose
    # window its floor emptied (the published model tables, before any model exists).
    nodes = [node for node in nodes if keys[node] or (node.partitions_def is None and windows[node][0] <= end)]
    runs: list[PlannedRun] = []
    positions: dict[dg.AssetsDefinition, list[int]] = {}
    for node in nodes:
        reads = [other for other in nodes if other is not node and other.keys & set(node.dependency_keys)]
        parents = {position for other in reads for position in positions[other]}
        for chunk in _chunks(keys[node], node.backfill_policy):
            # A node's runs go one after the other: their memory never adds up.
            after = parents | set(positions.get(node, [])[-1:])
            positions.setdefault(node, []).append(len(runs))
            runs.append(PlannedRun(
                assets=tuple(sorted(key for key in node.keys if key.to_user_string() in wanted)),
                partition_keys=tuple(chunk), after=frozenset(after),
            ))
    return runs


def _chunks(keys: list[str], policy: dg.BackfillPolicy | None) -> list[list[str]]:
    """The partition keys of a node's runs: every key in one run, or runs of at most the backfill
    policy's `max_partitions_per_run` (what Dagster's own backfills do with the policy); an
    unpartitioned node's one run has none."""
    size = (policy.max_partitions_per_run if policy is not None else None) or max(len(keys), 1)
    return [keys[first:first + size] for first in range(0, max(len(keys), 1), size)]


def _asset_names(defs: dg.Definitions) -> set[str]:
    return {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}


def _windows_read_downstream(
    nodes: list[dg.AssetsDefinition], start: date, end: date, floors: Mapping[dg.AssetKey, date]
) -> dict[dg.AssetsDefinition, tuple[date, date]]:
    """Each node's window of days: start..end, widened to every day a selected downstream node
    reads through its time-window partition mapping, mapped by Dagster itself, and never before
    the node's floor (`_model_floors`)."""
    floor = {node: max((floors[key] for key in node.keys if key in floors), default=date.min) for node in nodes}
    windows = {node: (max(start, floor[node]), end) for node in nodes}
    for child in reversed(nodes):
        child_def = child.partitions_def
        child_keys = _partition_keys(child_def, *windows[child])
        if child_def is None or not child_keys:
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
                windows[parent] = (max(min(known_first, first), floor[parent]), max(known_last, last))
    return windows


def _partition_keys(partitions_def: dg.PartitionsDefinition | None, start: date, end: date) -> list[str]:
    """The partitions of days start..end that exist now: a window widened past yesterday (the
    days after a label) stops at the last complete partition, not at days still to come."""
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return []
    last = partitions_def.get_last_partition_window()
    if last is None:
        return []
    tz = partitions_def.start.tzinfo
    window_start = max(datetime.combine(start, datetime.min.time(), tzinfo=tz), partitions_def.start)
    window_end = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    window = dg.TimeWindow(window_start, min(window_end, last.end))
    return list(partitions_def.get_partition_keys_in_time_window(window)) if window.start < window.end else []
