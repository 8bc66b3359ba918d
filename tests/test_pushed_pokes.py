"""Pokes that carry their entry (gateway.events.bus.APPEND_SCRIPT, gateway.events.dispatcher): an
entry that follows what the dispatcher has delivered is delivered from its poke, without reading
the stream; anything else is read from the feed's position, so nothing is skipped, repeated or
reordered, whoever wrote the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.events import bus as bus_module
from gateway.events.bus import EventBus
from gateway.events.dispatcher import Dispatcher
from gateway.events.stream import Delivery
from gateway.im.events import decode_event
from gateway.keys import Keys
from gateway.services import Gateway
from gateway.store import close_redis, database_of, open_redis
from tests.test_event_bus import Listener, marker, number, session_of


class ReadSpy:
    """Counts the dispatcher's reads of a stream (its XRANGE round trips), passing them on."""

    def __init__(self, dispatcher: Dispatcher, monkeypatch: pytest.MonkeyPatch) -> None:
        self.streams: list[str] = []
        read: Callable[[list[str]], Awaitable[None]] = dispatcher._read

        async def counted(streams: list[str]) -> None:
            self.streams.extend(streams)
            await read(streams)

        monkeypatch.setattr(dispatcher, "_read", counted)


async def append_unannounced(gw: Gateway, user: str, n: int) -> str:
    """An entry written as something other than this gateway's bus writes it (no poke, or an
    older gateway's empty one after it): the dispatcher cannot know of it from a poke."""
    fields = bus_module._event_fields(marker(n))
    return str(await gw.redis.xadd(gw.keys.user_events(user), fields))


async def test_a_live_entry_is_delivered_from_its_poke_without_reading_the_stream(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await asyncio.sleep(0.1)  # a read the opening itself asked for is done
    spy = ReadSpy(gw.dispatcher, monkeypatch)
    for n in range(20):
        await gw.bus.publish(["alice"], marker(n))
    assert await listener.wait_for(20) == list(range(20))
    assert gw.keys.user_events("alice") not in spy.streams
    await listener.stop()


async def test_an_entry_the_dispatcher_has_not_seen_is_read_before_the_poked_one(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish(["alice"], marker(0))
    assert await listener.wait_for(1) == [0]
    spy = ReadSpy(gw.dispatcher, monkeypatch)
    await append_unannounced(gw, "alice", 1)  # no poke: only the next poke's previous ID shows it
    await gw.bus.publish(["alice"], marker(2))
    assert await listener.wait_for(3) == [0, 1, 2]
    assert spy.streams == [gw.keys.user_events("alice")]  # the gap was read, once
    await gw.bus.publish(["alice"], marker(3))  # and the next poke follows again
    assert await listener.wait_for(4) == [0, 1, 2, 3]
    assert len(spy.streams) == 1
    await listener.stop()


@pytest.mark.parametrize("poke", ["", "not a poke", "0-0 1-1 {not json"])
async def test_a_poke_without_a_usable_entry_reads_the_stream(gw: Gateway, poke: str) -> None:
    """An older gateway's empty poke, or one this version cannot read, still delivers."""
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await append_unannounced(gw, "alice", 7)
    await gw.redis.publish(Keys.poke_channel(gw.keys.user_events("alice")), poke)
    assert await listener.wait_for(1) == [7]
    await asyncio.sleep(0.1)
    assert len(listener.items) == 1
    await listener.stop()


async def test_concurrent_writers_entries_arrive_once_each_in_the_logs_order(gw: Gateway) -> None:
    """Appends from several pipelines at once: each poke names the entry before it in the log, so
    the subscription sees the log's order exactly, whichever way deliveries and reads interleave."""
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)

    async def writer(first: int) -> None:
        for n in range(first, first + 60):
            await gw.bus.publish(["alice"], marker(n))
            if n % 7 == 0:
                await append_unannounced(gw, "alice", 1000 + n)  # gaps only a read fills

    await asyncio.gather(*(writer(k * 100) for k in range(4)))
    await gw.bus.publish(["alice"], marker(999))  # the last unannounced entry is found by this poke
    rows: list[Any] = await gw.redis.xrange(gw.keys.user_events("alice"))
    logged = [number(Delivery(event=decode_event(fields[bus_module.F_EVENT]), cursor="")) for _, fields in rows]
    assert await listener.wait_for(len(logged)) == logged
    await asyncio.sleep(0.2)
    assert len(listener.items) == len(logged)
    await listener.stop()


async def test_a_poke_from_another_database_of_the_server_is_not_taken_for_this_ones(
    gw: Gateway, redis_is_cluster: bool
) -> None:
    """A Redis server's pub/sub channels are shared by its databases: a gateway on another database
    with the same SDKAppID (a staging copy; tests/support/tencent_pair.py's cloud) pokes the same
    channel names. Its entry is not delivered here; this database's stream is read instead."""
    if redis_is_cluster:
        pytest.skip("a cluster has one database")
    mine = database_of(gw.redis)
    url = gw.settings.redis_url
    assert url is not None
    other = open_redis(url.rsplit("/", 1)[0] + f"/{mine + 1}")
    try:
        listener = Listener(session_of(gw, "alice"))
        await listener.ready(gw)
        stream = gw.keys.user_events("alice")
        end = await gw.redis.xrevrange(stream, "+", "-", count=1)  # what this gateway has delivered
        if end:  # the other stream ends there too: its next poke names this gateway's position
            await other.xadd(stream, {"e": "{}"}, id=end[0][0])
        await EventBus(other, gw.keys).publish(["alice"], marker(99))
        await asyncio.sleep(0.2)
        assert listener.items == []
        await gw.bus.publish(["alice"], marker(1))
        assert await listener.wait_for(1) == [1]
        await listener.stop()
    finally:
        await other.delete(gw.keys.user_events("alice"))
        await close_redis(other)
