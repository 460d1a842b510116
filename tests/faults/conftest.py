"""Fixtures of the fault tests: a Redis server of the test's own, restarted or thrown away at will."""

import pytest

from tests.faults.processes import redis_running


@pytest.fixture
def redis_server(tmp_path):
    with redis_running(tmp_path / "redis") as server:
        yield server
