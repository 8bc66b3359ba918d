"""A group's new entries handed to all its local followers in one pass (gateway.events.fanout):
each idle member for whom they are plain group events takes them without its mailbox
(EventStream.take_plain, through TakingMailbox.take); any other member (the sender, one who silenced
the group, one with something queued ahead, an overflow, a document rendered for the first
time, a full socket) gets them as before, in order, and what a member declines is left untouched
for its mailbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.events.bus import F_EVENT, F_EXCEPT_USER, F_LISTENER
from gateway.events.cursor import Cursor
from gateway.events.delivery import Delivery
from gateway.events.entries import listener_code
from gateway.events.fanout import Fanout
from gateway.events.mailbox import LogEntry
from gateway.events.stream import BASE_REFRESH_SECONDS, EventStream
from gateway.im.enums import MessageOpt
from gateway.im.events import GROUP_LISTENER, MESSAGE_LISTENER, OnGroupCreated, OnKickedOffline, encode_event
from gateway.keys import Keys
from gateway.services import Gateway
from gateway.session.listening import Listening
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.support.sockets import open_connections, record_writes
from tests.test_fanout_fast_path import GROUP, groups_of, members, until
from tests.test_listener_path import CURSORS_DOC, NO_CURSOR_DOC, drain, joined, meeting_group
from tests.test_receive_option_order import message, text_of


async def append(gw: Gateway, event: Any, **fields: str) -> None:
    """`event` appended to GROUP's stream as a group event, without a poke: read by the next
    sweep, with whatever else was appended so."""
    stream = gw.keys.group_events(GROUP)
    entry = {F_LISTENER: listener_code(GROUP_LISTENER), F_EVENT: encode_event(event).decode(), **fields}
    await gw.redis.xadd(stream, entry)


def taking(stream: EventStream, *, cursors: bool = True) -> list[Any]:
    """Make `stream`'s mailbox take fan-outs as ListenerOperation's does, recording what it took."""
    taken: list[Any] = []

    def take(fanout: Fanout) -> bool:
        deliveries = stream.take_plain(fanout, cursors=cursors)
        if deliveries is None:
            return False
        taken.extend(deliveries)
        return True

    stream.mailbox.take = take
    return taken


async def test_plain_members_take_a_fan_out_and_the_others_get_it_in_their_mailbox(gw: Gateway) -> None:
    plain, sender, busy = await members(gw, "m1", "m2", "m3")
    took = {s: taking(s) for s in (plain, sender, busy)}
    await gw.bus.publish(["m3"], OnGroupCreated(groupID="own"))  # queued ahead in m3's mailbox
    await until(lambda: busy.mailbox.pending)

    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"), except_user="m2")
    await until(lambda: bool(took[plain]))
    assert groups_of(took[plain]) == ["A"]
    assert not plain.mailbox.pending
    for declined in (sender, busy):  # not a plain event for m2 (spared), something ahead for m3
        assert took[declined] == []
    await until(lambda: sender.mailbox.pending)
    assert await sender.drain() == []  # spared, as ever
    assert groups_of(await busy.drain()) == ["own", "A"]  # in order after what was ahead
    for stream in (plain, sender, busy):
        stream.close()


async def test_a_declined_fan_out_leaves_the_member_as_it_was(gw: Gateway) -> None:
    """A member for whom one of the entries is not plain takes none of them, and its position
    stays where it was: the mailbox's way then decides each one as it always has."""
    first, second = await members(gw, "m1", "m2")
    before = dict(first._positions)
    took = taking(first)
    second_took = taking(second)
    # two entries read together (no poke: the sweep reads them), the second one sparing m1
    await append(gw, OnGroupCreated(groupID="A"))
    await append(gw, OnGroupCreated(groupID="B"), **{F_EXCEPT_USER: "m1"})
    gw.dispatcher._sweep()
    await until(lambda: first.mailbox.pending)
    assert took == []
    assert first._positions == before
    assert groups_of(second_took) == ["A", "B"]  # both plain for m2, taken in order
    assert groups_of(first.drain_now()) == ["A"]  # the mailbox's way: A, then B left to drain
    assert await first.drain() == []
    for one in (first, second):
        one.close()


