"""Fixtures: a real Redis (a fresh SDKAppID per test isolates its keys), real gateways, real clients."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.keys import Keys
from tests.support.clients import HTTPClient
from tests.support.redis_server import PrivateRedis
from tests.support.servers import InProcessGateway, start_in_process

REDIS_URL = os.environ.get("IMQL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "test-secret-key-0123456789"


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def sdkappid(redis_url: str) -> Iterator[int]:
    """A fresh app per test: every key the test makes is under it, and is deleted afterwards."""
    app = random.randint(1_600_000_000, 1_999_999_999)
    yield app
    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in Keys(app).scan_patterns():
            batch = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(batch), 500):
                client.delete(*batch[start : start + 500])
    finally:
        client.close()


@pytest.fixture
def settings(sdkappid: int, redis_url: str, tmp_path: Path) -> Settings:
    # uploads go under the test's own directory, never the checkout
    return Settings(
        sdkappid=sdkappid, secret_key=SECRET, redis_url=redis_url, rate_limit_per_second=0, data_dir=tmp_path
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


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
