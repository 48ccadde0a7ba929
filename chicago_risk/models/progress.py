"""Progress of a long step as log lines the Dagster UI shows: done/total, elapsed and ETA."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """Call `step(message)` after each unit of work: logs `message (done/total, elapsed, ETA)`,
    the ETA from the mean time per unit so far."""

    def __init__(self, total: int, log: Callable[[str], None]) -> None:
        self.total, self.log, self.done = total, log, 0
        self.began = time.perf_counter()

    def step(self, message: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.began
        left = elapsed / self.done * (self.total - self.done)
        self.log(f"{message} ({self.done}/{self.total}, {_clock(elapsed)} elapsed, ETA {_clock(left)})")


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
