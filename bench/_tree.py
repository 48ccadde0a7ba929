"""The memory of a command's whole process tree, sampled while it runs.

The sum of RSS counts the libraries every Python process maps (Dagster, LightGBM, polars) once
per process; PSS splits shared pages between the processes sharing them, so its sum is what the
tree takes."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def tree_memory(root: psutil.Process) -> dict[psutil.Process, tuple[int, int]]:
    """(RSS, PSS) in bytes of `root` and every descendant."""
    found: dict[psutil.Process, tuple[int, int]] = {}
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:  # gone between finding and sampling (a server's start-up helper)
        return found
    for process in processes:
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
    during: str = ""  # what the command was doing when the tree's PSS peaked
    seen: set = field(default_factory=set)

    def sample(self, tree: dict[psutil.Process, tuple[int, int]], doing: str = "") -> None:
        self.seen |= set(tree)
        pss = sum(pss for _, pss in tree.values())
        if pss > self.pss:
            self.pss, self.during = pss, doing
        self.rss = max(self.rss, sum(rss for rss, _ in tree.values()))
        self.largest = max(self.largest, max((rss for rss, _ in tree.values()), default=0))

    def describe(self) -> str:
        gib = 2**30
        return (
            f"PSS {self.pss / gib:.2f} GiB, RSS {self.rss / gib:.2f} GiB (largest process {self.largest / gib:.2f} GiB)"
        )


def run_sampled(
    command: list[str], env: dict, log: Path, interval_s: float = 0.5,
    servers: Callable[[], tuple[psutil.Process, ...]] = tuple,
) -> tuple[float, dict[str, Peaks], int]:
    """Run `command` to its end, its output to `log`: wall seconds, memory peaks per step of the
    command (its "step i/n: ..." lines; "all" for the whole command), exit code. The memory of
    `servers` (and their children) the command uses counts with the command's."""
    peaks: dict[str, Peaks] = {"all": Peaks()}
    step = doing = pending = ""
    began = time.monotonic()
    with log.open("w") as out, log.open(errors="replace") as follow:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid)
        while process.poll() is None:
            # What the command wrote since the last sample; a line not yet ended waits for its end.
            *lines, pending = (pending + follow.read()).split("\n")
            for line in lines:
                step = line.strip() if line.startswith("step ") else step
                doing = line.strip() if line.startswith("[") else doing
            tree = {process: memory for each in (root, *servers()) for process, memory in tree_memory(each).items()}
            peaks["all"].sample(tree, doing)
            if step:
                peaks.setdefault(step, Peaks()).sample(tree, doing)
            time.sleep(interval_s)
    return time.monotonic() - began, peaks, process.returncode
