"""What an idle WebSocket connection keeps on the server (gateway.lean.uvicorn_ws, the view's
WebSocket path): the handshake's state is let go, the connection reads frames as before, and the
protocol's inbox behaves as the asyncio.Queue it replaces."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import re
from typing import Any, TypeVar, cast

import orjson
import pytest
import uvicorn
import websockets
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from gateway.cli import HTTP_IMPLEMENTATION, WS_IMPLEMENTATION
from gateway.config import Settings, load_settings
from gateway.lean.uvicorn_ws import SEND_NOW, Gate, Inbox, LeanWebSocketProtocol, PingWheel, text_frames
from gateway.web.ws_protocols import TransportWSHandler
from tests.support.clients import HTTPClient, WSClient
from tests.support.servers import InProcessGateway, start_in_process
from tests.support.sockets import open_connections, record_writes

T = TypeVar("T")

LISTEN = "subscription { advancedMsgListener { __typename ... on RecvNewMessageEvent { message { msgID } } } }"


def _live(kind: type[T]) -> list[T]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


def _recorded_writes() -> list[bytes]:
    """What the one open WebSocket connection writes to its socket from now on, write by write."""
    [protocol] = open_connections()
    return record_writes(protocol)


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
    assert protocol.conn.parser.gi_code.co_qualname == "Protocol.parse"
    # which keeps no frame it parsed (the subscribe message) while it waits for the next
    assert "frame" not in protocol.conn.parser.gi_frame.f_locals
    assert [r for r in _live(Request) if r is not ws.conn.request] == []  # the client's own is all there is
    # every attribute uvicorn's protocol gave the connection is in a slot, none in a dict of its own
    assert vars(protocol) == {}
    # Strawberry's cancelled init timer is not kept either
    [handler] = _live(TransportWSHandler)
    assert handler.connection_init_timeout_task is None
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


def _suspended_in(task: asyncio.Task[object]) -> list[str]:
    """The coroutines a task waits in, outermost first (up to an `async for`'s step)."""
    names: list[str] = []
    awaiting: object = task.get_coro()
    while awaiting is not None:
        code = getattr(awaiting, "cr_code", None) or getattr(awaiting, "ag_code", None)
        if code is None:
            break
        names.append(code.co_qualname)
        awaiting = getattr(awaiting, "cr_await", None) or getattr(awaiting, "ag_await", None)
    return names


async def test_an_idle_connection_waits_in_the_protocol_handler_alone(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, alice)
    await ws.subscribe(LISTEN)
    await asyncio.sleep(0.1)
    [chain] = [c for t in asyncio.all_tasks() if (c := _suspended_in(t))[0].endswith(".run_asgi")]
    # Strawberry's ASGI entry and run() opened it and are gone: from the app, straight to the handler
    assert chain == [
        "WebSocketsSansIOProtocol.run_asgi",
        "WebSocketsFirst.__call__",
        "BaseGraphQLTransportWSHandler.handle",  # then in `async for`: the reader's generator
    ]
    await ws.close()


async def test_connections_share_their_handshake_header_names(client: HTTPClient, server: InProcessGateway) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")
    first = await WSClient.connect(server.ws_url, alice)
    second = await WSClient.connect(server.ws_url, bob)
    await asyncio.sleep(0.1)
    one, two = _live(LeanWebSocketProtocol)
    names = {name: name for name, _ in one.scope["headers"]}
    assert b"sec-websocket-key" in names
    # the header names, and values most handshakes repeat, are one object for both connections
    for name, _ in two.scope["headers"]:
        assert name is names[name]
    assert dict(one.scope["headers"])[b"upgrade"] is dict(two.scope["headers"])[b"upgrade"]
    await first.close()
    await second.close()


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


class _Pinged:
    """Stands in for a LeanWebSocketProtocol: all PingWheel touches is `ping_slot` and `send_keepalive_ping`."""

    def __init__(self) -> None:
        self.ping_slot: int | None = None
        self.pings = 0

    def send_keepalive_ping(self) -> None:
        self.pings += 1

    @property
    def protocol(self) -> LeanWebSocketProtocol:
        return cast(LeanWebSocketProtocol, self)


async def test_one_wheel_pings_each_connection_when_due_and_not_once_cancelled() -> None:
    wheel = PingWheel(asyncio.get_running_loop())
    soon, later, cancelled = _Pinged(), _Pinged(), _Pinged()
    wheel.schedule(soon.protocol, 0.0)
    wheel.schedule(later.protocol, 2.5)
    wheel.schedule(cancelled.protocol, 0.0)
    wheel.cancel(cancelled.protocol)
    await asyncio.sleep(1.3)
    assert (soon.pings, later.pings, cancelled.pings) == (1, 0, 0)
    assert soon.ping_slot is None
    assert later.ping_slot is not None
    wheel.schedule(later.protocol, 0.0)  # rescheduled sooner: pinged once, at the new time
    await asyncio.sleep(1.2)
    assert (soon.pings, later.pings, cancelled.pings) == (1, 1, 0)


async def test_a_client_that_never_answers_pings_is_closed(settings: Settings) -> None:
    server = await start_in_process(settings, ws_ping_seconds=0.3)
    try:
        # a client that answers (websockets does, by itself) stays connected through many pings
        answering = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"GET /graphql HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        opcodes = []
        async with asyncio.timeout(6):
            while True:
                head = await reader.readexactly(2)
                payload = await reader.readexactly(head[1] & 0x7F)
                opcodes.append(head[0] & 0x0F)
                if opcodes[-1] == 0x8:  # close
                    break
        assert opcodes[0] == 0x9  # a ping first
        assert int.from_bytes(payload[:2], "big") == 1011  # then closed: keepalive ping timeout
        writer.close()
        await answering.send('{"type": "connection_init"}')
        assert '"connection_ack"' in str(await asyncio.wait_for(answering.recv(), 5))
        await answering.close()
    finally:
        await server.stop()


@pytest.mark.parametrize("compression", [False, True])
async def test_permessage_deflate_is_offered_only_when_configured(settings: Settings, compression: bool) -> None:
    server = await start_in_process(dataclasses.replace(settings, ws_compression=compression))
    try:
        # websockets' client offers permessage-deflate, as browsers do
        conn = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        assert conn.response is not None
        extensions = conn.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in extensions) is compression
        await conn.send('{"type": "connection_init"}')
        assert '"connection_ack"' in str(await asyncio.wait_for(conn.recv(), 5))
        await conn.close()
    finally:
        await server.stop()


