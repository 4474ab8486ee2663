"""Fixtures the fault tests share."""

import pytest

from tests.faults.services import OwnRedis


@pytest.fixture
def redis_server():
    """A Redis of the test's own, on a free port, to stop, pause or point a worker at."""
    server = OwnRedis()
    server.start()
    yield server
    server.cleanup()
