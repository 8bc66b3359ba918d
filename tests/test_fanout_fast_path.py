"""A large group's event, delivered to each local member without a coroutine (EventStream.drain_now,
ListenerOperation._write_now): only the plain group entries at the head of a mailbox go that way,
in order, and everything the slow path must do first (an overflow, a base to refresh, an entry
that is not a plain group event) stops it. And the dispatcher's periodic sweep, which re-reads
every followed stream, reads a poked stream (such a group's) before the rest of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateway.clock import ManualClock
from gateway.errors import IMError
from gateway.events.bus import F_EVENT
from gateway.events.cursor import Cursor
from gateway.events.delivery import Delivery
from gateway.events.dispatcher import STREAMS_PER_ROUND_TRIP
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.events.stream import BASE_REFRESH_SECONDS, EventStream
from gateway.im.events import GROUP_LISTENER, OnGroupCreated, encode_event
from gateway.services import Gateway

GROUP = "fast"


async def until(predicate: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "not delivered"
        await asyncio.sleep(0.01)


async def members(gw: Gateway, *users: str, listener: str = GROUP_LISTENER) -> list[EventStream]:
    """Open `listener` streams (group-listener ones by default) of `users`, all members of GROUP,
    nobody draining them. Two or more: the dispatcher then decodes the group's entries once for
    all before handing them out."""
    await gw.bus.join_group_stream(users, GROUP)
    streams = []
    for user in users:
        stream = EventStream(
            redis=gw.redis,
            keys=gw.keys,
            dispatcher=gw.dispatcher,
            user_id=user,
            session_id=f"session-{user}",
            listener=listener,
            now=gw.clock.now,
        )
        await stream.open(None)
        streams.append(stream)
    return streams


def groups_of(deliveries: list[Delivery]) -> list[str]:
    return [d.event.groupID for d in deliveries if isinstance(d.event, OnGroupCreated)]


async def test_only_the_plain_group_entries_at_the_head_are_taken_and_the_rest_keeps_its_order(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    box = first.mailbox

    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: len(box.items) == 1)
    await gw.bus.publish(["m1"], OnGroupCreated(groupID="B"))  # the member's own stream: not plain
    await until(lambda: len(box.items) == 2)
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="C"))
    await until(lambda: len(box.items) == 3)

    taken = first.drain_now()
    assert groups_of(taken) == ["A"]
    assert len(box.items) == 2  # B, then C, for `drain`
    # A's cursor resumes right after A in the group's stream
    assert Cursor.decode(taken[0].cursor).groups == {GROUP: taken[0].shared.rsplit("#", 1)[1]}
    assert groups_of(await first.drain()) == ["B", "C"]
    assert not box.pending
    # the other member had only the group's two, both plain
    assert groups_of(second.drain_now()) == ["A", "C"]
    for stream in (first, second):
        stream.close()


async def test_an_entry_already_delivered_or_sparing_the_member_is_left_to_drain(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="not for m1"), except_user="m1")
    await until(lambda: len(first.mailbox.items) == 1 and len(second.mailbox.items) == 1)
    assert first.drain_now() == []
    assert await first.drain() == []  # `drain` drops it: the member is the one spared
    assert groups_of(second.drain_now()) == ["not for m1"]
    for stream in (first, second):
        stream.close()


async def test_an_overflowed_mailbox_is_left_to_drain_which_reports_it(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    first.mailbox.capacity = 1
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: first.mailbox.pending)
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="B"))
    await until(lambda: first.mailbox.overflowed)
    assert first.drain_now() == []
    with pytest.raises(IMError):
        await first.drain()
    assert groups_of(second.drain_now()) == ["A", "B"]
    for stream in (first, second):
        stream.close()


async def test_a_base_due_for_refresh_is_left_to_drain_which_writes_it_first(gw: Gateway, clock: ManualClock) -> None:
    first, second = await members(gw, "m1", "m2")
    old_base = Cursor.decode(first.cursor()).base
    assert old_base  # a member of a group opens with a base
    await clock.advance(BASE_REFRESH_SECONDS + 1)
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: first.mailbox.pending)
    assert first.drain_now() == []
    (delivery,) = await first.drain()
    assert Cursor.decode(delivery.cursor).base not in ("", old_base)
    for stream in (first, second):
        stream.close()


async def test_a_sweep_reads_an_entry_whose_poke_was_lost(gw: Gateway) -> None:
    box = Mailbox(user_id="u", session_id="s")
    gw.dispatcher.register(box)
    stream = gw.keys.group_events("unpoked")
    await gw.dispatcher.follow(box, stream)
    await gw.redis.xadd(stream, {F_EVENT: encode_event(OnGroupCreated(groupID="quiet")).decode()})  # no poke
    gw.dispatcher._sweep()
    await until(lambda: box.pending)
    assert [e.stream for e in box.items if isinstance(e, LogEntry)] == [stream]
    gw.dispatcher.unregister(box)


async def test_a_poked_stream_is_read_before_the_rest_of_a_sweep(gw: Gateway) -> None:
    """A process following thousands of streams: a sweep is many round trips, and a poke that
    comes meanwhile (a large group's message) is read in the next one, not after them all."""
    box = Mailbox(user_id="u", session_id="s")
    gw.dispatcher.register(box)
    streams = [gw.keys.group_events(f"swept{i}") for i in range(STREAMS_PER_ROUND_TRIP * 2 + 1)]
    await gw.dispatcher.follow_many(box, streams)
    dispatcher = gw.dispatcher
    dispatcher._sweep()
    first = dispatcher._next_batch()  # the read loop's first round trip (it has not run yet)
    assert len(first) == STREAMS_PER_ROUND_TRIP
    dispatcher._mark_dirty(streams[-1])
    assert dispatcher._next_batch() == [streams[-1]]
    rest = dispatcher._next_batch() + dispatcher._next_batch()
    assert sorted(first + rest) == sorted(streams)  # and the sweep goes on with every stream
    assert dispatcher._next_batch() == []
    dispatcher.unregister(box)


async def test_deliveries_taken_without_cursors_still_move_the_members_position(gw: Gateway) -> None:
    """`drain_now(cursors=False)` (a document that renders no cursor) makes none, and still
    advances the member's position: a cursor made afterwards resumes right after what was taken."""
    first, second = await members(gw, "m1", "m2")
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: first.mailbox.pending and second.mailbox.pending)
    (taken,) = first.drain_now(cursors=False)
    assert taken.cursor == ""
    position = taken.shared.rsplit("#", 1)[1]
    assert Cursor.decode(first.cursor()).groups == {GROUP: position}
    (with_cursor,) = second.drain_now()
    assert Cursor.decode(with_cursor.cursor).groups == {GROUP: position}
    for stream in (first, second):
        stream.close()