def test_compression_is_read_from_the_environment() -> None:
    base = {"IMQL_SECRET_KEY": "s" * 32}
    assert load_settings(base).ws_compression is False
    assert load_settings({**base, "IMQL_WS_COMPRESSION": "1"}).ws_compression is True


async def test_the_gate_holds_writers_while_cleared_and_lets_them_through_when_set() -> None:
    gate = Gate()
    assert not gate.is_set()
    first, second = asyncio.create_task(gate.wait()), asyncio.create_task(gate.wait())
    cancelled = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    assert not first.done()
    cancelled.cancel()
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert gate.is_set()
    await asyncio.wait_for(gate.wait(), 1)  # open: passes at once
    gate.clear()
    blocked = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    assert not blocked.done()
    gate.set()
    await asyncio.wait_for(blocked, 1)
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_a_trusted_proxys_forwarded_client_is_the_websockets_client(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice = await client.login("alice")
    ws = await WSClient.connect(server.ws_url, alice, additional_headers={"X-Forwarded-For": "203.0.113.7"})
    await ws.subscribe(LISTEN)
    await asyncio.sleep(0.1)
    [protocol] = _live(LeanWebSocketProtocol)
    assert protocol.scope["client"] == ("203.0.113.7", 0)
    await ws.close()


RESUMING = (
    "subscription($since: String) { advancedMsgListener(since: $since) { __typename "
    "... on RecvNewMessageEvent { cursor message { msgID } } } }"
)


async def test_a_resumed_subscription_gets_its_replay_in_one_socket_write(
    client: HTTPClient, server: InProcessGateway
) -> None:
    alice, bob = await client.login("alice"), await client.login("bob")

    async def send() -> str:
        created = (await client.gql('mutation { createTextMessage(text: "hi") { id } }', token=bob)).ok()
        doc = f'mutation {{ sendMessage(id: "{created["createTextMessage"]["id"]}", receiver: "alice") {{ msgID }} }}'
        return str((await client.gql(doc, token=bob)).ok()["sendMessage"]["msgID"])

    ws = await WSClient.connect(server.ws_url, alice)
    op = await ws.subscribe(RESUMING)
    await send()
    cursor = (await ws.next_event(op))["cursor"]
    await ws.close()
    missed = [await send() for _ in range(3)]  # while alice is away

    ws = await WSClient.connect(server.ws_url, alice)
    writes = _recorded_writes()
    op = await ws.subscribe(RESUMING, {"since": cursor})
    assert [(await ws.next_event(op))["message"]["msgID"] for _ in missed] == missed
    # the three `next` frames of the replay went out in one write, not one each
    assert [w.count(b'"type":"next"') for w in writes] == [3]
    # and what comes live after the replay still arrives, as frames of their own
    later = await send()
    assert (await ws.next_event(op))["message"]["msgID"] == later
    assert [w.count(b'"type":"next"') for w in writes] == [3, 1]
    await ws.close()


async def test_a_writer_let_through_counts_as_passing_until_it_has_gone_through() -> None:
    """send_now writes only while no writer that waited is still on its way (frames keep their
    order): Gate.passing counts them from their wait until they are through."""
    gate = Gate()
    through: list[str] = []

    async def writer() -> None:
        await gate.wait()
        through.append("waited")

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.01)
    assert gate.passing == 1
    gate.set()
    assert gate.is_set()
    assert gate.passing == 1  # let through, not run yet: a frame written now would overtake it
    await asyncio.wait_for(task, 1)
    assert through == ["waited"]
    assert gate.passing == 0
    gate.clear()
    cancelled = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    assert gate.passing == 1
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert gate.passing == 0


