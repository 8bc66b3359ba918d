"""A group entry is decoded (a reference resolved) once for all of a process's followers, and only
recent ones are kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from gateway.events.decoded import DecodedEntries
from gateway.events.dispatcher import Dispatcher
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.im.events import IMEvent, OnKickedOffline, encode_event
from gateway.keys import Keys
from gateway.metrics import Metrics
from gateway.services import Gateway


async def test_an_entry_is_decoded_once_and_old_ones_are_let_go() -> None:
    raw = encode_event(OnKickedOffline()).decode()
    decoded = DecodedEntries(kept=2)
    first = LogEntry("g:1", "1-0", {})
    event = await decoded.get(first, raw)
    assert isinstance(event, OnKickedOffline)
    assert await decoded.get(first, raw) is event  # the second follower shares the first one's object
    await decoded.get(LogEntry("g:1", "2-0", {}), raw)
    await decoded.get(LogEntry("g:1", "3-0", {}), raw)
    assert await decoded.get(first, raw) is not event  # pushed out by newer entries, decoded afresh


def test_each_dispatcher_owns_its_cache() -> None:
    a = Dispatcher(None, Keys(1), Metrics())
    b = Dispatcher(None, Keys(1), Metrics())
    assert a.decoded is not b.decoded


async def test_a_reference_is_resolved_once_for_all_the_followers_waiting_for_it() -> None:
    """10,000 members reading one group entry at once resolve its reference once; a resolution
    that fails reaches every follower waiting for it and is not kept (the next one tries again)."""
    calls: list[list[str]] = []
    failing = True

    async def resolve(raws: Sequence[str]) -> list[IMEvent | None]:
        calls.append(list(raws))
        await asyncio.sleep(0.01)  # followers arrive meanwhile
        if failing:
            raise ConnectionError("redis went away")
        return [OnKickedOffline() for _ in raws]

    decoded = DecodedEntries(resolve=resolve)
    entry = LogEntry("g:1", "1-0", {})
    reference = '["n","group_g1",7]'
    failures = await asyncio.gather(*(decoded.get(entry, reference) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(f, ConnectionError) for f in failures)
    assert len(calls) == 1
    failing = False
    events = await asyncio.gather(*(decoded.get(entry, reference) for _ in range(20)))
    assert len(calls) == 2
    assert all(e is events[0] for e in events)
    assert isinstance(events[0], OnKickedOffline)


async def test_without_a_resolver_a_reference_reads_as_nothing() -> None:
    decoded = DecodedEntries()
    assert await decoded.get(LogEntry("g:1", "1-0", {}), '["n","group_g1",7]') is None
    assert await decoded.get(LogEntry("g:1", "2-0", {}), "not json") is None


async def test_known_is_an_entry_decoded_already_without_waiting() -> None:
    raw = encode_event(OnKickedOffline()).decode()
    decoded = DecodedEntries()
    entry = LogEntry("g:1", "1-0", {})
    assert decoded.known(entry) is None  # not asked for yet
    event = await decoded.get(entry, raw)
    assert decoded.known(entry) is event
    assert decoded.known(LogEntry("g:1", "2-0", {})) is None


def test_a_groups_stream_is_told_from_a_users() -> None:
    keys = Keys(1400000001)
    assert keys.is_group_events(keys.group_events("g1"))
    assert keys.is_group_events(keys.group_events("odd:id}"))
    assert not keys.is_group_events(keys.user_events("g1"))
    assert not keys.is_group_events(keys.group_info("g1"))
    assert not keys.is_group_events(Keys(1400000002).group_events("g1"))  # another app's


async def test_the_dispatcher_decodes_a_shared_group_entry_before_waking_its_followers(gw: Gateway) -> None:
    """Several local followers of a group's stream find its entries decoded when they are woken,
    so each drains without waiting (10,000 of them need not each be resumed as a task)."""
    stream = gw.keys.group_events("ahead")
    boxes = [Mailbox(user_id=f"u{i}", session_id=f"s{i}") for i in range(3)]
    seen: list[IMEvent | None] = []
    for box in boxes:
        gw.dispatcher.register(box)
        await gw.dispatcher.follow(box, stream)

        def woken(box: Mailbox = box) -> None:
            seen.extend(gw.dispatcher.decoded.known(e) for e in box.items if isinstance(e, LogEntry))

        box.on_wake = woken
    await gw.bus.publish_to_group("ahead", OnKickedOffline())
    deadline = asyncio.get_running_loop().time() + 5
    while len(seen) < len(boxes):
        assert asyncio.get_running_loop().time() < deadline, "not delivered"
        await asyncio.sleep(0.02)
    assert len(seen) == len(boxes)
    assert all(isinstance(event, OnKickedOffline) for event in seen)
    for box in boxes:
        gw.dispatcher.unregister(box)


class _BrokenResolver:
    """A resolver with a bug: whatever it is asked, it raises."""

    def __init__(self) -> None:
        self.calls = 0

    async def resolve(
        self, viewer: str | None, raws: Sequence[str], pipeline: Callable[[], Any] | None = None
    ) -> list[IMEvent | None]:
        self.calls += 1
        raise ValueError("a bug in the resolver")


async def test_a_resolver_that_fails_ahead_of_the_followers_does_not_stop_the_dispatcher(gw: Gateway) -> None:
    resolver = _BrokenResolver()
    dispatcher = Dispatcher(gw.redis, gw.keys, Metrics(), resolver=resolver)
    await dispatcher.start()
    try:
        stream = gw.keys.group_events("broken")
        boxes = [Mailbox(user_id=f"u{i}", session_id=f"s{i}") for i in range(2)]
        for box in boxes:
            dispatcher.register(box)
            await dispatcher.follow(box, stream)
        await gw.redis.xadd(stream, {"e": '["n","group_broken",7]'})  # a reference: resolved ahead, and fails
        await gw.redis.publish(gw.keys.poke_channel(stream), b"")
        await gw.bus.publish_to_group("broken", OnKickedOffline())  # read after it: the loop goes on
        deadline = asyncio.get_running_loop().time() + 5
        while not all(len(box.items) == 2 for box in boxes):
            assert asyncio.get_running_loop().time() < deadline, [len(box.items) for box in boxes]
            await asyncio.sleep(0.02)
        assert resolver.calls >= 1
    finally:
        await dispatcher.stop()
