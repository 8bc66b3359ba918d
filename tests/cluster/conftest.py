"""Every test under tests/cluster runs on the suite's local Redis Cluster (3 masters + 3 replicas,
tests/support/redis_cluster.py): the `redis_url` and `redis_is_cluster` fixtures the shared ones
(settings, server, client, gateways spawned as processes) are built from name it here.

Most modules import a representative set of the suite's own tests, which then run a second time,
on the cluster, with their own fixtures (imported beside them)."""

from __future__ import annotations

import pytest

from tests.support.redis_cluster import RedisCluster


@pytest.fixture(autouse=True)
def _cluster_settled(request: pytest.FixtureRequest) -> None:
    """A test that paused a node of the suite's cluster (tests/cluster/test_steps.py) may leave it
    converging (a replica paused past the node timeout is flagged failed for a moment): the next
    test starts once every node is back and agrees on the topology."""
    if "redis_cluster" in request.fixturenames:
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.wait_healthy()


@pytest.fixture
def redis_url(redis_cluster: RedisCluster) -> str:
    return redis_cluster.url


@pytest.fixture
def redis_is_cluster() -> bool:
    return True