@pytest.mark.parametrize("lengths", [[0], [1, 125], [126, 127], [65535], [65536], [5, 300, 70000, 2]])
def test_frames_written_directly_are_the_frames_websockets_writes(lengths: list[int]) -> None:
    """LeanWebSocketProtocol.write_now frames a plain connection's messages itself: byte for byte
    what websockets' send_text serializes for a server without extensions."""
    frames = ["é" * (n // 2) + "x" * (n % 2) for n in lengths]
    conn = ServerProtocol()
    conn.state = State.OPEN
    for frame in frames:
        conn.send_text(frame.encode())
    assert text_frames([f.encode() for f in frames]) == b"".join(conn.data_to_send())


async def test_a_compressed_connection_gets_its_listener_frames_compressed(
    settings: Settings, client: HTTPClient
) -> None:
    """With permessage-deflate negotiated, frames go through websockets' extensions (RSV1 set):
    not framed directly as a plain connection's are."""
    server = await start_in_process(dataclasses.replace(settings, ws_compression=True))
    try:
        alice, bob = await client.login("alice"), await client.login("bob")
        conn = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await conn.send(
            orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {bob}"}}).decode()
        )
        assert '"connection_ack"' in str(await asyncio.wait_for(conn.recv(), 5))
        writes = _recorded_writes()
        await conn.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": LISTEN}}).decode())
        created = (await client.gql('mutation { createTextMessage(text: "zip") { id } }', token=alice)).ok()
        doc = f'mutation {{ sendMessage(id: "{created["createTextMessage"]["id"]}", receiver: "bob") {{ msgID }} }}'
        sent = (await client.gql(doc, token=alice)).ok()["sendMessage"]["msgID"]
        message = orjson.loads(await asyncio.wait_for(conn.recv(), 5))
        assert message["payload"]["data"]["advancedMsgListener"]["message"]["msgID"] == sent
        assert writes
        assert all(w[0] == 0xC1 for w in writes)  # FIN, RSV1 (compressed), text
        await conn.close()
    finally:
        await server.stop()


# Handshakes as clients send them (the bench's own client; a browser's: its Connection list, an
# Origin, permessage-deflate offered, names in mixed case), answered from the request uvicorn parsed
# (gateway.lean.uvicorn_ws.upgrade_parsed), and others it leaves to websockets' parser.
_KEY = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
_PLAIN = b"Upgrade: websocket\r\nConnection: Upgrade\r\n" + _KEY + b"Sec-WebSocket-Version: 13\r\n"
HANDSHAKES = {
    "bench": _PLAIN + b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n",
    "legacy": _PLAIN + b"Sec-WebSocket-Protocol: graphql-ws\r\n",
    "both": _PLAIN + b"Sec-WebSocket-Protocol: graphql-ws, graphql-transport-ws\r\n",
    "two-protocol-headers": _PLAIN + b"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: graphql-ws\r\n",
    "none": _PLAIN,
    "unknown": _PLAIN + b"Sec-WebSocket-Protocol: chat\r\n",
    "browser": (
        b"User-Agent: Mozilla/5.0\r\nsec-websocket-version: 13\r\nOrigin: http://127.0.0.1\r\n"
        b"Sec-WebSocket-Protocol: graphql-transport-ws\r\nsec-websocket-extensions: permessage-deflate\r\n"
        b"Sec-WEBSOCKET-key: x3JJHMbDL1EzLkh9GBhXDw==\r\nConnection: keep-alive, Upgrade\r\n"
        b"Upgrade: WebSocket\r\nContent-Length: 0\r\n"
    ),
    "deflate-parameters": _PLAIN
    + b"Sec-WebSocket-Protocol: graphql-transport-ws\r\n"
    + b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-unknown\r\n",
    # refused, by websockets or uvicorn
    "key-not-base64": _PLAIN.replace(_KEY, b"Sec-WebSocket-Key: not*base64!\r\n"),
    "key-too-short": _PLAIN.replace(_KEY, b"Sec-WebSocket-Key: c2hvcnQ=\r\n"),
    "no-key": _PLAIN.replace(_KEY, b""),
    "two-keys": _PLAIN + _KEY,
    "version-12": _PLAIN.replace(b"Version: 13", b"Version: 12"),
    "no-version": _PLAIN.replace(b"Sec-WebSocket-Version: 13\r\n", b""),
    "two-origins": _PLAIN + b"Origin: http://a\r\nOrigin: http://b\r\n",
    "bad-protocol-list": _PLAIN + b"Sec-WebSocket-Protocol: graphql-ws,,\r\n",
    "bad-connection-list": _PLAIN.replace(b"Connection: Upgrade", b"Connection: Upgrade, ;"),
    "no-upgrade": _PLAIN.replace(b"Upgrade: websocket\r\n", b""),
}


async def _handshake(port: int, head: bytes, target: bytes = b"/graphql", method: bytes = b"GET") -> bytes:
    """The server's answer to a handshake request, its Date values blanked (a 101's head; any other
    response to its end)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n")
    try:
        async with asyncio.timeout(10):
            answer = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)\r$", answer)
            if length is not None:
                answer += await reader.readexactly(int(length.group(1)))
            elif not answer.startswith(b"HTTP/1.1 101"):
                answer += await reader.read()
    finally:
        writer.close()
    return re.sub(rb"(?im)^(date): [^\r]*", rb"\1: -", answer)


@pytest.mark.parametrize("compression", [False, True])
async def test_handshakes_are_answered_as_websockets_answers_them(settings: Settings, compression: bool) -> None:
    """Byte for byte (but the date) what the server answers when websockets parses and accepts every
    request itself: through uvicorn's own HTTP protocol, which hands it the request's bytes."""
    configured = dataclasses.replace(settings, ws_compression=compression)
    ours = await start_in_process(configured)
    stock = await start_in_process(configured, http="httptools")
    try:
        for name, head in HANDSHAKES.items():
            answer = await _handshake(ours.port, head)
            assert answer == await _handshake(stock.port, head), name
            if name in ("bench", "browser", "legacy", "deflate-parameters"):
                assert answer.startswith(b"HTTP/1.1 101 "), name
        for target, method in ((b"/elsewhere", b"GET"), (b"/graphql?x=%41", b"GET"), (b"/graphql", b"POST")):
            head = HANDSHAKES["bench"]
            assert await _handshake(ours.port, head, target, method) == await _handshake(
                stock.port, head, target, method
            )
    finally:
        await ours.stop()
        await stock.stop()


async def test_the_application_sees_the_scope_websockets_handshake_gave_it(settings: Settings) -> None:
    ours = await start_in_process(settings)
    stock = await start_in_process(settings, http="httptools")
    try:
        scopes = []
        for server in (ours, stock):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET /graph%71l?a=1&b=%20 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + HANDSHAKES["browser"] + b"\r\n")
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
            [protocol] = [p for p in _live(LeanWebSocketProtocol) if not p.transport.is_closing()]
            scope: dict[str, Any] = {**protocol.scope, "extensions": dict(protocol.scope["extensions"])}
            scope.pop("app")  # each server's own Starlette, set once the application has the scope
            assert scope.pop("server")[1] == server.port
            assert scope.pop("client")[1] == writer.get_extra_info("sockname")[1]
            assert scope["extensions"].pop(SEND_NOW) is protocol
            scopes.append(scope)
            writer.close()
            await asyncio.sleep(0.1)
        assert scopes[0] == scopes[1]
        assert scopes[0]["path"] == "/graphql"
        assert scopes[0]["subprotocols"] == ["graphql-transport-ws"]
    finally:
        await ours.stop()
        await stock.stop()


async def test_only_handshakes_websockets_must_look_at_are_parsed_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handshake request httptools parsed is not parsed a second time by websockets (its Request
    objects and header maps, ~50 µs a connection, bench reconnect-storm) unless it is one that
    websockets refuses or negotiates an extension for: those go through its parser, as before."""
    parsed: list[Request] = []
    parse = Request.parse.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Request], read_line: Any) -> Any:
        request = yield from parse(cls, read_line)
        parsed.append(request)
        return request

    monkeypatch.setattr(Request, "parse", classmethod(counted))
    plain = await start_in_process(settings)
    deflating = await start_in_process(dataclasses.replace(settings, ws_compression=True))
    try:
        for name in ("bench", "browser", "legacy", "none", "deflate-parameters"):
            await _handshake(plain.port, HANDSHAKES[name])
        await _handshake(deflating.port, HANDSHAKES["bench"])  # no extension offered
        assert parsed == []
        await _handshake(plain.port, HANDSHAKES["two-origins"])
        await _handshake(deflating.port, HANDSHAKES["browser"])  # offered: negotiated by websockets
        assert len(parsed) == 2
    finally:
        await plain.stop()
        await deflating.stop()


