"""Materialize a window of the graph through Dagster, as `chicago-risk materialize` and `make demo`
do: `plan` decides the runs (single-run backfills over partition ranges) and their order;
`execute` runs them, in parallel where they do not wait for one another."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import dagster as dg

from chicago_risk.backfill.execute import InProcess, NodeRun, OutOfProcess, Runner, run_plan
from chicago_risk.backfill.plan import (
    EVALUATION_ASSETS,
    BackfillError,
    IsComplete,
    Plan,
    PlannedRun,
    Step,
    default_steps,
    instance_status,
    plan_window,
)

__all__ = [
    "EVALUATION_ASSETS", "BackfillError", "InProcess", "IsComplete", "NodeRun", "OutOfProcess", "Plan", "PlannedRun",
    "Step", "default_steps", "instance_status", "materialize_window", "plan_window", "run_steps",
]


def run_steps(
    defs: dg.Definitions,
    steps: Sequence[Step],
    runner: Runner | None,
    echo: Callable[[str], None] = print,
    tags: Mapping[str, str] | None = None,
    is_complete: IsComplete | None = None,
) -> list[NodeRun]:
    """Materialize each step in turn; without a runner, only print the plan (a dry run).
    `is_complete` (see `plan_window`) adds the upstream history a selection lacks."""
    runs = []
    for number, step in enumerate(steps, start=1):
        echo(f"step {number}/{len(steps)}: {step.title}")
        plan = plan_window(defs, step.start, step.end, step.select, is_complete)
        for note in plan.notes:
            echo(f"  note: {note}")
        if runner is None:
            for index, planned in enumerate(plan.runs, start=1):
                waits = f" (after {', '.join(str(i + 1) for i in sorted(planned.after))})" if planned.after else ""
                echo(f"  [{index}/{len(plan.runs)}] {', '.join(planned.names)}: {planned.describe()}{waits}")
        else:
            runs += run_plan(plan.runs, runner, echo, tags)
    return runs


def materialize_window(
    defs: dg.Definitions,
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    select: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
    runner: Runner | None = None,
) -> list[NodeRun]:
    """Materialize the selected assets (all by default) for the partitions in start..end, in
    this process unless another runner is given."""
    plan = plan_window(defs, start, end, select)
    return run_plan(plan.runs, runner or InProcess(defs, instance), echo)
