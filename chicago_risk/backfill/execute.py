"""Execute a plan: each planned run as one Dagster run, runs that do not wait for one another at
the same time.

Each run of `chicago-risk materialize` and `make demo` is a child process (`OutOfProcess`),
forked from a server that imported the libraries and the code location once (0.5 s a run instead
of seconds): its memory goes back to the system when it ends, so a window peaks at its largest
run, and up to `RunSettings.parallel_runs` of them run side by side. Processes, not threads: two
Dagster runs in threads of one process can deadlock in Dagster's logging set-up (seen here). A
child runs with the parent's environment at the time of the call; if the settings changed since
the server started, it imports the code location afresh. Runs launched from the Dagster UI use
Dagster's multiprocess executor instead. `InProcess` runs each in this process, one after
another (tests, benches).

A run holding a memory-heavy step (`RunSettings.memory_heavy`) never starts beside another one.
The first failure stops new runs from starting; runs already started finish, then the failure is
raised, naming the run and the check or step that failed.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import cast

import dagster as dg
import psutil

from chicago_risk.backfill.plan import BackfillError, PlannedRun
from chicago_risk.config.runs import RUN_SETTINGS, RunSettings
from chicago_risk.partitions import partition_range_tags
from chicago_risk.progress import format_duration

# Dagster's own step logs are for the UI; the command line prints progress lines instead.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Imported once by the fork server (started with the command's environment), not by every run.
# sqlalchemy and alembic: what Dagster's instance storage imports when a run loads the instance.
PRELOAD = [
    "dagster", "polars", "duckdb", "lightgbm", "matplotlib.pyplot", "deltalake", "sqlalchemy", "alembic",
    "chicago_risk.definitions",
]
# What chicago_risk's modules read from the environment when imported.
SETTINGS_PREFIXES = ("CHICAGO_RISK_", "DAGSTER_", "AWS_")
Echo = Callable[[str], None]


@dataclass(frozen=True)
class NodeRun:
    """What one executed run did."""

    assets: tuple[str, ...]
    first_partition: str
    last_partition: str
    partitions: int
    rows: int
    seconds: float
    run_id: str


@dataclass(frozen=True)
class Outcome:
    """A run's result, small enough to cross a process boundary."""

    run_id: str
    rows: int
    warnings: tuple[str, ...] = ()
    error: str | None = None  # the failed checks or steps; None when the run succeeded
    seconds: float = field(default=0.0, compare=False)


def execute_run(
    defs: dg.Definitions, instance: dg.DagsterInstance, planned: PlannedRun, tags: Mapping[str, str]
) -> Outcome:
    """One planned run as a single-run backfill over its range, in this process."""
    range_tags = (
        partition_range_tags(planned.partition_keys[0], planned.partition_keys[-1]) if planned.partition_keys else {}
    )
    began = time.perf_counter()
    job = defs.resolve_implicit_global_asset_job_def()
    # Progress lines (done/total, ETA) on the terminal, where the code location defines them.
    loggers = {**QUIET_RUN_CONFIG["loggers"], **({"progress": {}} if "progress" in job.loggers else {})}
    result = job.execute_in_process(
        run_config={"loggers": loggers}, instance=instance, asset_selection=list(planned.assets),
        tags={**tags, **range_tags}, raise_on_error=False,
    )
    # A range run records one materialization per partition, each with the run's row count.
    row_counts = {
        event.asset_key: cast(int, event.materialization.metadata["dagster/row_count"].value)
        for event in result.get_asset_materialization_events()
        if "dagster/row_count" in event.materialization.metadata
    }
    return Outcome(result.run_id, sum(row_counts.values()), tuple(_check_warnings(result)), _failure(result),
                   time.perf_counter() - began)


class InProcess:
    """Every run in this process, one after another."""

    parallel_runs = 1

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance = defs, instance

    def start(self, planned: PlannedRun, tags: Mapping[str, str]) -> _Done:
        return _Done(execute_run(self.defs, self.instance, planned, tags))


class OutOfProcess:
    """Every run in a child process (see the module docstring). `definitions` names the
    Definitions the child executes, `module:attribute`."""

    def __init__(
        self, definitions: str = "chicago_risk.definitions:defs", settings: RunSettings = RUN_SETTINGS
    ) -> None:
        self.definitions = definitions
        self.parallel_runs = settings.parallel_runs
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(PRELOAD)
        # Started now, so it imports while the caller builds its plan (seconds, on another core).
        multiprocessing.forkserver.ensure_running()
        # The instance's databases are created here, once: two runs creating them at the same
        # time would both stamp their schema.
        dg.DagsterInstance.get().dispose()

    def start(self, planned: PlannedRun, tags: Mapping[str, str]) -> _Child:
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=_run_in_child, args=(self.definitions, dict(os.environ), planned, dict(tags), sender),
            name=f"run {', '.join(planned.names)}",
        )
        process.start()
        sender.close()
        return _Child(process, receiver)


