"""Fixtures shared by the Tencent backend's end-to-end tests of each family."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.config import Settings
from tests.support.tencent_pair import Pair, running_pair


@pytest.fixture
async def pair(settings: Settings, redis_url: str) -> AsyncIterator[Pair]:
    """A cloud (imql's own REST v4 server standing in for Tencent) and a gateway pointed at it."""
    async with running_pair(settings, redis_url) as running:
        yield running
