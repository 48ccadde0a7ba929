"""Progress of long steps: `done/total` with an ETA, as Dagster log events (the UI shows them in
the run's log) that the command line also prints as they come.

    progress = Progress(context.log, "cutoffs", total=len(cutoffs))
    for cutoff in cutoffs:
        ...
        progress.advance(str(cutoff))   # "progress: cutoffs 37/106 (2024-03-04), 2 min 10 s, ETA 4 min"

A line is logged at most every `every_s` seconds, and always for the last item.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import dagster as dg

PREFIX = "progress: "


def format_duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class Progress:
    def __init__(
        self, log: logging.Logger | dg.DagsterLogManager, what: str, total: int, every_s: float = 5.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.log, self.what, self.total, self.every_s, self.clock = log, what, total, every_s, clock
        self.done = 0
        self.began = self.last = clock()

    def advance(self, detail: str = "", items: int = 1) -> None:
        self.done += items
        now = self.clock()
        if now - self.last < self.every_s and self.done < self.total:
            return
        self.last = now
        elapsed = now - self.began
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        about = f" ({detail})" if detail else ""
        tail = f", ETA {format_duration(eta)}" if self.done < self.total else ""
        self.log.info(f"{PREFIX}{self.what} {self.done}/{self.total}{about}, {format_duration(elapsed)}{tail}")


class _ProgressLines(logging.Handler):
    """Writes progress messages (only) to stderr, as `<step>: <message>`."""

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        message = str(meta.get("orig_message", record.getMessage()))
        if message.startswith(PREFIX):
            sys.stderr.write(f"    {meta.get('step_key') or 'run'}: {message[len(PREFIX):]}\n")
            sys.stderr.flush()


# The ignore: dagster's overloads of `logger` require `config_schema`, which the function defaults to None.
@dg.logger(description="Prints only progress lines (done/total, ETA) on the terminal of the run's process.")  # type: ignore[call-overload]
def progress_lines(_init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("chicago_risk.progress")
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        logger.addHandler(_ProgressLines())
    logger.propagate = False
    return logger
