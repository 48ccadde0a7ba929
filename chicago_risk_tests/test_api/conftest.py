"""The API over the small published city (read-only), and helpers to build more apps."""

import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from chicago_risk.config.serving import ServingSettings
from chicago_risk_tests.test_publish.small_city import shared_small_city

API_KEY = "test-key-0123456789"


def make_app(published_url: str, **settings):
    """An app on `published_url` that sees every new manifest at once and knows API_KEY."""
    settings = {"api_keys": (API_KEY,), "manifest_poll_s": 0, **settings}
    serving = ServingSettings(published_url=published_url, **settings)
    return create_app(serving, static_dir=None)


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