def _run_in_child(
    definitions: str, environ: dict[str, str], planned: PlannedRun, tags: dict, sender: Connection
) -> None:
    if _settings(os.environ) != _settings(environ):
        # The fork server imported chicago_risk under other settings (a process that changed them
        # between plans, as tests do): this run imports it afresh under its own.
        for name in [name for name in sys.modules if name.split(".")[0] == "chicago_risk"]:
            del sys.modules[name]
    os.environ.clear()
    os.environ.update(environ)
    module, attribute = definitions.split(":")
    defs = getattr(importlib.import_module(module), attribute)
    # This module as imported now (afresh, above, or the server's): its Outcome is the one pickled.
    execute = importlib.import_module(__name__).execute_run
    sender.send(execute(defs, dg.DagsterInstance.get(), planned, tags))


def _settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name.startswith(SETTINGS_PREFIXES)}


@dataclass
class _Done:
    outcome: Outcome

    def sentinel(self) -> None:
        return None

    def result(self) -> Outcome:
        return self.outcome

    def stop(self) -> None:
        pass


@dataclass
class _Child:
    process: BaseProcess
    receiver: Connection

    def sentinel(self) -> int:
        return self.process.sentinel

    def result(self) -> Outcome:
        self.process.join()
        if self.receiver.poll():
            return self.receiver.recv()
        return Outcome("", 0, error=f"its process ended with exit code {self.process.exitcode} (see above)")

    def stop(self) -> None:
        for child in psutil.Process(self.process.pid).children(recursive=True) if self.process.is_alive() else []:
            child.terminate()
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


Runner = InProcess | OutOfProcess


def run_plan(
    plan: Sequence[PlannedRun],
    runner: Runner,
    echo: Echo = print,
    tags: Mapping[str, str] | None = None,
    settings: RunSettings = RUN_SETTINGS,
) -> list[NodeRun]:
    """Execute every planned run once the runs it waits for have succeeded (see the module
    docstring); the results in plan order."""
    labels = [f"[{index}/{len(plan)}] {', '.join(planned.names)}" for index, planned in enumerate(plan, start=1)]
    heavy = [bool(set(planned.names) & set(settings.memory_heavy)) for planned in plan]
    done: dict[int, NodeRun] = {}
    running: dict[int, _Done | _Child] = {}
    began: dict[int, float] = {}
    failures: list[str] = []
    start_of_plan = time.perf_counter()

    def ready() -> list[int]:
        chosen: list[int] = []
        for index, planned in enumerate(plan):
            if index in done or index in running or not planned.after <= set(done):
                continue
            if heavy[index] and any(heavy[i] for i in (*running, *chosen)):
                continue
            chosen.append(index)
        return chosen[: runner.parallel_runs - len(running)]

    def finish(index: int) -> None:
        handle = running.pop(index)
        outcome = handle.result()
        for warning in outcome.warnings:
            echo(f"{labels[index]}: warning: {warning}")
        if outcome.error is not None:
            failures.append(f"{labels[index]}: {outcome.error}")
            echo(f"{labels[index]}: FAILED: {outcome.error}")
            return
        seconds = time.perf_counter() - began[index]
        planned = plan[index]
        keys = planned.partition_keys or ("(unpartitioned)",)
        done[index] = NodeRun(planned.names, keys[0], keys[-1], len(keys), outcome.rows, seconds, outcome.run_id)
        echo(f"{labels[index]}: done in {format_duration(seconds)}, {outcome.rows:,} rows "
             f"({len(done)}/{len(plan)} runs, {format_duration(time.perf_counter() - start_of_plan)} in all)")

    try:
        while len(done) < len(plan) and not failures:
            for index in ready():
                echo(f"{labels[index]}: {plan[index].describe()} ...")
                began[index] = time.perf_counter()
                running[index] = runner.start(plan[index], tags or {})
            if not running:
                raise BackfillError(
                    f"no run can start; waiting: {[labels[i] for i in range(len(plan)) if i not in done]}"
                )
            waiting = {handle.sentinel(): index for index, handle in running.items()}
            # (`wait` hands back the sentinels it was given, the processes' ints, typed as any waitable.)
            finished = (
                [waiting[None]] if None in waiting
                else [waiting[cast(int, s)] for s in wait([s for s in waiting if s is not None])]
            )
            for index in finished:
                finish(index)
        for index in list(running):  # runs already started finish, so their partitions are whole
            finish(index)
    except KeyboardInterrupt:
        echo(f"interrupted: stopping {len(running)} running run(s)")
        for handle in running.values():
            handle.stop()
        raise
    if failures:
        raise BackfillError("; ".join(failures))
    return [done[index] for index in range(len(plan))]


def _check_warnings(result: dg.ExecuteInProcessResult) -> list[str]:
    """Checks of severity WARN that did not pass: reported, never a failure."""
    return [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} did not pass"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    ]


def _failure(result: dg.ExecuteInProcessResult) -> str | None:
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    if failed_checks:
        return f"checks failed: {', '.join(failed_checks)} (run {result.run_id})"
    if result.success:
        return None
    steps = [
        f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
        for event in result.get_step_failure_events()
        if event.event_specific_data is not None and event.step_failure_data.error is not None
    ]
    return f"run {result.run_id} failed: " + ("; ".join(steps) or "see the run's logs")


def _root_cause(error) -> str:
    """The innermost error's message (Dagster wraps what the asset raised in its own error)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()
