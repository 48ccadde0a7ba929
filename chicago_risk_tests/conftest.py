"""Shared fixtures: a temporary warehouse and data directory per test, an ephemeral instance; and
the suite's order: modules marked `slow` (whole-graph runs, a minute or more) first, so that
pytest-xdist's two workers (`--dist loadfile`) share them instead of one finishing them alone."""

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from chicago_risk.config import Settings
from chicago_risk.definitions import build_definitions
from chicago_risk_tests.fixtures.instances import fast_test_instance


@pytest.fixture(autouse=True, scope="session")
def _sqlite_instances() -> Iterator[None]:
    """The suite's many short-lived data folders keep their Dagster instance in SQLite: the
    product's default, an embedded PostgreSQL server per instance, costs seconds to create and
    stays up until the process that started it exits (a pytest worker). The tests that start a
    command in a clean environment run the default: test_instance.py, test_demo.py,
    test_end_to_end.py."""
    with pytest.MonkeyPatch.context() as patch:  # session-wide: module fixtures create instances too
        patch.setenv("CHICAGO_RISK_DAGSTER_STORAGE", "sqlite")
        yield


@pytest.fixture
def short() -> Iterator[Path]:
    """A folder with a short path, for a data folder on the default instance: pytest's own are too
    deep (under xdist) for its embedded server's Unix socket."""
    folder = Path(tempfile.mkdtemp(prefix="cr-"))
    yield folder
    for pid_file in folder.glob("**/postgres/postmaster.pid"):  # a server a failed test left up
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The demo city at the default resolution, writing under a fresh directory."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with fast_test_instance() as test_instance:
        yield test_instance


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: the slow modules first, each module's tests in their order; every worker
    # collects the same order, as xdist requires.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
