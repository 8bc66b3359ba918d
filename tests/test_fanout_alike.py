"""A fan-out's messages made once for the members who get the same ones (Fanout.alike,
ListenerOperation._written_alike): members whose document renders no cursor, running the same
document with the same variables, take the payloads the first of them took, and members under
the same operation ID the same frames (and text frames). Anything that makes a member's
messages its own gets its own: a cursor, other variables, media URLs signed for each reader; and
another operation ID its own frames. A compressed connection frames the messages itself."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from gateway.clock import ManualClock
from gateway.config import Settings
from gateway.events.bus import F_EVENT
from gateway.events.delivery import Delivery
from gateway.events.fanout import Fanout
from gateway.events.mailbox import LogEntry
from gateway.im.events import OnGroupCreated
from gateway.lean.uvicorn_ws import LeanWebSocketProtocol
from gateway.services import Gateway
from schema.execution.listeners import EventRenderer, ListenerRun
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway, start_in_process
from tests.support.sockets import open_connections, record_writes
from tests.test_fanout_fast_path import GROUP, groups_of, members
from tests.test_fanout_pass import append
from tests.test_listener_path import CURSORS_DOC, drain, joined, meeting_group
from tests.test_media_inline import _image_message, _reader

ALIKE_DOC = """subscription($t: Boolean!) { advancedMsgListener { ... on RecvNewMessageEvent {
  message { msgID textElem @include(if: $t) { text } } } } }"""
MEDIA_DOC = """subscription { advancedMsgListener { ... on RecvNewMessageEvent {
  message { msgID imageElem { imageList { type url } } } } } }"""
FRIENDS_DOC = "subscription { friendshipListener { __typename } }"


@pytest.fixture
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[InProcessGateway]:
    """With permessage-deflate offered: a client that asks for it gets it, one that does not, not."""
    running = await start_in_process(dataclasses.replace(settings, ws_compression=True), clock)
    yield running
    await running.stop()


async def connect(server: InProcessGateway, token: str, *, compressed: bool = False) -> tuple[WSClient, Any]:
    """A client of `token`, and its connection on the server's side."""
    before = set(open_connections())
    options: dict[str, Any] = {} if compressed else {"compression": None}
    ws = await WSClient.connect(server.ws_url, token, **options)
    [connection] = set(open_connections()) - before
    return ws, connection


def record_write_now(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, list[bytes], bytes | None]]:
    """Each write_now from now on: its connection, frames and text frames made already (if any)."""
    calls: list[tuple[Any, list[bytes], bytes | None]] = []
    original = LeanWebSocketProtocol.write_now

    def recorded(self: LeanWebSocketProtocol, frames: list[bytes], later: Any = None, framed: Any = None) -> bool:
        calls.append((self, frames, framed))
        return original(self, frames, later, framed)

    monkeypatch.setattr(LeanWebSocketProtocol, "write_now", recorded)
    return calls


def asking_for_payloads(monkeypatch: pytest.MonkeyPatch, names: Iterable[str]) -> dict[str, int]:
    """How many times each user's subscription asks for a kept payload (EventRenderer.payload_now) from now on."""
    asked = dict.fromkeys(names, 0)
    original = EventRenderer.payload_now

    def counted(self: EventRenderer, run: ListenerRun, delivery: Delivery) -> bytes | None:
        asked[run.context.viewer] += 1
        return original(self, run, delivery)

    monkeypatch.setattr(EventRenderer, "payload_now", counted)
    return asked


