"""gateway.engine.upstream_turns: one write per scope between the upstream and the mirror, on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.engine import upstream_turns
from gateway.engine.upstream_turns import UpstreamTurns
from gateway.errors import Code, IMError
from gateway.keys import Keys


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_a_second_write_of_the_scope_waits_for_the_first(redis: aioredis.Redis, sdkappid: int) -> None:
    turns = UpstreamTurns(redis, Keys(sdkappid), enabled=True)
    order: list[str] = []
    first_inside = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with turns.turn("group:g1"):
            order.append("first in")
            first_inside.set()
            await release.wait()
            order.append("first out")

    async def second() -> None:
        await first_inside.wait()
        async with turns.turn("group:g1"):
            order.append("second in")

    async def other_scope() -> None:
        await first_inside.wait()
        async with turns.turn("group:g2"):  # another group's writes do not wait
            order.append("other in")
        release.set()

    await asyncio.gather(first(), second(), other_scope())
    assert order == ["first in", "other in", "first out", "second in"]
    assert not await redis.exists(Keys(sdkappid).upstream_turn("group:g1"))  # released


async def test_a_turn_is_reentrant_within_a_task(redis: aioredis.Redis, sdkappid: int) -> None:
    turns = UpstreamTurns(redis, Keys(sdkappid), enabled=True)
    async with turns.turn("group:g1"), turns.turn("group:g1"):
        assert await redis.exists(Keys(sdkappid).upstream_turn("group:g1"))
    assert not await redis.exists(Keys(sdkappid).upstream_turn("group:g1"))


async def test_a_turn_held_too_long_ends_the_wait_with_7012(
    redis: aioredis.Redis, sdkappid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upstream_turns, "TURN_WAIT_SECONDS", 0.1)
    await redis.set(Keys(sdkappid).upstream_turn("group:g1"), "a dead replica's", ex=30)
    turns = UpstreamTurns(redis, Keys(sdkappid), enabled=True)
    with pytest.raises(IMError) as caught:
        async with turns.turn("group:g1"):
            pass
    assert caught.value.code == Code.ERR_SDK_INTERNAL_ERROR
    # the other holder's turn is not released by the one that gave up
    assert await redis.get(Keys(sdkappid).upstream_turn("group:g1")) == "a dead replica's"


async def test_without_an_upstream_no_turn_is_taken(redis: aioredis.Redis, sdkappid: int) -> None:
    turns = UpstreamTurns(redis, Keys(sdkappid), enabled=False)
    async with turns.turn("group:g1"):
        assert not await redis.exists(Keys(sdkappid).upstream_turn("group:g1"))


async def test_a_turn_left_by_a_dead_holder_lapses_after_its_ttl(redis: aioredis.Redis, sdkappid: int) -> None:
    """A turn taken with a TTL of its own (a kick tip's move: a few round trips) blocks the scope
    that long if its holder never gives it back; a turn without one, TURN_TTL_SECONDS."""
    keys = Keys(sdkappid)
    turns = UpstreamTurns(redis, keys, enabled=True)
    async with turns.turn("kick-tip:t1", ttl=5):
        assert 0 < await redis.pttl(keys.upstream_turn("kick-tip:t1")) <= 5_000
    async with turns.turn("group:g1"):
        assert 5_000 < await redis.pttl(keys.upstream_turn("group:g1")) <= upstream_turns.TURN_TTL_SECONDS * 1000


async def test_a_short_turn_is_kept_by_a_holder_that_takes_longer_than_its_ttl(
    redis: aioredis.Redis, sdkappid: int
) -> None:
    """A turn with a TTL shorter than TURN_TTL_SECONDS is renewed while held: a write that takes
    longer (a Redis stall) keeps it, and the next waits until it is given back."""
    keys = Keys(sdkappid)
    turns = UpstreamTurns(redis, keys, enabled=True)
    order: list[str] = []
    inside = asyncio.Event()

    async def slow() -> None:
        async with turns.turn("kick-tip:t1", ttl=1):
            order.append("slow in")
            inside.set()
            await asyncio.sleep(1.6)  # past its 1 s TTL
            order.append("slow out")

    async def next_one() -> None:
        await inside.wait()
        async with turns.turn("kick-tip:t1", ttl=1):
            order.append("next in")

    await asyncio.gather(slow(), next_one())
    assert order == ["slow in", "slow out", "next in"]
    assert not await redis.exists(keys.upstream_turn("kick-tip:t1"))
