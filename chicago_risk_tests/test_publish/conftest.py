import pytest

from chicago_risk_tests.fixtures.small_city import shared_small_city


@pytest.fixture(scope="session")
def small_city(tmp_path_factory):
    return shared_small_city(tmp_path_factory)


from chicago_risk_tests.fixtures.s3 import s3_server  # noqa: E402,F401  (the session's S3 server)
