"""The callback worker's batches, on real Redis to a real endpoint: up to BATCH entries per read, a
read that finds fewer waits (linger) for more, a batch is delivered at once with its UnreadMsgNum
counted for all of it, and the consumer group is made once (again only after the stream was
deleted)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from gateway.clock import ManualClock
from gateway.engine.callbacks.hooks import Callbacks
from gateway.engine.callbacks.sender import CallbackSender
from gateway.engine.callbacks.worker import BATCH, CallbackWorker
from gateway.engine.unread_index import UnreadIndex
from gateway.keys import Keys
from gateway.store import open_redis
from gateway.v4 import callbacks as wire
from tests.test_callback_http import OK, RawEndpoint, raw_endpoint, response

LINGER = 1.0  # long enough that the test's second write lands inside it on a loaded machine


class RecordingWorker(CallbackWorker):
    """The worker as it is, telling the test the size of each batch it processes."""

    batches: list[int]

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        self.batches.append(len(entries))
        return await super()._process(entries)


async def wait_until(predicate: Any, what: str) -> None:
    for _ in range(1000):
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} did not happen")


async def test_batches_linger_and_are_delivered_at_once(redis_url: str, sdkappid: int) -> None:
    async def answer_slowly(_: int, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.1)  # several deliveries are in flight at once only if a batch is concurrent
        writer.write(response(OK))
        await writer.drain()

    redis = open_redis(redis_url)
    keys = Keys(sdkappid)
    clock = ManualClock()
    endpoint: RawEndpoint
    async with raw_endpoint(answer_slowly) as endpoint:
        sender = CallbackSender(f"http://127.0.0.1:{endpoint.port}/cb", None, sdkappid, clock, 5.0)
        callbacks = Callbacks(redis, keys, clock, sender, commands={wire.C2C_AFTER_READ})
        group_made = 0
        make_group = redis.xgroup_create

        async def counted_group(*args: Any, **kwargs: Any) -> Any:
            nonlocal group_made
            group_made += 1
            return await make_group(*args, **kwargs)

        redis.xgroup_create = counted_group

        async def report(peers: range) -> None:
            pipe = redis.pipeline(transaction=False)
            for n in peers:
                callbacks.queue_c2c_read(pipe, "bob", f"p{n}", n)
            await pipe.execute()

        async def delivered(count: int) -> bool:
            return len(endpoint.requests) >= count

        await report(range(40))  # queued before the worker starts: full batches, then the rest
        worker = RecordingWorker(redis, keys, sender, UnreadIndex(redis, keys).totals, consumer="c1")
        worker.batches = []
        worker.linger_seconds = LINGER
        worker.start()
        try:
            await wait_until(lambda: delivered(40), "40 deliveries")
            assert worker.batches == [BATCH, BATCH, 40 - 2 * BATCH]
            assert endpoint.most_open > 1  # a batch's deliveries went out together
            bodies = [orjson.loads(body) for _, body in endpoint.requests]
            assert sorted(b["LastReadTime"] for b in bodies) == list(range(40))
            assert {b["UnreadMsgNum"] for b in bodies} == {0}
            # one entry, then more while the worker lingers over it: one batch
            await report(range(100, 101))

            async def taken() -> bool:
                pending = await redis.xpending(keys.callback_queue(), "callbackers")
                return int(pending["pending"]) == 1

            await wait_until(taken, "the worker taking the entry")
            await report(range(101, 106))
            await wait_until(lambda: delivered(46), "6 more deliveries")
            assert worker.batches[3:] == [6]
            assert group_made == 1  # made once, not per read
            # a deleted stream takes its group: made again, and what is queued next is delivered
            await redis.delete(keys.callback_queue())
            await asyncio.sleep(0.1)
            await report(range(200, 201))
            await wait_until(lambda: delivered(47), "the delivery after the stream was deleted")
            assert group_made == 2
        finally:
            await worker.stop()
    await redis.aclose()
    await redis.connection_pool.disconnect()
