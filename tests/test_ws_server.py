"""What an idle WebSocket connection keeps on the server (gateway.web.ws_server, the view's
WebSocket path): the handshake's state is let go, the connection reads frames as before, and the
protocol's inbox behaves as the asyncio.Queue it replaces."""

from __future__ import annotations

import asyncio
import gc

import pytest
import websockets
from websockets.http11 import Request

from gateway.web.ws_protocols import TransportWSHandler
from gateway.web.ws_server import Inbox, LeanWebSocketProtocol
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway

LISTEN = "subscription { advancedMsgListener { __typename ... on RecvNewMessageEvent { message { msgID } } } }"


def _live(kind: type) -> list[object]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


async def test_an_open_connection_keeps_no_handshake_state(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    ws = await WSClient.connect(server.ws_url, alice)
    op = await ws.subscribe(LISTEN)
    await asyncio.sleep(0.1)
    [protocol] = _live(LeanWebSocketProtocol)
    assert isinstance(protocol, LeanWebSocketProtocol)
    assert protocol.request is None
    assert protocol.response is None
    # the handshake parser (whose frame held the request) gave way to websockets' frame parser
    assert protocol.conn.parser.gi_code.co_qualname == "Protocol.parse"  # type: ignore[attr-defined]
    assert [r for r in _live(Request) if r is not ws.conn.request] == []  # the client's own is all there is
    # Strawberry's cancelled init timer is not kept either
    [handler] = _live(TransportWSHandler)
    assert handler.connection_init_timeout_task is None  # type: ignore[attr-defined]
    # and the connection still reads frames: many, and one large enough to span several reads
    ops = [await ws.subscribe(LISTEN) for _ in range(10)]
    for extra in ops:
        await ws.stop(extra)
    big = await ws.subscribe(LISTEN, {"padding": "x" * 300_000})  # unused variables are allowed
    created = (await client.gql('mutation { createTextMessage(text: "hi") { id } }', token=bob)).ok()
    doc = f'mutation {{ sendMessage(id: "{created["createTextMessage"]["id"]}", receiver: "alice") {{ msgID }} }}'
    sent = (await client.gql(doc, token=bob)).ok()["sendMessage"]["msgID"]
    assert (await ws.next_event(op))["message"]["msgID"] == sent
    assert (await ws.next_event(big))["message"]["msgID"] == sent
    await ws.close()


async def test_a_websocket_to_another_path_is_refused(server: InProcessGateway) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(server.ws_url.replace("/graphql", "/elsewhere"))
    assert refused.value.response.status_code == 403


async def test_the_inbox_hands_items_out_in_order_to_waiting_getters() -> None:
    inbox = Inbox()
    assert inbox.empty()
    first, second = asyncio.create_task(inbox.get()), asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("a")
    inbox.put_nowait("b")
    assert await first == "a"
    assert await second == "b"
    inbox.put_nowait("c")
    assert inbox.qsize() == 1
    assert await inbox.get() == "c"
    assert inbox.empty()


async def test_a_cancelled_getter_leaves_its_item_to_the_next() -> None:
    inbox = Inbox()
    leaving, staying = asyncio.create_task(inbox.get()), asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("x")  # wakes the first getter...
    leaving.cancel()  # ...which leaves before it runs
    assert await asyncio.wait_for(staying, 2) == "x"
    with pytest.raises(asyncio.CancelledError):
        await leaving
