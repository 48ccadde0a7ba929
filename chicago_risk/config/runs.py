"""How `chicago-risk materialize` and `make demo` execute a plan (chicago_risk.backfill)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSettings:
    # Planned runs executed at the same time, and steps of one run at the same time (the
    # multiprocess executor's max_concurrent): the development machine and CI have 2 cores.
    parallel_runs: int = 2
    parallel_steps: int = 2
    # Steps that hold one to three GiB for a two-year window (measured: features 2.3, cost 3.0,
    # risk_model 2.2): a run holding one of them never starts beside another such run, so a
    # window's peak stays that of its largest step.
    memory_heavy: tuple[str, ...] = (
        "raw_311_requests", "cell_day_features", "cell_day_labels", "demo_truth", "risk_model",
        "model_evaluation", "risk_predictions", "cost_layer",
    )

    def __post_init__(self) -> None:
        if self.parallel_runs < 1 or self.parallel_steps < 1:
            raise ValueError(f"parallel_runs and parallel_steps must be at least 1, got {self}")


RUN_SETTINGS = RunSettings()
