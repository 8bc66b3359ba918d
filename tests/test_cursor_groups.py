"""A cursor lists the groups whose position moved past the base, found among the streams whose
position was written since the base (EventStream._touched) rather than among every group of the
user: each cursor made while a subscription lives through moves, a fresh base, joins, leaves, a
resume and a group fan-out (taken in the dispatcher's pass, or from the mailbox by drain_now) is
the one a look at every group gives; and a resumed subscription looks only at what moved too."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.clock import ManualClock
from gateway.events import positions
from gateway.events import stream as stream_module
from gateway.events.cursor import Cursor
from gateway.events.stream import EventStream
from gateway.services import Gateway
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.test_event_bus import Listener, marker, session_of
from tests.test_listener_path import CURSORS_DOC, drain, joined, meeting_group


def every_group(stream: EventStream) -> Cursor:
    """The cursor from every group the subscription follows: what it must equal."""
    base = stream._base
    groups = {}
    for key, gid in stream._group_of.items():
        pos = stream._positions.get(key)
        if pos is not None and base.get(gid) != pos:
            groups[gid] = pos
    return Cursor(
        user=stream._positions.get(stream._user_stream, positions.ORIGIN), groups=groups, base=stream._base_id
    )


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Cursor, Cursor]]]:
    """Every cursor any subscription makes, compared with the look at every group: the pairs
    that differ (none, or the test fails), and the count of cursors compared."""
    made = EventStream.cursor
    differ: list[tuple[Cursor, Cursor]] = []
    compared = [0]

    def cursor(self: EventStream) -> str:
        text = made(self)
        compared[0] += 1
        got, want = Cursor.decode(text), every_group(self)
        if got != want:
            differ.append((got, want))
        return text

    monkeypatch.setattr(EventStream, "cursor", cursor)
    yield differ
    assert compared[0] > 0


async def test_every_cursor_through_moves_a_new_base_joins_leaves_and_a_resume_is_exact(
    gw: Gateway, clock: ManualClock, checked: list[tuple[Cursor, Cursor]]
) -> None:
    groups = [f"c{i}" for i in range(30)]
    for gid in groups:
        await gw.bus.join_group_stream(["alice"], gid)
        await gw.bus.publish_to_group(gid, marker(-1))
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    n = 0

    async def to_group(gid: str) -> None:
        nonlocal n
        n += 1
        await gw.bus.publish_to_group(gid, marker(n))

    for gid in ("c1", "c2", "c1", "c29"):
        await to_group(gid)
    await listener.wait_for(n)
    assert set(Cursor.decode(listener.items[-1].cursor).groups) == {"c1", "c2", "c29"}

    await clock.advance(stream_module.BASE_REFRESH_SECONDS + 1)  # the next drain writes a fresh base
    await to_group("c3")
    await listener.wait_for(n)
    assert set(Cursor.decode(listener.items[-1].cursor).groups) == {"c3"}  # the base covers the rest
    await to_group("c4")
    await listener.wait_for(n)
    assert "c4" in Cursor.decode(listener.items[-1].cursor).groups

    await gw.bus.join_group_stream(["alice"], "new")  # joined while subscribed: not in the base
    n += 1
    await gw.bus.publish(["alice"], marker(n))  # a cursor made before the group's first message
    await listener.wait_for(n)
    assert "new" in Cursor.decode(listener.items[-1].cursor).groups  # at its join position
    await to_group("new")
    await listener.wait_for(n)
    assert "new" in Cursor.decode(listener.items[-1].cursor).groups
    await gw.bus.leave_group_stream(["alice"], "c4")  # left: its position leaves the cursor
    await gw.bus.publish(["alice"], marker(n + 1))
    n += 1
    await listener.wait_for(n)
    assert "c4" not in Cursor.decode(listener.items[-1].cursor).groups
    await to_group("c5")
    await listener.wait_for(n)
    await listener.stop()

    for gid in ("c0", "c5", "new"):
        await to_group(gid)
    resumed = Listener(session_of(gw, "alice"), since=listener.items[-1].cursor)
    # exactly the three missed, each once; in log order, which orders two groups' entries of the
    # same millisecond (equal stream IDs) by stream, not by when they were written (a fast
    # machine publishes two of these within one millisecond now and then)
    assert sorted(await resumed.wait_for(3)) == [n - 2, n - 1, n]
    await to_group("c6")
    assert (await resumed.wait_for(4))[-1] == n
    assert {"c5", "new", "c6"} <= set(Cursor.decode(resumed.items[-1].cursor).groups)
    await resumed.stop()
    assert checked == []


async def test_a_cursor_looks_only_at_the_streams_moved_since_the_base(gw: Gateway, clock: ManualClock) -> None:
    """A user in 200 groups, two of which moved: the cursor looks at those (and the user's own
    stream), not at 200."""
    for i in range(200):
        await gw.bus.join_group_stream(["alice"], f"m{i}")
    listener = Listener(session_of(gw, "alice"))
    await listener.ready(gw)
    await gw.bus.publish_to_group("m7", marker(1))
    await gw.bus.publish_to_group("m42", marker(2))
    await listener.wait_for(2)
    [stream] = [s for s in _streams() if s._user_id == "alice" and len(s._group_of) == 200]
    assert {stream._group_of.get(k) for k in stream._touched} <= {"m7", "m42", None}
    assert set(Cursor.decode(listener.items[-1].cursor).groups) == {"m7", "m42"}
    await listener.stop()
    # resumed from that cursor (its base, two groups past it): the same two, not 200
    resumed = Listener(session_of(gw, "alice"), since=listener.items[-1].cursor)
    await resumed.ready(gw)
    await gw.bus.publish_to_group("m9", marker(3))
    assert await resumed.wait_for(1) == [3]
    first = stream
    [stream] = [s for s in _streams() if s._user_id == "alice" and len(s._group_of) == 200 and s is not first]
    assert {stream._group_of.get(k) for k in stream._touched} <= {"m7", "m9", "m42", None}
    assert set(Cursor.decode(resumed.items[-1].cursor).groups) == {"m7", "m9", "m42"}
    await resumed.stop()


async def test_every_cursor_of_a_group_fan_out_is_exact(
    client: HTTPClient,
    server: InProcessGateway,
    clock: ManualClock,
    checked: list[tuple[Cursor, Cursor]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Members taking a group message in the dispatcher's pass (EventStream.take_plain) with a
    document that renders cursors, each member in other groups too, after a fresh base."""
    monkeypatch.setattr(stream_module, "BASE_REFRESH_SECONDS", 60)  # well within the sessions' UserSig
    owner, gid = await meeting_group(client, "exact")
    others = []
    for i in range(2):
        doc = f'mutation {{ createGroup(groupType: V2TIM_GROUP_TYPE_MEETING, groupName: "other{i}") }}'
        others.append(str((await client.gql(doc, token=owner)).ok()["createGroup"]))
    subscribed = []
    for name in ("x1", "x2", "x3"):
        token = await joined(client, gid, name)
        for other in others:
            (await client.gql(f'mutation {{ joinGroup(groupID: "{other}") }}', token=token)).ok()
        ws = await WSClient.connect(server.ws_url, token)
        subscribed.append((ws, await ws.subscribe(CURSORS_DOC)))
    for ws, op in subscribed:
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)
    for ws, op in subscribed:
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"
    await clock.advance(61)  # each member's next drain writes a fresh base
    for text in ("two", "three"):  # "three": taken in the pass by all but its first render's member
        await send_text(client, owner, text, group=gid)
        for ws, op in subscribed:
            event = await ws.next_event(op)
            assert event["message"]["textElem"]["text"] == text
            assert set(Cursor.decode(event["a"]).groups) == {gid}  # the others' positions: in the base
    for ws, _ in subscribed:
        await ws.close()
    assert checked == []


def _streams() -> list[EventStream]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, EventStream)]
