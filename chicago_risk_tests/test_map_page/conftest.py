"""The small published city (shared with the API and publish tests), the API serving it with
the map page, and one headless Chromium for the module."""

import json
import logging
import urllib.request

import pytest

from chicago_risk_tests.fixtures.browser import chromium, serve_api
from chicago_risk_tests.fixtures.small_city import shared_small_city


@pytest.fixture(scope="session")
def small_city(tmp_path_factory):
    return shared_small_city(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(small_city):
    logger = logging.getLogger("chicago_risk.api")  # one JSON line per request is noise here
    level = logger.level
    with serve_api(small_city.published_url) as url:
        logger.setLevel(logging.WARNING)  # after the app's configure_logging, which sets INFO
        yield url
    logger.setLevel(level)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


@pytest.fixture(scope="module")
def get_json(base_url):
    """GET an API route (the same server the page calls): what the page should show."""

    def get(path: str):
        with urllib.request.urlopen(f"{base_url}{path}", timeout=10) as response:
            return json.load(response)

    return get
