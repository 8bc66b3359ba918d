"""Fixtures shared by the Tencent backend's end-to-end tests of each family."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.config import Settings
from gateway.keys import Keys
from gateway.tencent.inbound import OwnMessages
from tests.support.tencent_pair import Pair, running_pair


@pytest.fixture
async def pair(settings: Settings, redis_url: str) -> AsyncIterator[Pair]:
    """A cloud (imql's own REST v4 server standing in for Tencent) and a gateway pointed at it."""
    async with running_pair(settings, redis_url) as running:
        yield running


@pytest.fixture
async def own(redis_url: str, sdkappid: int) -> AsyncIterator[OwnMessages]:
    """The gateway's record of its own writes, under a fresh app (conftest's `sdkappid` cleans it up)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield OwnMessages(client, Keys(sdkappid))
    finally:
        await client.aclose()