async def test_entries_a_member_has_had_already_are_not_taken_again(gw: Gateway) -> None:
    """As the mailbox's way drops an entry at or before the member's position (a replay gave it)."""
    first, second = await members(gw, "m1", "m2")
    took = taking(first)
    taking(second)
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: bool(took))
    position = dict(first._positions)
    stream = gw.keys.group_events(GROUP)
    [(entry_id, fields)] = await gw.redis.xrange(stream)
    again = Fanout(stream, [LogEntry(stream, entry_id, fields)], gw.dispatcher.decoded)
    assert again.plain() is not None  # a plain group event: it is the position that refuses it
    assert first.take_plain(again) is None
    assert first._positions == position
    for one in (first, second):
        one.close()


async def test_a_fan_out_with_an_entry_that_is_plain_for_nobody_goes_to_every_mailbox(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    took = [taking(first), taking(second)]
    await append(gw, OnGroupCreated(groupID="A"))
    await append(gw, OnKickedOffline())  # ends a session: never plain
    gw.dispatcher._sweep()
    await until(lambda: first.mailbox.pending and second.mailbox.pending)
    assert took == [[], []]
    for one in (first, second):
        assert len(one.mailbox.items) == 2
        one.close()


async def test_entries_beyond_the_mailboxs_capacity_overflow_it_as_before(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    first.mailbox.capacity = 1
    took = taking(first)
    for name in ("A", "B"):
        await append(gw, OnGroupCreated(groupID=name))
    gw.dispatcher._sweep()
    await until(lambda: first.mailbox.overflowed)
    assert took == []
    assert groups_of(second.drain_now()) == ["A", "B"]
    for one in (first, second):
        one.close()


async def test_a_taken_fan_out_is_counted_once_per_counter_when_the_pass_ends(gw: Gateway) -> None:
    class Counter:
        def __init__(self) -> None:
            self.calls: list[float] = []

        def inc(self, amount: float = 1) -> None:
            self.calls.append(amount)

    entry = LogEntry(gw.keys.group_events(GROUP), "1-1", {})
    fanout = Fanout(entry.stream, [entry], gw.dispatcher.decoded)
    messages, groups = Counter(), Counter()  # two listeners' members, in any order
    for counter, taken in ((messages, 1), (messages, 2), (groups, 4), (messages, 3), (groups, 1)):
        fanout.count(counter, taken)
    assert messages.calls == groups.calls == []
    fanout.done()
    assert messages.calls == [6]
    assert groups.calls == [5]


async def test_members_without_a_cursor_share_the_fan_outs_deliveries(gw: Gateway) -> None:
    first, second = await members(gw, "m1", "m2")
    took = [taking(first, cursors=False), taking(second, cursors=False)]
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: all(took))
    assert took[0][0] is took[1][0]  # one delivery for all: it carries no cursor
    assert took[0][0].cursor == ""
    # and each member's position moved: its next cursor resumes after A
    assert first.cursor() != ""
    assert first._positions[gw.keys.group_events(GROUP)] == took[0][0].shared.split("#")[1]
    for one in (first, second):
        one.close()


# ---- over graphql-transport-ws -------------------------------------------------------------------


def counting_mailbox_drains(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The users whose subscriptions took events from their mailbox (Listening.drain_now, the
    mailbox's way of a wake-up) rather than from the dispatcher's pass."""
    drained: list[str] = []
    original: Callable[..., list[Delivery]] = Listening.drain_now

    def recorded(listening: Listening, *, cursors: bool = True) -> list[Delivery]:
        taken = original(listening, cursors=cursors)
        if taken:
            drained.append(listening._session.user_id)
        return taken

    monkeypatch.setattr(Listening, "drain_now", recorded)
    return drained


async def test_a_group_message_reaches_plain_members_in_the_pass_and_the_others_their_way(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fan-out, a mix of members: those for whom the message is plain get it from the
    dispatcher's pass (no wake-up through the mailbox), the silenced member gets nothing, the
    sender's own subscription nothing, and a member whose socket cannot take more gets it later,
    in order with the next one."""
    owner, gid = await meeting_group(client, "mixed")
    subscribed: dict[str, tuple[WSClient, str]] = {}
    for name in ("slow", "p1", "p2", "quiet"):
        token = await joined(client, gid, name)
        if name == "quiet":
            silenced = await client.gql(
                f'mutation {{ setGroupReceiveMessageOpt(groupID: "{gid}", opt: V2TIM_NOT_RECEIVE_MESSAGE) }}',
                token=token,
            )
            silenced.ok()
        ws = await WSClient.connect(server.ws_url, token)
        subscribed[name] = (ws, await ws.subscribe(CURSORS_DOC if name != "p2" else NO_CURSOR_DOC))
        if name == "slow":
            [slow] = open_connections()
    sender = await WSClient.connect(server.ws_url, owner)
    sender_op = await sender.subscribe(CURSORS_DOC)
    for ws, op in [*subscribed.values(), (sender, sender_op)]:
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # each document's first render: kept for the next
    for name in ("p1", "p2", "slow"):
        ws, op = subscribed[name]
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"

    drained = counting_mailbox_drains(monkeypatch)
    writes = record_writes(slow)
    slow.writable.clear()
    await send_text(client, owner, "two", group=gid)
    events = {name: await subscribed[name][0].next_event(subscribed[name][1]) for name in ("p1", "p2")}
    assert events["p2"] == {"message": {"textElem": {"text": "two"}}}
    assert events["p1"]["message"] == {"textElem": {"text": "two"}}
    assert events["p1"]["a"] == events["p1"]["b"]
    assert drained == []  # every one taken in the dispatcher's pass
    assert writes == []
    await send_text(client, owner, "three", group=gid)
    slow.writable.set()
    ws, op = subscribed["slow"]
    assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(2)] == ["two", "three"]
    quiet_ws, quiet_op = subscribed["quiet"]
    await quiet_ws.nothing_for(quiet_op, 0.3)
    await sender.nothing_for(sender_op, 0.3)
    # p1's cursor from the pass resumes right after "two"
    await subscribed["p1"][0].close()
    again = await WSClient.connect(server.ws_url, await client.login("p1"))
    op = await again.subscribe(
        "subscription($c: String) { advancedMsgListener(since: $c) { "
        "... on RecvNewMessageEvent { message { textElem { text } } } } }",
        {"c": events["p1"]["a"]},
    )
    assert (await again.next_event(op))["message"]["textElem"]["text"] == "three"
    await again.nothing_for(op, 0.3)
    for ws, _ in subscribed.values():
        await ws.close()
    await sender.close()
    await again.close()


async def test_a_member_draining_when_the_fan_out_comes_gets_it_after_what_it_drains(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member whose drain is under way (waiting on its socket) declines the pass: the entries
    wait in its mailbox behind what it is sending, and come in order."""
    owner, gid = await meeting_group(client, "behind")
    names = ("held", "free")
    subscribed = {}
    for name in names:
        token = await joined(client, gid, name)
        ws = await WSClient.connect(server.ws_url, token)
        subscribed[name] = (ws, await ws.subscribe(CURSORS_DOC))
        if name == "held":
            [held] = open_connections()
    for ws, op in subscribed.values():
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)
    for ws, op in subscribed.values():
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"
    held.writable.clear()
    await send_text(client, owner, "two", group=gid)  # taken in the pass, not written: a drain waits to send it
    ws, op = subscribed["free"]
    assert (await ws.next_event(op))["message"]["textElem"]["text"] == "two"
    await send_text(client, owner, "three", group=gid)  # the held member is draining: its mailbox takes it
    await send_text(client, owner, "four", group=gid)
    assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(2)] == ["three", "four"]
    held.writable.set()
    ws, op = subscribed["held"]
    assert [(await ws.next_event(op))["message"]["textElem"]["text"] for _ in range(3)] == ["two", "three", "four"]
    for ws, _ in subscribed.values():
        await ws.close()


async def test_a_member_who_silenced_the_group_takes_none_of_its_messages(gw: Gateway) -> None:
    """The receive option loaded when the subscription opens holds in the pass too: the message
    goes to that member's mailbox, whose drain drops it, and to the others in the pass."""
    await gw.redis.hset(
        gw.keys.receive_options("m1"),
        Keys.group_receive_option_field(GROUP),
        str(int(MessageOpt.V2TIM_NOT_RECEIVE_MESSAGE)),
    )
    quiet, other = await members(gw, "m1", "m2", listener=MESSAGE_LISTENER)
    took = [taking(quiet), taking(other)]
    await gw.bus.publish_to_group(GROUP, message("hi", group=GROUP))
    await until(lambda: bool(took[1]) and quiet.mailbox.pending)
    assert [text_of(d) for d in took[1]] == ["hi"]
    assert took[0] == []
    assert await quiet.drain() == []
    for one in (quiet, other):
        one.close()


async def test_a_fan_out_for_another_listener_is_left_to_the_mailbox(gw: Gateway) -> None:
    """A group's message is not a groupListener subscription's event: its mailbox's drain skips it."""
    first, second = await members(gw, "m1", "m2")
    took = [taking(first), taking(second)]
    await gw.bus.publish_to_group(GROUP, message("not a group event", group=GROUP))
    await until(lambda: first.mailbox.pending and second.mailbox.pending)
    assert took == [[], []]
    assert await first.drain() == []
    for one in (first, second):
        one.close()


async def test_a_member_whose_base_is_due_for_refresh_leaves_the_fan_out_to_its_drain(
    gw: Gateway, clock: ManualClock
) -> None:
    """Its drain writes a fresh base before making the cursor, as the mailbox's way does."""
    first, second = await members(gw, "m1", "m2")
    took = [taking(first), taking(second)]
    old_base = Cursor.decode(first.cursor()).base
    await clock.advance(BASE_REFRESH_SECONDS + 1)
    await gw.bus.publish_to_group(GROUP, OnGroupCreated(groupID="A"))
    await until(lambda: first.mailbox.pending and second.mailbox.pending)
    assert took == [[], []]
    (delivery,) = await first.drain()
    assert Cursor.decode(delivery.cursor).base not in ("", old_base)
    for one in (first, second):
        one.close()


async def test_in_a_read_of_several_streams_a_member_with_entries_of_two_gets_them_merged(gw: Gateway) -> None:
    """One read brought a member's own entry and the group's: merged in log order in its mailbox,
    while the members with only the group's take it in the pass."""
    plain, both = await members(gw, "m1", "m2")
    took = [taking(plain), taking(both)]
    own = {F_LISTENER: listener_code(GROUP_LISTENER), F_EVENT: encode_event(OnGroupCreated(groupID="own")).decode()}
    await gw.redis.xadd(gw.keys.user_events("m2"), own)  # no poke: the sweep reads both streams at once
    await asyncio.sleep(0.005)  # a later millisecond: entries of one are merged in no set order
    await append(gw, OnGroupCreated(groupID="A"))
    gw.dispatcher._sweep()
    await until(lambda: both.mailbox.pending)
    assert groups_of(took[0]) == ["A"]
    assert took[1] == []
    assert groups_of(await both.drain()) == ["own", "A"]
    for one in (plain, both):
        one.close()
