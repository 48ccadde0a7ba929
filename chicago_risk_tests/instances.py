"""Ephemeral Dagster instances for tests."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

# Dagster's SQLite event log commits once per partition event; on tmpfs that costs no disk sync.
FAST_TMP = "/dev/shm" if Path("/dev/shm").is_dir() else None


@contextmanager
def fast_test_instance() -> Iterator[dg.DagsterInstance]:
    with tempfile.TemporaryDirectory(dir=FAST_TMP) as home, dg.instance_for_test(temp_dir=home) as instance:
        yield instance
