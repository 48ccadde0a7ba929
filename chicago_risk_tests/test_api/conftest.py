"""The API over the small published city (read-only)."""

import logging

import pytest
from fastapi.testclient import TestClient

from chicago_risk_tests.fixtures.api import make_app
from chicago_risk_tests.fixtures.small_city import shared_small_city


@pytest.fixture(scope="session")
def small_city(tmp_path_factory):
    return shared_small_city(tmp_path_factory)


@pytest.fixture(scope="module")
def client(small_city):
    with TestClient(make_app(small_city.published_url)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _quiet_access_log():
    # One JSON line per request is noise in a failing test's output; tests of the log turn it on.
    logger = logging.getLogger("chicago_risk.api")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