async def test_members_alike_share_one_fan_outs_frames_and_the_others_make_their_own(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, gid = await meeting_group(client, "alike")
    # name → (document, variables, compressed, a subscription ahead of it: another operation ID)
    plans = {
        "a1": (ALIKE_DOC, {"t": True}, False, False),
        "a2": (ALIKE_DOC, {"t": True}, False, False),
        "a3": (ALIKE_DOC, {"t": True}, False, False),
        "z1": (ALIKE_DOC, {"t": True}, True, False),
        "z2": (ALIKE_DOC, {"t": True}, True, False),
        "o1": (ALIKE_DOC, {"t": True}, False, True),
        "o2": (ALIKE_DOC, {"t": True}, False, True),
        "v1": (ALIKE_DOC, {"t": False}, False, False),
        "v2": (ALIKE_DOC, {"t": False}, False, False),
        "c": (CURSORS_DOC, None, False, False),
    }
    subscribed: dict[str, tuple[WSClient, str]] = {}
    connections = {}
    for name, (document, variables, compressed, another_ahead) in plans.items():
        ws, connections[name] = await connect(server, await joined(client, gid, name), compressed=compressed)
        if another_ahead:
            await ws.subscribe(FRIENDS_DOC)
        subscribed[name] = (ws, await ws.subscribe(document, variables))
    assert subscribed["o1"][1] != subscribed["a1"][1]
    for ws, op in subscribed.values():
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)  # each document's first execution
    for ws, op in subscribed.values():
        await ws.next_event(op)

    calls = record_write_now(monkeypatch)
    asked = asking_for_payloads(monkeypatch, plans)
    writes = {name: record_writes(connection) for name, connection in connections.items()}
    sent = (await send_text(client, owner, "two", group=gid))["msgID"]
    events = {name: await ws.next_event(op) for name, (ws, op) in subscribed.items()}
    for name in ("a1", "a2", "a3", "z1", "z2", "o1", "o2"):
        assert events[name] == {"message": {"msgID": sent, "textElem": {"text": "two"}}}, name
    for name in ("v1", "v2"):
        assert events[name] == {"message": {"msgID": sent}}, name
    assert events["c"]["message"] == {"textElem": {"text": "two"}}
    assert events["c"]["a"] == events["c"]["b"] != ""

    # The first member of each kind (document and variables) in the pass finds no payload kept:
    # its drain renders and writes the event (no text frames made ahead). The next one takes the
    # payload; the others of its kind take it from the fan-out (Fanout.alike), and reuse the
    # frames and text frames made for the member before them under the same operation ID.
    kinds = {"A": ("a1", "a2", "a3", "z1", "z2", "o1", "o2"), "V": ("v1", "v2"), "C": ("c",)}
    for kind, names in kinds.items():
        assert sum(asked[name] for name in names) == (2 if kind == "C" else 3), (kind, asked)
    assert len([name for name in kinds["A"] if asked[name]]) == 2
    name_of = {connection: name for name, connection in connections.items()}
    kind_of = {name: kind for kind, names in kinds.items() for name in names}
    assert sorted(name_of[conn] for conn, _, _ in calls) == sorted(plans)  # one write each
    made = [(name_of[conn], framed) for conn, _, framed in calls if framed is not None]
    assert sorted(kind_of[name] for name, _ in made) == ["A"] * 6 + ["V"]  # all but who rendered
    last: dict[str, tuple[str, bytes]] = {}
    reused = 0
    for name, framed in made:
        op, kind = subscribed[name][1], kind_of[name]
        if kind in last and last[kind][0] == op:
            assert framed is last[kind][1], name
            reused += 1
        last[kind] = (op, framed)
    assert reused >= 1  # the A kind's six: four or five under "1", one or two under "2", in any order
    for name, (_, op) in subscribed.items():  # each its own operation's
        head = f'{{"id":"{op}","type":"next"'.encode()
        assert all(f.startswith(head) for conn, frames, _ in calls if conn is connections[name] for f in frames)
    # a compressed connection frames the shared messages itself, through its extension
    assert {"z1", "z2"} & {name for name, _ in made}
    texts = {name: [w for w in written if w[0] & 0x0F == 1] for name, written in writes.items()}  # no pings
    for name in plans:
        assert len(texts[name]) == 1, name
        assert texts[name][0][0] == (0xC1 if name in ("z1", "z2") else 0x81)  # FIN, RSV1 (compressed), text
    for ws, _ in subscribed.values():
        await ws.close()


async def test_members_whose_event_signs_media_urls_each_get_their_own(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payload with media URLs is signed for each reader: not shared, though the document
    renders no cursor."""
    owner, gid = await meeting_group(client, "pictures")
    subscribed = {}
    for name in ("p1", "p2", "p3", "p4"):
        ws, _ = await connect(server, await joined(client, gid, name))
        subscribed[name] = (ws, await ws.subscribe(MEDIA_DOC))
    for ws, op in subscribed.values():
        await drain(ws, op)
    calls = record_write_now(monkeypatch)
    created = await _image_message(client, owner)
    await client.gql(f'mutation {{ sendMessage(id: "{created}", groupID: "{gid}") {{ msgID }} }}', token=owner)
    for name, (ws, op) in subscribed.items():
        images = (await ws.next_event(op))["message"]["imageElem"]["imageList"]
        assert len(images) == 3
        assert {_reader(image["url"]) for image in images} == {name}
    assert len([c for c in calls if c[2] is None]) >= 2  # taken in the pass, each framed its own
    for ws, _ in subscribed.values():
        await ws.close()


async def test_members_without_a_cursor_take_one_list_of_deliveries(gw: Gateway) -> None:
    """EventStream.take_plain without cursors: the fan-out's one list, not a copy for each."""
    first, second = await members(gw, "m1", "m2")
    await append(gw, OnGroupCreated(groupID="A"))  # no poke: the dispatcher leaves it to its sweep
    stream = gw.keys.group_events(GROUP)
    entries = [LogEntry(stream, entry_id, fields) for entry_id, fields in await gw.redis.xrange(stream)]
    await gw.dispatcher.decoded.prefetch([(entry, entry.fields[F_EVENT]) for entry in entries])
    fanout = Fanout(stream, entries, gw.dispatcher.decoded)
    taken = first.take_plain(fanout, cursors=False)
    assert taken is not None
    assert groups_of(taken) == ["A"]
    assert taken is second.take_plain(fanout, cursors=False)
    for one in (first, second):
        one.close()
