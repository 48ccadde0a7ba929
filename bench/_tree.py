"""The memory of a command's whole process tree, sampled while it runs.

The sum of RSS counts the libraries every Python process maps (Dagster, LightGBM, polars) once
per process; PSS splits shared pages between the processes sharing them, so its sum is what the
tree takes."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def tree_memory(root: psutil.Process) -> dict[psutil.Process, tuple[int, int]]:
    """(RSS, PSS) in bytes of `root` and every descendant."""
    found = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            memory = process.memory_full_info()
            found[process] = (memory.rss, memory.pss)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@dataclass
class Peaks:
    pss: int = 0  # the tree's summed PSS
    rss: int = 0  # the tree's summed RSS
    largest: int = 0  # the largest process's RSS
    seen: set = field(default_factory=set)

    def sample(self, root: psutil.Process) -> None:
        tree = tree_memory(root)
        self.seen |= set(tree)
        self.pss = max(self.pss, sum(pss for _, pss in tree.values()))
        self.rss = max(self.rss, sum(rss for rss, _ in tree.values()))
        self.largest = max(self.largest, max((rss for rss, _ in tree.values()), default=0))

    def describe(self) -> str:
        gib = 2**30
        return (
            f"PSS {self.pss / gib:.2f} GiB, RSS {self.rss / gib:.2f} GiB (largest process {self.largest / gib:.2f} GiB)"
        )


def run_sampled(command: list[str], env: dict, log: Path, interval_s: float = 0.5) -> tuple[float, Peaks, int]:
    """Run `command` to its end, its output to `log`: wall seconds, memory peaks, exit code."""
    peaks = Peaks()
    began = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid)
        while process.poll() is None:
            peaks.sample(root)
            time.sleep(interval_s)
    return time.monotonic() - began, peaks, process.returncode
