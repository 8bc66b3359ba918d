"""gateway.batching.SharedPipelines on a real Redis: callers of one moment share one pipeline, each
gets its own replies in order, and the very same read asked by several of them is sent once."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.batching import SharedPipelines
from gateway.services import Gateway


class Counting:
    """The gateway's own Redis client; counts the commands each pipeline it hands out sends."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self.sent: list[int] = []

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self._redis.pipeline(transaction=transaction)
        execute = pipe.execute

        async def counted(raise_on_error: bool = True) -> Any:
            self.sent.append(len(pipe.command_stack))
            return await execute(raise_on_error=raise_on_error)

        pipe.execute = counted
        return pipe


async def test_callers_of_one_moment_asking_the_same_range_share_one_read(gw: Gateway) -> None:
    stream, other, names = gw.keys.group_events("shared-read"), gw.keys.group_events("other"), gw.keys.profile("u")
    first = await gw.redis.xadd(stream, {"e": "1"})
    await gw.redis.xadd(stream, {"e": "2"})
    await gw.redis.xadd(other, {"e": "3"})
    await gw.redis.hset(names, mapping={"nick": "u"})
    counting = Counting(gw.redis)
    shared = SharedPipelines(counting, 100)

    async def ask(commands: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
        pipe = shared.pipeline()
        for name, args, kwargs in commands:
            getattr(pipe, name)(*args, **kwargs)
        return await pipe.execute()

    everything = ("xrange", (stream,), {"min": "-", "max": "+", "count": 10})
    from_first = ("xrange", (stream,), {"min": f"({first}", "max": "+"})
    try:
        replies = await asyncio.gather(
            ask([everything, ("hgetall", (names,), {})]),
            ask([everything]),  # the same as the first caller's: read once for both
            ask([("xrange", (other,), {"min": "-", "max": "+", "count": 10}), from_first]),
            ask([from_first, everything]),
        )
    finally:
        await shared.close()
        await gw.redis.delete(stream, other, names)
    all_of_stream = [(str(i), f) for i, f in replies[0][0]]
    assert [f for _, f in all_of_stream] == [{"e": "1"}, {"e": "2"}]
    assert replies[0][1] == {"nick": "u"}
    assert replies[1] == [replies[0][0]]
    assert [f for _, f in replies[2][0]] == [{"e": "3"}]
    assert [f for _, f in replies[2][1]] == [{"e": "2"}]
    assert replies[3] == [replies[2][1], replies[0][0]]
    # one pipeline for the four callers: 3 distinct XRANGEs and the HGETALL, not 7 commands
    assert counting.sent == [4]
