"""The scripted local server each source test talks to (`chicago_risk_tests.fixtures.servers`)."""

from collections.abc import Iterator

import pytest

from chicago_risk_tests.fixtures.servers import FakeServer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running
