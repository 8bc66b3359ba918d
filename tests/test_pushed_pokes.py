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
from gateway.events.delivery import Delivery
from gateway.events.dispatcher import Dispatcher
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


@pytest.mark.parametrize("poke", ["", "not a poke", "{db} {end} 9999999999999-0 {{not json"])
async def test_a_poke_without_a_usable_entry_reads_the_stream(gw: Gateway, poke: str) -> None:
    """An older gateway's empty poke, or one this version cannot read (the last: this database's,
    following this gateway's position, its fields not JSON), still delivers."""
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    stream = gw.keys.user_events("alice")
    end = await gw.redis.xrevrange(stream, "+", "-", count=1)
    poke = poke.format(db=database_of(gw.redis), end=end[0][0] if end else "0-0")
    await append_unannounced(gw, "alice", 7)
    await gw.redis.publish(Keys.poke_channel(stream), poke)
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


class Member:
    """alice and bob subscribed, alice following the group g1 (its entry 0 delivered to her), and
    the dispatcher's reads of bob's stream and of the group's slowed to one long round trip: while
    one is under way, the dispatcher is busy reading."""

    def __init__(self, gw: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gw, self.monkeypatch = gw, monkeypatch
        self.alice = Listener(session_of(gw, "alice"))
        self.bob = Listener(session_of(gw, "bob", "s2"))
        self.group = gw.keys.group_events("g1")

    async def __aenter__(self) -> Member:
        gw = self.gw
        await self.alice.ready(gw)
        await self.bob.ready(gw)
        await gw.bus.join_group_stream(["alice"], "g1")
        await gw.bus.publish_to_group("g1", marker(0))
        assert await self.alice.wait_for(1) == [0]
        bob_stream = gw.keys.user_events("bob")
        read = gw.dispatcher._read

        async def slow(streams: list[str]) -> None:
            if bob_stream in streams or self.group in streams:
                await asyncio.sleep(0.3)
            await read(streams)

        self.monkeypatch.setattr(gw.dispatcher, "_read", slow)
        return self

    async def busy_reading(self) -> None:
        """The dispatcher starts its slow read of bob's stream (an entry with an empty poke)."""
        await append_unannounced(self.gw, "bob", 50)
        await self.gw.redis.publish(Keys.poke_channel(self.gw.keys.user_events("bob")), "")
        await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        await self.alice.stop()
        await self.bob.stop()


def leave_fields() -> dict[str, str]:
    op = bus_module._control_encoder.encode(bus_module.ControlOp(op="leave", group="g1")).decode()
    return {bus_module.F_LISTENER: bus_module.CONTROL_LISTENER, bus_module.F_EVENT: op}


async def test_a_leave_from_its_poke_does_not_overtake_the_groups_earlier_entry_that_needs_a_read(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Log order: the group's entry 1 (an older gateway's send: an empty poke, so it needs a read),
    then alice's leave (with its entry), which comes while the group's stream is being read and
    nothing else waits. Sent while she was a member, entry 1 is hers."""
    async with Member(gw, monkeypatch) as m:
        await gw.redis.xadd(m.group, bus_module._event_fields(marker(1)))
        await gw.redis.publish(Keys.poke_channel(m.group), "")
        await asyncio.sleep(0.05)  # the group's (slow) read is under way
        pipe = gw.redis.pipeline(transaction=False)
        gw.bus._append(pipe, gw.keys.user_events("alice"), leave_fields())
        await gw.bus.execute(pipe)
        assert await m.alice.wait_for(2) == [0, 1]


async def test_a_group_entry_from_its_poke_does_not_overtake_an_earlier_leave_that_needs_a_read(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror: alice's leave first (an older gateway's: an empty poke), then the group's entry 1
    with its poke. Appended after she left, entry 1 is not hers."""
    async with Member(gw, monkeypatch) as m:
        await m.busy_reading()
        alice_stream = gw.keys.user_events("alice")
        await gw.redis.xadd(alice_stream, leave_fields())
        await gw.redis.publish(Keys.poke_channel(alice_stream), "")
        await asyncio.sleep(0.01)
        await gw.bus.publish_to_group("g1", marker(1))
        await asyncio.sleep(0.8)
        assert [number(d) for d in m.alice.items] == [0]
