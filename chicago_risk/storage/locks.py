"""The DuckDB file's writer lock: DuckDB lets one process open the file read-write, so every
connection is taken under an exclusive `flock` beside it and concurrent Dagster steps wait their
turn instead of failing. (Delta tables need no lock of ours: delta-rs commits optimistically.)

Waiters queue at a gate (a second lock file) before the lock itself: the one waiting holds the
gate, so a process that releases the lock and asks again at once queues behind it instead of
taking the lock back before the waiter's next try (a reader in a loop starved a writer so)."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class LockTimeout(RuntimeError):
    """Another writer kept the lock longer than the configured wait."""


@contextmanager
def exclusive_lock(lock_path: Path, timeout_s: float | None = None) -> Iterator[None]:
    """An exclusive `flock` on `lock_path`, across processes and across open files of one process;
    `LockTimeout` after `timeout_s` seconds of waiting (None: wait as long as it takes)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with open(lock_path.with_name(f"{lock_path.name}.gate"), "a+") as gate, open(lock_path, "a+") as handle:
        _flock(gate, lock_path, timeout_s, deadline)
        try:
            _flock(handle, lock_path, timeout_s, deadline)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flock(handle: IO, lock_path: Path, timeout_s: float | None, deadline: float | None) -> None:
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
            return
        except BlockingIOError:
            assert deadline is not None  # only a non-blocking flock raises BlockingIOError
            if time.monotonic() > deadline:
                raise LockTimeout(
                    f"{lock_path.with_suffix('')} stayed busy for {timeout_s:.0f} s; another "
                    "chicago-risk run is writing: wait for it or stop it"
                ) from None
            time.sleep(0.05)
