"""Poison entries of a StreamConsumer (gateway.background), on real Redis: an entry whose handling
fails at every delivery is moved to its stream's dead-letter stream after `max_deliveries`
deliveries (fields intact, acknowledged, deleted, logged once, counted), instead of being claimed
again every `claim_idle_seconds` for ever; the entries after it are handled meanwhile; an entry
that fails fewer times than that is handled and kept out of the dead-letter stream. Each test runs
on a single Redis and on the suite's local Redis Cluster, where the move (one transaction over the
stream and its dead-letter stream) must stay in one hash slot."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest

from gateway.background import StreamConsumer
from gateway.keys import Keys
from gateway.metrics import Metrics
from gateway.services import Gateway
from gateway.store import close_redis, open_redis
from gateway.tencent.inbound import InboundEvent, InboundWorker, OwnMessages
from gateway.v4 import callbacks as wire
from tests.support.redis_cluster import RedisCluster
from tests.tencent import fixtures as fx

QUICK_CLAIM_SECONDS = 0.05  # an entry left pending is claimed again almost at once
QUICK_READ_MILLISECONDS = 50  # a read of an empty stream comes back soon, so claims are tried often
CAP = 3  # deliveries before an entry is dead-lettered, below the default so the tests stay short
ALWAYS = 10**6  # failures of an entry that never succeeds


@pytest.fixture(params=["single", "cluster"])
async def redis(request: pytest.FixtureRequest, redis_url: str, redis_is_cluster: bool) -> AsyncIterator[Any]:
    if request.param == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        client = open_redis(cluster.url, cluster=True)
    else:
        client = open_redis(redis_url, cluster=redis_is_cluster)
    yield client
    await close_redis(client)


@pytest.fixture
async def stream(redis: Any, sdkappid: int) -> AsyncIterator[str]:
    """A work stream of the test's own app (so under the app's hash tag, as every Keys stream), deleted
    afterwards with its dead-letter stream."""
    name = f"imql:{{{sdkappid}}}:poison-test"
    yield name
    await redis.delete(name)
    await redis.delete(Keys.dead_letters(name))


class Flaky(StreamConsumer):
    """A consumer whose handler fails each entry (named by its "name" field) its first `fails[name]`
    times, then handles it."""

    task_name = "imql-test-flaky"
    group = "testers"
    claim_idle_seconds = QUICK_CLAIM_SECONDS
    block_milliseconds = QUICK_READ_MILLISECONDS
    error_pause_seconds = 0.05
    max_deliveries = CAP

    def __init__(self, redis: Any, stream: str, fails: dict[str, int], *, together: bool = False) -> None:
        super().__init__(redis, stream, "c1")
        self.fails = fails
        self.together = together
        self.calls: Counter[str] = Counter()
        self.handled: list[str] = []
        self.metrics = Metrics()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        if self.together:
            return await self._together(entries, self._handle)
        return await self._one_by_one(entries, self._handle)

    async def _handle(self, fields: dict[Any, Any]) -> None:
        name = fields["name"]
        self.calls[name] += 1
        if self.calls[name] <= self.fails.get(name, 0):
            raise RuntimeError(f"{name} cannot be handled")
        self.handled.append(name)

    def dead_lettered(self) -> float:
        assert self.metrics is not None
        value = self.metrics.registry.get_sample_value(
            "imql_stream_entries_dead_lettered_total", {"stream": self._stream}
        )
        return value or 0.0


async def eventually(check: Callable[[], Awaitable[Any] | bool], what: str, timeout: float = 10.0) -> None:
    """Polls `check` (a test of Redis, or of what the worker recorded) until it holds."""
    deadline = time.monotonic() + timeout
    while not await _value(check()):
        assert time.monotonic() < deadline, f"{what} did not happen"
        await asyncio.sleep(0.02)


async def _value(result: Awaitable[Any] | bool) -> Any:
    return await result if inspect.isawaitable(result) else result


async def settled(redis: Any, stream: str, group: str) -> bool:
    """Nothing left to do: the work stream is empty and nothing is pending."""
    left = int(await redis.xlen(stream))
    pending = int((await redis.xpending(stream, group))["pending"])
    return left == pending == 0


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "together"])
async def test_a_poison_entry_is_dead_lettered_after_the_cap_and_the_entries_after_it_are_handled(
    redis: Any, stream: str, together: bool, caplog: pytest.LogCaptureFixture
) -> None:
    poison_fields = {"name": "poison", "job": '{"to": "bob", "text": "never"}'}
    poison_id = await redis.xadd(stream, poison_fields)
    await redis.xadd(stream, {"name": "good"})  # read in the same batch as the poison
    worker = Flaky(redis, stream, {"poison": ALWAYS}, together=together)
    dead_letters = Keys.dead_letters(stream)
    caplog.set_level(logging.ERROR, logger="imql")
    worker.start()
    try:
        await eventually(lambda: redis.exists(dead_letters), "the poison entry's dead-lettering")
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        ((_, fields),) = await redis.xrange(dead_letters)
        assert fields == poison_fields
        assert worker.calls["poison"] == CAP  # its first read, then a claim per failure, then given up
        assert worker.handled == ["good"]  # in the first batch, not after the poison was given up
        assert worker.dead_lettered() == 1
        (given_up,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # logged once
        assert poison_id in given_up
        assert stream in given_up
        assert f"after {CAP} deliveries" in given_up
        # the worker goes on, and the poison entry is claimed no more
        await redis.xadd(stream, {"name": "later"})
        await eventually(lambda: "later" in worker.handled, "the later entry's handling")
        assert worker.calls["poison"] == CAP
        assert await redis.xlen(dead_letters) == 1
    finally:
        await worker.stop()


async def test_an_entry_that_fails_fewer_times_than_the_cap_is_handled_not_dead_lettered(
    redis: Any, stream: str
) -> None:
    await redis.xadd(stream, {"name": "flaky"})
    worker = Flaky(redis, stream, {"flaky": CAP - 1})  # handled at its last delivery before the cap
    worker.start()
    try:
        await eventually(lambda: worker.handled == ["flaky"], "the flaky entry's handling")
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.calls["flaky"] == CAP
        assert not await redis.exists(Keys.dead_letters(stream))
        assert worker.dead_lettered() == 0
    finally:
        await worker.stop()


async def test_a_dead_consumers_entry_is_taken_over_and_counts_its_first_delivery(redis: Any, stream: str) -> None:
    """Read by a consumer that died with it: claimed by a live one (its second delivery) and handled,
    then dead-lettered only if it keeps failing, one delivery sooner."""
    worker = Flaky(redis, stream, {"left": 1, "doomed": ALWAYS})
    await redis.xgroup_create(stream, worker.group, id="0", mkstream=True)
    for name in ("left", "doomed"):
        await redis.xadd(stream, {"name": name})
    await redis.xreadgroup(worker.group, "dead-replica", {stream: ">"}, count=2)
    worker.start()
    try:
        await eventually(lambda: redis.exists(Keys.dead_letters(stream)), "the doomed entry's dead-lettering")
        await eventually(lambda: settled(redis, stream, worker.group), "the stream's emptying")
        assert worker.handled == ["left"]
        assert worker.calls == {"left": 2, "doomed": CAP - 1}  # the dead consumer had the first delivery
        ((_, fields),) = await redis.xrange(Keys.dead_letters(stream))
        assert fields == {"name": "doomed"}
    finally:
        await worker.stop()


class FailingHandler:
    def __init__(self) -> None:
        self.calls = 0

    async def handle(self, event: InboundEvent) -> None:
        self.calls += 1
        raise RuntimeError("the backend is down")


async def test_the_inbound_workers_poison_callback_is_dead_lettered_with_its_fields(redis: Any, sdkappid: int) -> None:
    """InboundWorker uses the general cap (its MAX_ATTEMPTS, read when built): a webhook its handler
    always refuses is kept in the dead-letter stream, as queued, not dropped."""
    keys = Keys(sdkappid)
    handler = FailingHandler()
    worker = InboundWorker(redis, keys, handler, OwnMessages(redis, keys), consumer="c1")
    worker.claim_idle_seconds = QUICK_CLAIM_SECONDS
    worker.block_milliseconds = QUICK_READ_MILLISECONDS
    worker.max_deliveries = CAP
    queue = keys.tencent_inbound_queue()
    queued = {"cmd": wire.C2C_AFTER_SEND, "platform": "iOS", "ip": "", "body": orjson.dumps(fx.C2).decode()}
    await redis.xadd(queue, queued)
    worker.start()
    try:
        await eventually(lambda: redis.exists(Keys.dead_letters(queue)), "the callback's dead-lettering")
        await eventually(lambda: settled(redis, queue, worker.group), "the queue's emptying")
        assert handler.calls == CAP
        ((_, fields),) = await redis.xrange(Keys.dead_letters(queue))
        assert fields == queued
    finally:
        await worker.stop()
        await redis.delete(queue, Keys.dead_letters(queue))


async def test_the_gateways_workers_count_what_they_give_up_on_in_its_metrics(gw: Gateway) -> None:
    """Each queue's worker of a running gateway reports to the gateway's own /metrics registry (a
    worker built without it would give entries up silently)."""
    workers = [gw.push_worker, gw.callback_worker, gw.all_member_push_worker, gw.tencent_inbound]
    built = [w for w in workers if w is not None]
    assert gw.all_member_push_worker in built
    assert all(w.metrics is gw.metrics for w in built), [type(w).__name__ for w in built if w.metrics is not gw.metrics]
    # each queue's series is there from the start, at 0 (an alert on its increase sees the first)
    exposed = gw.metrics.registry.get_sample_value(
        "imql_stream_entries_dead_lettered_total", {"stream": gw.keys.push_tasks()}
    )
    assert exposed == 0.0


class Slow(StreamConsumer):
    """A consumer whose handler never fails but takes longer than claim_idle_seconds per entry."""

    task_name = "imql-test-slow"
    group = "testers"
    batch = 10
    claim_idle_seconds = 0.2
    block_milliseconds = QUICK_READ_MILLISECONDS
    max_deliveries = CAP

    def __init__(self, redis: Any, stream: str, name: str, handled: list[str]) -> None:
        super().__init__(redis, stream, name)
        self.handled = handled
        self.metrics = Metrics()

    async def _process(self, entries: list[tuple[Any, dict[Any, Any]]]) -> list[Any]:
        return await self._one_by_one(entries, self._handle)

    async def _handle(self, fields: dict[Any, Any]) -> None:
        await asyncio.sleep(0.3)
        self.handled.append(fields["n"])


@pytest.mark.parametrize("redis", ["single"], indirect=True)
async def test_entries_a_slow_replica_holds_are_neither_taken_over_nor_dead_lettered(redis: Any, stream: str) -> None:
    """A batch handled one entry at a time, each slower than claim_idle_seconds, on one of four
    replicas: the entries still waiting in its hand once went idle, were claimed by the others and
    handled again, and each claim counted a delivery, so entries never failing were dead-lettered.
    The replica now keeps its entries in hand claimed while it works on the batch."""
    for n in range(6):
        await redis.xadd(stream, {"n": str(n)})
    handled: list[str] = []
    replicas = [Slow(redis, stream, f"c{i}", handled) for i in range(4)]
    for replica in replicas:
        replica.start()
    try:
        await eventually(lambda: settled(redis, stream, Slow.group), "every entry handled", timeout=20)
    finally:
        for replica in replicas:
            await replica.stop()
    assert sorted(handled) == [str(n) for n in range(6)]  # each once
    assert await redis.xlen(Keys.dead_letters(stream)) == 0
