"""Synthetic cities shared by the model tests (built once per session)."""

import pytest

from chicago_risk_tests.fixtures.synthetic import synthetic_city


@pytest.fixture(scope="session")
def small_city():
    """60 cells x 500 days from 2023-01-02: (features, labels, truth)."""
    return synthetic_city(days=500, cells=60)
