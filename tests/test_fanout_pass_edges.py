"""The fan-out pass (gateway.events.fanout) at its edges: several entries taken at once (each
with its own cursor), a member whose write raises in the pass, transports without a taker (SSE,
legacy graphql-ws) beside members that take it, and followers of one document with other variables."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.events.cursor import Cursor
from gateway.im.events import OnGroupCreated
from gateway.services import Gateway
from gateway.web.ws_protocols import ListenerOperation
from tests.support.clients import HTTPClient, WSClient
from tests.support.messages import send_text
from tests.support.servers import InProcessGateway
from tests.test_fanout_fast_path import GROUP, groups_of, members, until
from tests.test_fanout_pass import append, counting_mailbox_drains, taking
from tests.test_listener_path import CURSORS_DOC, drain, joined, meeting_group
from tests.test_sse import MESSAGES as SSE_MESSAGES
from tests.test_sse import _subscribed, sse


async def test_each_entry_taken_in_one_pass_carries_the_cursor_right_after_itself(gw: Gateway) -> None:
    """Two entries read together and taken together: the first one's cursor resumes after the
    first, not after the second (a resume from it must not skip the second)."""
    first, second = await members(gw, "m1", "m2")
    took = taking(first)
    taking(second)
    await append(gw, OnGroupCreated(groupID="A"))
    await append(gw, OnGroupCreated(groupID="B"))
    gw.dispatcher._sweep()
    await until(lambda: len(took) == 2)
    assert groups_of(took) == ["A", "B"]
    for delivery in took:
        assert Cursor.decode(delivery.cursor).groups == {GROUP: delivery.shared.rsplit("#", 1)[1]}
    for one in (first, second):
        one.close()


async def test_sse_and_legacy_members_get_a_fan_out_beside_members_that_take_it(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribers without a taker (SSE, graphql-ws) get the group's message through their
    mailbox, in the same pass where transport-ws members take it."""
    owner, gid = await meeting_group(client, "mixed-transports")
    plain_ws = {}
    for name in ("t1", "t2"):
        ws = await WSClient.connect(server.ws_url, await joined(client, gid, name))
        plain_ws[name] = (ws, await ws.subscribe(CURSORS_DOC))
    legacy = await WSClient.connect(server.ws_url, await joined(client, gid, "legacy"), protocol="graphql-ws")
    legacy_op = await legacy.subscribe(CURSORS_DOC)
    sse_token = await joined(client, gid, "viasse")
    async with sse(client, SSE_MESSAGES, token=sse_token) as stream:
        await _subscribed(server, 4)
        for ws, op in [*plain_ws.values(), (legacy, legacy_op)]:
            await drain(ws, op)
        await send_text(client, owner, "one", group=gid)  # first render of the document
        for ws, op in plain_ws.values():
            assert (await ws.next_event(op))["message"]["textElem"]["text"] == "one"
        drained = counting_mailbox_drains(monkeypatch)
        await send_text(client, owner, "two", group=gid)
        for ws, op in plain_ws.values():
            assert (await ws.next_event(op))["message"]["textElem"]["text"] == "two"
        assert drained == []  # taken in the pass
        texts = []
        for _ in range(2):
            message = await legacy.next(legacy_op)
            assert message["type"] == "data", message
            texts.append(message["payload"]["data"]["advancedMsgListener"]["message"]["textElem"]["text"])
        assert texts == ["one", "two"]
        got = [(await stream.next()).listener_event()["message"]["textElem"]["text"] for _ in range(2)]
        assert got == ["one", "two"]
    for ws, _ in plain_ws.values():
        await ws.close()
    await legacy.close()


async def test_a_member_whose_write_raises_in_the_pass_ends_with_an_error_and_loses_nothing(
    client: HTTPClient, server: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A take that raises: that member's subscription ends with an error (the client resumes from
    its last cursor and gets the message), the others get it in the same pass, and the dispatcher
    goes on to the next one."""
    owner, gid = await meeting_group(client, "raising")
    subscribed = {}
    for name in ("bad", "good1", "good2"):
        ws = await WSClient.connect(server.ws_url, await joined(client, gid, name))
        subscribed[name] = (ws, await ws.subscribe(CURSORS_DOC))
    for ws, op in subscribed.values():
        await drain(ws, op)
    await send_text(client, owner, "one", group=gid)
    cursors = {}
    for name, (ws, op) in subscribed.items():
        event = await ws.next_event(op)
        assert event["message"]["textElem"]["text"] == "one"
        cursors[name] = event["a"]

    original = ListenerOperation._written

    def written(self: ListenerOperation, deliveries: Any, later: Any = None) -> bool:
        assert self.listening is not None
        if self.listening._session.user_id == "bad":
            raise RuntimeError("boom")
        return original(self, deliveries, later)

    monkeypatch.setattr(ListenerOperation, "_written", written)
    await send_text(client, owner, "two", group=gid)
    ws, op = subscribed["bad"]
    failed = await ws.next(op)
    assert failed["type"] == "next", failed
    assert failed["payload"]["data"] is None, failed
    assert (await ws.next(op))["type"] == "complete"
    for name in ("good1", "good2"):
        ws, op = subscribed[name]
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "two"
    await send_text(client, owner, "three", group=gid)  # the dispatcher went on
    for name in ("good1", "good2"):
        ws, op = subscribed[name]
        assert (await ws.next_event(op))["message"]["textElem"]["text"] == "three"
    monkeypatch.setattr(ListenerOperation, "_written", original)
    ws, _ = subscribed["bad"]
    again = await ws.subscribe(
        "subscription($c: String) { advancedMsgListener(since: $c) { "
        "... on RecvNewMessageEvent { message { textElem { text } } } } }",
        {"c": cursors["bad"]},
    )
    assert [(await ws.next_event(again))["message"]["textElem"]["text"] for _ in range(2)] == ["two", "three"]
    for ws, _ in subscribed.values():
        await ws.close()


VARIABLES_DOC = """subscription($t: Boolean!) { advancedMsgListener { ... on RecvNewMessageEvent {
  cursor message { msgID textElem @include(if: $t) { text } } } } }"""


async def test_followers_with_other_variables_of_one_document_get_their_own_rendering(
    client: HTTPClient, server: InProcessGateway
) -> None:
    owner, gid = await meeting_group(client, "variables")
    subscribed = {}
    for name, shown in (("v1", True), ("v2", False), ("v3", True), ("v4", False)):
        ws = await WSClient.connect(server.ws_url, await joined(client, gid, name))
        subscribed[name] = (ws, await ws.subscribe(VARIABLES_DOC, {"t": shown}), shown)
    for ws, op, _ in subscribed.values():
        await drain(ws, op)
    for text in ("one", "two", "three"):
        await send_text(client, owner, text, group=gid)
        cursors = set()
        for ws, op, shown in subscribed.values():
            event = await ws.next_event(op)
            assert ("textElem" in event["message"]) is shown, event
            if shown:
                assert event["message"]["textElem"]["text"] == text
            cursors.add(event["cursor"])
        assert len(cursors) == 4  # each member's own
    for ws, _, _ in subscribed.values():
        await ws.close()
