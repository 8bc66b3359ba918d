"""gateway.lean.pubsub on real Redis: what it reads, what it leaves to redis-py, and the
dispatcher's sweep and health check now that its listener's reads block without a timeout."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.events import dispatcher as dispatcher_module
from gateway.lean.pubsub import LeanPubSubReader
from gateway.services import Gateway
from gateway.store import close_redis, open_redis
from tests.test_event_bus import Listener, marker, session_of


@pytest.fixture
async def redis(redis_url: str, redis_is_cluster: bool) -> AsyncIterator[Any]:
    if redis_is_cluster:
        pytest.skip("a cluster's pub/sub is read by redis-py's get_message")
    client = open_redis(redis_url)
    yield client
    await close_redis(client)


@asynccontextmanager
async def subscribed(redis: Any, *channels: str) -> AsyncIterator[tuple[Any, LeanPubSubReader]]:
    """A PubSub subscribed to `channels` and its lean reader, closed afterwards."""
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(*channels)
        reader = LeanPubSubReader.of(pubsub)
        assert reader is not None
        yield pubsub, reader
    finally:
        await pubsub.aclose()


def new_channel() -> str:
    return f"lean-pubsub:{uuid.uuid4().hex}"


async def read(reader: LeanPubSubReader) -> Any:
    return await asyncio.wait_for(reader.read(), 5)


async def client_id(redis: Any, pubsub: Any) -> str:
    """The Redis client id of `pubsub`'s connection (found by its address: a subscribed
    connection takes no CLIENT ID)."""
    host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
    for line in (await redis.execute_command("CLIENT", "LIST", "TYPE", "pubsub")).splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if fields.get("laddr", "").endswith(f":{port}") or fields.get("addr") == f"{host}:{port}":
            return str(fields["id"])
    raise AssertionError("the pub/sub connection is not in CLIENT LIST")


async def test_a_published_message_and_the_confirmations_are_read_in_order(redis: Any) -> None:
    channel = new_channel()
    async with subscribed(redis, channel) as (_pubsub, reader):
        assert await read(reader) == ("subscribe", channel, 1)
        await redis.publish(channel, "first")
        await redis.publish(channel, "second")
        assert await read(reader) == ("message", channel, "first")
        assert await read(reader) == ("message", channel, "second")


async def test_messages_that_arrive_together_are_each_read_once(redis: Any) -> None:
    channel = new_channel()
    async with subscribed(redis, channel) as (_pubsub, reader):
        assert await read(reader) == ("subscribe", channel, 1)
        pipe = redis.pipeline(transaction=False)
        for n in range(50):
            pipe.publish(channel, str(n))
        await pipe.execute()
        got = [await read(reader) for _ in range(50)]
        assert got == [("message", channel, str(n)) for n in range(50)]


async def test_redis_pys_record_of_channels_is_kept_by_the_confirmations(redis: Any) -> None:
    """An unsubscribe's confirmation goes through handle_message, which forgets the channel: a
    reconnecting redis-py would otherwise subscribe to it again."""
    kept, dropped = new_channel(), new_channel()
    async with subscribed(redis, kept, dropped) as (pubsub, reader):
        assert {(await read(reader))[1] for _ in range(2)} == {kept, dropped}
        await pubsub.unsubscribe(dropped)
        assert await read(reader) == ("unsubscribe", dropped, 1)
        assert set(pubsub.channels) == {kept}


async def test_a_health_checks_answer_is_dropped(redis: Any) -> None:
    channel = new_channel()
    async with subscribed(redis, channel) as (pubsub, reader):
        await read(reader)
        pubsub.connection.next_health_check = 0  # due now
        await pubsub.check_health()
        assert await read(reader) is None
        await redis.publish(channel, "after")
        assert await read(reader) == ("message", channel, "after")


async def test_a_killed_connection_raises_redis_pys_connection_error(redis: Any) -> None:
    channel = new_channel()
    async with subscribed(redis, channel) as (pubsub, reader):
        await read(reader)
        reading = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.05)
        await redis.execute_command("CLIENT", "KILL", "ID", await client_id(redis, pubsub))
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(reading, 5)
        with pytest.raises(RedisConnectionError):  # and again, once closed
            await read(reader)


async def test_only_redis_pys_own_pubsub_on_a_lean_connection_is_read_leanly(redis: Any) -> None:
    assert LeanPubSubReader.of(redis.pubsub()) is None  # not subscribed: no connection yet
    fake = open_redis(None)  # fakeredis
    fake_pubsub = fake.pubsub()
    await fake_pubsub.subscribe("x")
    try:
        assert LeanPubSubReader.of(fake_pubsub) is None
    finally:
        await fake_pubsub.aclose()
        await fake.aclose()


async def test_the_dispatcher_sweeps_and_checks_the_links_health_on_a_timer(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, redis_is_cluster: bool
) -> None:
    """The listener blocks on its reads, so the sweep and the health check are a task's: they
    come on time while nothing is published, and a failed check makes the listener reconnect,
    after which events flow again."""
    if redis_is_cluster:
        pytest.skip("a cluster's pub/sub is read by redis-py's get_message")
    dispatcher = gw.dispatcher
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish(["alice"], marker(0))
    assert await listener.wait_for(1) == [0]
    assert dispatcher._lean_reading
    sweeps = 0
    real_sweep = dispatcher._sweep

    def counting_sweep() -> None:
        nonlocal sweeps
        sweeps += 1
        real_sweep()

    checks: list[Any] = []
    pubsub = dispatcher._pubsub

    async def failing_check() -> None:
        checks.append(pubsub)
        raise RedisConnectionError("health check failed (test)")

    monkeypatch.setattr(dispatcher, "_sweep", counting_sweep)
    monkeypatch.setattr(pubsub, "check_health", failing_check)
    monkeypatch.setattr(dispatcher_module, "SWEEP_SECONDS", 0.05)
    sweeper = asyncio.create_task(dispatcher._sweep_loop())  # the running one sleeps its 30 s first
    try:
        for _ in range(100):
            if sweeps >= 2 and checks and dispatcher._pubsub is not pubsub and dispatcher._subscribed:
                break
            await asyncio.sleep(0.05)
        assert sweeps >= 2
        assert checks
        assert checks[0] is pubsub
        assert dispatcher._pubsub is not pubsub  # the listener reconnected on a new pub/sub
        assert dispatcher._subscribed
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    await gw.bus.publish(["alice"], marker(1))
    assert await listener.wait_for(2) == [0, 1]
    await listener.stop()


async def test_a_health_check_failing_while_the_listener_reconnects_leaves_the_sweep_going(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch, redis_is_cluster: bool
) -> None:
    """The check fails after the listener has replaced the pub/sub it checked (closed: its
    connection gone), and another check raises something else: neither ends the sweep, nor
    reaches stop()."""
    if redis_is_cluster:
        pytest.skip("a cluster's pub/sub is read by redis-py's get_message")
    dispatcher = gw.dispatcher
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    pubsub = dispatcher._pubsub
    sweeps = 0
    real_sweep = dispatcher._sweep

    def counting_sweep() -> None:
        nonlocal sweeps
        sweeps += 1
        real_sweep()

    calls = 0

    async def check_during_a_reconnect() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the listener's reconnection closes it meanwhile
            await pubsub.aclose()
            raise RedisConnectionError("health check failed (test)")
        raise RuntimeError("something unexpected (test)")

    monkeypatch.setattr(dispatcher, "_sweep", counting_sweep)
    monkeypatch.setattr(pubsub, "check_health", check_during_a_reconnect)
    monkeypatch.setattr(dispatcher_module, "SWEEP_SECONDS", 0.05)
    sweeper = asyncio.create_task(dispatcher._sweep_loop())
    try:
        for _ in range(100):
            if sweeps >= 3 and dispatcher._pubsub is not pubsub and dispatcher._subscribed:
                break
            await asyncio.sleep(0.05)
        assert calls >= 1
        assert sweeps >= 3
        assert not sweeper.done()
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    await gw.bus.publish(["alice"], marker(7))
    assert await listener.wait_for(1) == [7]
    await listener.stop()