async def _serve_raw(app: Any, http: str) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http=http, ws=WS_IMPLEMENTATION, log_level="critical")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (
            {
                "type": "websocket.accept",
                "subprotocol": "b",
                "headers": [(b"X-\xc0", b"v\xe9"), (b"a", b"1"), (b"a", b"2")],
            },
            101,
        ),
        ({"type": "websocket.accept", "headers": [(b"x-bad", b"a\nb")]}, 500),  # websockets' Headers refuses it
        ({"type": "websocket.accept", "subprotocol": "\u0100"}, 500),  # the same
        ({"type": "websocket.close"}, 403),
    ],
)
async def test_an_applications_answer_is_written_as_websockets_writes_it(answer: dict[str, Any], status: int) -> None:
    """Its own headers (names lowercased, repeated, Latin-1) and subprotocol in the 101, or its
    refusal, byte for byte (but the date) as when websockets built and serialized the response."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send(answer)
        await asyncio.sleep(0.2)

    answers = []
    for http in (HTTP_IMPLEMENTATION, "httptools"):
        server, task, port = await _serve_raw(app, http)
        try:
            answers.append(await _handshake(port, _PLAIN + b"Sec-WebSocket-Protocol: a, b\r\n"))
        finally:
            server.should_exit = True
            await task
    assert answers[0] == answers[1]
    assert answers[0].startswith(b"HTTP/1.1 %d " % status)
