"""Fixtures: a real Redis (a fresh SDKAppID per test isolates its keys), real gateways, real clients."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.services import Gateway
from tests.support.callback_receiver import CallbackReceiver
from tests.support.clients import HTTPClient
from tests.support.redis_cluster import RedisCluster, cluster_binaries, delete_app_keys
from tests.support.redis_server import PrivateRedis
from tests.support.servers import InProcessGateway, start_in_process

REDIS_URL = os.environ.get("IMQL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# IMQL_TEST_REDIS_CLUSTER=1: IMQL_TEST_REDIS_URL names a node of a Redis Cluster, and every test
# that uses the `settings` fixture runs on it (the `redis_cluster` fixture is the suite's own cluster)
REDIS_CLUSTER = os.environ.get("IMQL_TEST_REDIS_CLUSTER", "") == "1"
SECRET = "test-secret-key-0123456789"


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_is_cluster() -> bool:
    """Whether `redis_url` names a node of a Redis Cluster (a test may override both)."""
    return REDIS_CLUSTER


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A local Redis Cluster (3 masters, 3 replicas), started once per test process (xdist worker)."""
    binaries = cluster_binaries()
    if binaries is None:
        pytest.skip("needs the redis-server and redis-cli binaries to run a local Redis Cluster")
    cluster = RedisCluster(*binaries)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def sdkappid(redis_url: str, redis_is_cluster: bool) -> Iterator[int]:
    """A fresh app per test: every key the test makes is under it, and is deleted afterwards."""
    app = random.randint(1_600_000_000, 1_999_999_999)
    yield app
    delete_app_keys(redis_url, app, cluster=redis_is_cluster)


@pytest.fixture
def settings(sdkappid: int, redis_url: str, redis_is_cluster: bool, tmp_path: Path) -> Settings:
    # uploads go under the test's own directory, never the checkout
    return Settings(
        sdkappid=sdkappid,
        secret_key=SECRET,
        redis_url=redis_url,
        redis_cluster=redis_is_cluster,
        rate_limit_per_second=0,
        data_dir=tmp_path,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def gw(settings: Settings, clock: ManualClock) -> AsyncIterator[Gateway]:
    """A started gateway on the test's settings and clock, in process, without a server (a module
    that needs other settings defines its own `gw`)."""
    gateway = Gateway.build(settings, clock=clock)
    await gateway.start()
    yield gateway
    await gateway.close()


@pytest.fixture
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[InProcessGateway]:
    running = await start_in_process(settings, clock)
    yield running
    await running.stop()


@pytest.fixture
async def client(server: InProcessGateway, clock: ManualClock) -> AsyncIterator[HTTPClient]:
    http = HTTPClient(server.base_url, server.settings.sdkappid, server.settings.secret_key, now=clock.now)
    yield http
    await http.aclose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of the test's own (free port, AOF on), stopped afterwards whatever its state."""
    own = PrivateRedis(tmp_path)
    own.start()
    yield own
    own.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    """An HTTP endpoint of the test's own taking the app's callbacks (tests.support.callback_receiver)."""
    r = CallbackReceiver()
    await r.start()
    yield r
    await r.stop()
