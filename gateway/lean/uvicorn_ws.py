"""uvicorn's WebSocket protocol (websockets-sansio), holding less per idle connection.

An idle subscription's connection is mostly the server stack's state (bench subscriptions-idle).
Six parts of uvicorn's protocol cost more than they need to:
- the inbox between the socket and the application is an asyncio.Queue: three deques, an Event
  with a deque of its own, ~2 KB, for what is almost always zero or one waiting message;
- the flow-control flag (`writable`) is an asyncio.Event, whose deque is another ~0.6 KB;
- each connection's next keepalive ping has a timer of its own (~0.7 KB with the event loop's
  handle): one timer per process (PingWheel) serves them all;
- its ~40 attributes made each connection's __dict__ a dict of its own (~1.6 KB): they are slots
  here (UVICORN_ATTRIBUTES);
- the scope's header names (and common values) are bytes objects of their own per connection:
  shared here (SHARED_HEADER_BYTES);
- the opening handshake's request and response (their header objects, ~3 KB) stay referenced for
  the connection's life, though nothing reads them once the handshake is answered: by uvicorn's
  protocol, and by the suspended frame of websockets' request parser, which goes on to parse the
  connection's frames. Once the handshake is answered and no frame has begun to arrive, that
  parser is swapped for websockets' own frame parser, started afresh: the same state, as both
  are waiting for a frame's first byte with nothing consumed. Later, that parser keeps the last
  frame it parsed (the subscribe message) until the next arrives: whenever it waits at a frame's
  first byte again, it is started afresh the same way.

`imql serve` runs this class (gateway.cli.WS_IMPLEMENTATION); everything else is uvicorn's.

The opening handshake is answered from the request uvicorn's httptools protocol already parsed
(`upgrade_parsed`, called by gateway.lean.uvicorn_http for every upgrade): uvicorn serialized it
again for websockets, which parsed it a second time and built a Request, a Response and their
header maps (~50 µs a connection, 5-8 % of the server's CPU in a reconnect storm, bench
reconnect-storm). A request websockets would accept as it is (`plain_handshake` makes every check
its parser and its accept() make) opens the connection at once (`open_parsed`: uvicorn's scope,
built from the parsed headers), and the application's websocket.accept writes the 101 bytes
websockets would have serialized (`_answer_upgrade`). Any other request (refused, or unusual in any
way), and any connection on which websockets negotiates an extension (permessage-deflate offered
and enabled) or logs the handshake, goes through websockets as before: same answers, same bytes
(tests/test_ws_server.py compares both paths request by request).

It also writes text frames in the caller's turn (`send_now`, `write_now`, offered as the scope
extension SEND_NOW; on a connection without extensions framed here, without websockets' per-frame
objects; a fan-out pass may hold the write to make it with others, `write_now(frames, later)`,
and the connection's other frames then wait behind it, `held`), and takes several text frames in
one ASGI message (`{"type": "websocket.send", "texts":
[...]}`, offered as the scope extension SEND_MANY) and writes them to the socket at once: a
subscription resuming after a restart gets its replay as one write instead of one per event, and
each write is a system call and, on loopback, the receiver's wake-up (bench reconnect-storm).

Every private (or undocumented) name this module relies on, checked by
tests/test_upstream_contract.py (test_uvicorn, test_websockets):
- uvicorn.protocols.websockets.websockets_sansio_impl.WebSocketsSansIOProtocol (uvicorn >= 0.44;
  measured: 0.36-0.43 start fine but never call schedule_ping/start_keepalive, so no keepalive
  ping is sent and the handshake is kept): the constructor `(config, server_state, app_state,
  _loop)`, attributes `queue` (replaced by Inbox: put_nowait/get/empty), `writable` (replaced by
  Gate: set/clear/wait/is_set), `read_paused`, `transport`, `loop`, `request`, `response`, `conn`,
  `ping_interval`, `last_ping_rtt`, and every other instance attribute it assigns
  (UVICORN_ATTRIBUTES, made slots); for SEND_MANY and SEND_NOW `handshake_complete`, `close_sent`,
  `initial_response`, `disconnected`, `conn`, `transport` (SEND_NOW: `writable` too, and
  websockets' `Protocol.state`, `send_text`, `data_to_send`, and for `write_now`, which frames a
  plain connection's text frames itself, `extensions`, `expect_continuation_frame`, `debug`,
  `writes`); methods `handle_connect(event)`
  (overridden: sets `scope`, whose "headers" are rewritten and "extensions" gain SEND_MANY and SEND_NOW before
  the application's task runs), `connection_lost(exc)` (overridden: the scope drops SEND_NOW),
  `schedule_ping()`, `stop_keepalive()`, `start_keepalive()`,
  `send_keepalive_ping()`, `receive()` and `send(message)` (overridden); for the handshake from
  the parsed request, what handle_connect does (`open_parsed` builds its scope, sets
  `handshake_initiated`, puts websocket.connect in `queue`, starts `run_asgi()` in `tasks` with
  `on_task_complete`, from `asgi_version`, `scheme`, `server`, `client`, `root_path`, `app_state`)
  and what send does for websocket.accept (`_answer_upgrade`: `logger`, `default_headers`,
  `handshake_complete`, then `start_keepalive()`);
- uvicorn.protocols.http.httptools_impl.HttpToolsProtocol (for `upgrade_parsed`): the method
  `handle_websocket_upgrade()` (overridden by gateway.lean.uvicorn_http, which calls
  `upgrade_parsed`), and its attributes `ws_protocol_class`, `scope` ("method", "headers": names
  lowercased, values stripped of surrounding blanks), `url`, `config`, `server_state`,
  `app_state`, `connections`, `transport`, `logger`, `client`;
- websockets.protocol.Protocol (websockets >= 13): `Protocol.parse(self)` (a generator, re-primed
  with next(), holding no state across frames but its `frame` local; waiting for a frame, it is
  suspended in `yield from self.reader.at_eof()`), instance attributes `state`, `reader.buffer`,
  `parser`, `parser_exc`; websockets.streams.StreamReader.at_eof (a generator);
  websockets.protocol.State.OPEN; for the handshake from the parsed request,
  websockets.server.ServerProtocol's attributes `origins`, `available_subprotocols`,
  `available_extensions`, `debug`, `logger` (read), `accept_called`, `origin`, `parser` and
  `state` (set as its accept() and send_response() set them), and websockets.http11's header
  grammar (`_token_re`, `_value_re`: copied here as _TOKEN and _HEADER_VALUE; and
  websockets.datastructures.is_valid_header_value, as _HEADER_TEXT) and limits (MAX_NUM_HEADERS,
  MAX_LINE_LENGTH).
On upgrade: read uvicorn's websockets_sansio_impl.py for where it calls start_keepalive and
schedule_ping and what reads queue/writable, and for what handle_connect and send's
websocket.accept do (open_parsed and _answer_upgrade do the same); httptools_impl.py's
handle_websocket_upgrade; websockets' protocol.py for how `parser` is started, and server.py's
accept(), process_request() and send_response() for what plain_handshake must check and what they
set; then run tests/test_upstream_contract.py and tests/test_ws_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import re
import struct
import typing
import weakref
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import ClientDisconnected, get_client_addr, get_path_with_query_string
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidHeaderValue, InvalidState
from websockets.http11 import MAX_LINE_LENGTH, MAX_NUM_HEADERS, Request
from websockets.protocol import Protocol, State
from websockets.streams import StreamReader

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_PARSE_CODE = Protocol.parse.__code__
_AT_EOF_CODE = StreamReader.at_eof.__code__

# The scope extension saying the server takes `texts` in a websocket.send (gateway.web.view). Its
# value is one shared empty dict: a connection's scope gains a key, not an object of its own.
SEND_MANY = "imql.websocket.send_many"
_OFFERED: dict[object, object] = {}
# The scope extension whose value is the connection's LeanWebSocketProtocol itself, for
# `send_now`: text frames written in the caller's turn, without the ASGI message, Starlette's
# and uvicorn's send (a group message to 10,000 local subscribers is 10,000 of them; bench
# group-fanout). A reference in a dict the scope has anyway: no object per connection.
SEND_NOW = "imql.websocket.send_now"
_NO_EXTENSIONS: dict[str, object] = {}


# A final text frame's first byte (FIN, opcode 1), and its whole header for each payload length a
# one-byte length holds; a server's frames are not masked (RFC 6455 5.1).
_TEXT_FIN = 0x81
_SHORT_HEADERS = [bytes((_TEXT_FIN, n)) for n in range(126)]


class Holding(typing.Protocol):
    """A fan-out pass's held writes (gateway.events.fanout.HeldWrites), as `write_now` uses them."""

    def hold(self, holder: LeanWebSocketProtocol, data: bytes) -> None: ...

    def release(self) -> None: ...


def text_frames(frames: list[bytes]) -> bytes:
    """Unmasked, unfragmented text frames of `frames` (UTF-8 payloads), as websockets serializes
    them for a server without extensions (tests/test_ws_server.py compares the two)."""
    parts: list[bytes] = []
    for frame in frames:
        n = len(frame)
        if n < 126:
            parts.append(_SHORT_HEADERS[n])
        elif n < 65536:
            parts.append(struct.pack("!BBH", _TEXT_FIN, 126, n))
        else:
            parts.append(struct.pack("!BBQ", _TEXT_FIN, 127, n))
        parts.append(frame)
    return b"".join(parts)


class Inbox:
    """The part of asyncio.Queue uvicorn's protocol uses (put_nowait, get, empty), unbounded,
    as two lists that stay empty, and so nearly free, while the connection is idle."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_next()

    async def get(self) -> Any:
        # LeanWebSocketProtocol.receive waits the same way, inline, to keep a frame fewer per
        # idle connection; this is the queue's own form
        while not self._items:
            waiter = self.arrival()
            try:
                await waiter
            except BaseException:
                self.leave(waiter)
                raise
        return self._items.pop(0)

    def arrival(self) -> asyncio.Future[None]:
        """A future done when an item may be there to take. Awaited directly, it adds no frame to
        the waiting chain; a caller interrupted while waiting on it calls `leave`."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def leave(self, waiter: asyncio.Future[None]) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        elif self._items and waiter.done() and not waiter.cancelled():
            self._wake_next()  # woken, but leaving: the item goes to the next waiter

    def take(self) -> Any:
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return


class Gate:
    """asyncio.Event's set, clear, is_set and wait, for uvicorn's flow control (`writable`),
    without the deque an Event allocates up front (~0.6 KB per connection)."""

    __slots__ = ("_open", "_waiters", "passing")

    def __init__(self) -> None:
        self._open = False
        self._waiters: list[asyncio.Future[None]] | None = None
        self.passing = 0  # writers that waited and have not gone through yet (let through or not)

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> None:
        if self._open:
            return
        if self._waiters is None:
            self._waiters = []
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.passing += 1
        try:
            await waiter
        finally:
            self.passing -= 1
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class PingWheel:
    """One timer for every connection's next keepalive ping, instead of one per connection.

    Connections wait in one-second slots; when the timer fires, the due slots' connections are
    pinged (uvicorn's own send_keepalive_ping, pong deadline and all). Slots spread the pings as
    the connections' own timers did, so 10,000 connections are not pinged in one burst."""

    SLOT_SECONDS = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._slots: dict[int, set[LeanWebSocketProtocol]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_slot: int | None = None

    def schedule(self, connection: LeanWebSocketProtocol, delay: float) -> None:
        self.cancel(connection)
        slot = math.ceil((self._loop.time() + delay) / self.SLOT_SECONDS)
        self._slots.setdefault(slot, set()).add(connection)
        connection.ping_slot = slot
        if self._timer_slot is None or slot < self._timer_slot:
            self._arm(slot)

    def cancel(self, connection: LeanWebSocketProtocol) -> None:
        slot = connection.ping_slot
        if slot is None:
            return
        connection.ping_slot = None
        waiting = self._slots.get(slot)
        if waiting is not None:
            waiting.discard(connection)
            if not waiting:
                del self._slots[slot]

    def _arm(self, slot: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_slot = slot
        self._timer = self._loop.call_at(slot * self.SLOT_SECONDS, self._fire)

    def _fire(self) -> None:
        self._timer = self._timer_slot = None
        now = self._loop.time()
        for slot in sorted(s for s in self._slots if s * self.SLOT_SECONDS <= now):
            for connection in self._slots.pop(slot):
                connection.ping_slot = None
                connection.send_keepalive_ping()
        if self._slots:
            self._arm(min(self._slots))


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PingWheel] = weakref.WeakKeyDictionary()


def ping_wheel(loop: asyncio.AbstractEventLoop) -> PingWheel:
    wheel = _wheels.get(loop)
    if wheel is None:
        wheel = _wheels[loop] = PingWheel(loop)
    return wheel


# Every attribute uvicorn's protocol assigns (each `self.NAME =` in websockets_sansio_impl.py),
# and ours. The class has ~40; past 30 an instance's __dict__ stops sharing its keys with the
# class's other instances and becomes a dict of its own, ~1.6 KB per connection. Declared as slots
# here, they are 8 bytes each in the object and its __dict__ stays empty. A name uvicorn adds
# later still works, from the __dict__ (tests/test_upstream_contract.py says to add it here).
UVICORN_ATTRIBUTES = (
    "app",
    "app_state",
    "asgi_version",
    "client",
    "close_sent",
    "close_timeout",
    "close_timer",
    "config",
    "conn",
    "connections",
    "curr_msg_data_type",
    "default_headers",
    "disconnected",
    "frames",
    "handshake_complete",
    "handshake_initiated",
    "initial_response",
    "last_ping_rtt",
    "logger",
    "loop",
    "pending_ping_payload",
    "ping_interval",
    "ping_sent_at",
    "ping_timeout",
    "ping_timer",
    "pong_timer",
    "queue",
    "read_paused",
    "request",
    "response",
    "root_path",
    "scheme",
    "scope",
    "server",
    "tasks",
    "transport",
    "writable",
)


# The ASGI scope keeps the handshake's headers for the connection's life, each name and value a
# bytes object of its own per connection (~45 B each). These names, and values that most
# handshakes repeat, are one object per process instead (a fixed table: nothing a client sends is
# added to it).
SHARED_HEADER_BYTES = {
    b: b
    for b in (
        b"host",
        b"upgrade",
        b"connection",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-protocol",
        b"sec-websocket-extensions",
        b"origin",
        b"user-agent",
        b"accept-encoding",
        b"accept-language",
        b"cache-control",
        b"pragma",
        b"cookie",
        b"authorization",
        b"sec-fetch-dest",
        b"sec-fetch-mode",
        b"sec-fetch-site",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"websocket",
        b"Upgrade",
        b"13",
        b"graphql-transport-ws",
        b"graphql-ws",
        b"no-cache",
        b"same-origin",
        b"cross-site",
        b"gzip, deflate",
        b"gzip, deflate, br",
        b"gzip, deflate, br, zstd",
        b"permessage-deflate; client_max_window_bits",
    )
}


# websockets' header grammar (http11's _token_re and _value_re: a name it parses is a token, a value
# these bytes), and the key's GUID (RFC 6455 1.3)
_TOKEN = re.compile(rb"[-!#$%&\'*+.^_`|~0-9a-zA-Z]+")
_HEADER_VALUE = re.compile(rb"[\x09\x20-\x7e\x80-\xff]*")
_HEADER_TEXT = re.compile(r"[\x09\x20-\x7e\x80-\xff]*")  # the same, for a str (websockets.datastructures)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# room for a header's name and value within websockets' line limit (the line's ": " and CRLF)
_LINE_ROOM = MAX_LINE_LENGTH - 4
# websockets' 101 response once uvicorn has deleted its Date: up to the Sec-WebSocket-Accept value
_SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "


def _token_list(value: bytes) -> list[bytes] | None:
    """The tokens of a comma-separated list websockets parses the same (parse_connection,
    parse_subprotocol), lowercased; None for any other list (empty elements included)."""
    tokens = [part.strip(b" \t") for part in value.split(b",")]
    return [t.lower() for t in tokens] if all(_TOKEN.fullmatch(t) for t in tokens) else None


def plain_handshake(method: str, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The Sec-WebSocket-Accept for a request uvicorn's httptools parsed (names lowercased, values
    stripped) that websockets would parse and accept as it is, with no extension negotiated: one
    Upgrade (websocket), a Connection with upgrade, one key of 16 bytes in base64, one version 13,
    at most one Origin, subprotocols and Connection as token lists, no body, within websockets'
    header limits. None for any other: websockets answers it from the bytes, as before."""
    if method != "GET" or len(headers) > MAX_NUM_HEADERS or len(target) > _LINE_ROOM - 16:
        return None
    if not target.isascii() or b" " in target:
        return None
    key = version = upgrade = origin = None
    connection_upgrade = False
    for name, value in headers:
        if len(name) + len(value) > _LINE_ROOM or not _TOKEN.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            return None
        if name == b"connection":
            tokens = _token_list(value)
            if tokens is None:
                return None
            connection_upgrade = connection_upgrade or b"upgrade" in tokens
        elif name == b"sec-websocket-protocol":
            if _token_list(value) is None:
                return None
        elif name in (b"upgrade", b"sec-websocket-key", b"sec-websocket-version", b"origin"):
            if name == b"upgrade" and upgrade is None:
                upgrade = value
            elif name == b"sec-websocket-key" and key is None:
                key = value
            elif name == b"sec-websocket-version" and version is None:
                version = value
            elif name == b"origin" and origin is None:
                origin = value
            else:
                return None  # a second one
        elif name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return None
    if not connection_upgrade or upgrade is None or upgrade.lower() != b"websocket" or version != b"13" or key is None:
        return None
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except binascii.Error:
        return None
    return base64.b64encode(hashlib.sha1(key + _GUID, usedforsecurity=False).digest())


def request_bytes(http: HttpToolsProtocol) -> bytes:
    """The request as uvicorn's handle_websocket_upgrade serializes it for the WebSocket protocol."""
    output = [http.scope["method"].encode(), b" ", http.url, b" HTTP/1.1\r\n"]
    for name, value in http.scope["headers"]:
        output += [name, b": ", value, b"\r\n"]
    output.append(b"\r\n")
    return b"".join(output)


def upgrade_parsed(http: HttpToolsProtocol) -> bool:
    """uvicorn's HttpToolsProtocol.handle_websocket_upgrade, for a LeanWebSocketProtocol and a
    request `plain_handshake` takes: the protocol opens from the request httptools parsed
    (open_parsed), or, if its connection checks more, from the request's bytes as in uvicorn.
    False, having done nothing, for any other request or protocol class: uvicorn upgrades it."""
    protocol_class = http.ws_protocol_class
    if not (isinstance(protocol_class, type) and issubclass(protocol_class, LeanWebSocketProtocol)):
        return False
    headers = cast("list[tuple[bytes, bytes]]", http.scope["headers"])  # a list: uvicorn's on_header appends to it
    accept = plain_handshake(http.scope["method"], http.url, headers)
    if accept is None:
        return False
    if http.logger.level <= TRACE_LOG_LEVEL:
        prefix = f"{http.client[0]}:{http.client[1]} - " if http.client else ""
        http.logger.log(TRACE_LOG_LEVEL, "%sUpgrading to WebSocket", prefix)
    http.connections.discard(http)
    protocol = protocol_class(config=http.config, server_state=http.server_state, app_state=http.app_state)
    protocol.connection_made(http.transport)
    http.transport.set_protocol(protocol)
    if not protocol.open_parsed(http.url, headers, accept):
        protocol.data_received(request_bytes(http))
    return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    __slots__ = (*UVICORN_ATTRIBUTES, "_inbox", "held", "ping_slot", "upgrade_accept")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = self._inbox = Inbox()  # type: ignore[assignment]
        self.writable = Gate()  # type: ignore[assignment]
        self.writable.set()
        self.ping_slot: int | None = None  # where this connection waits in the loop's PingWheel
        # Sec-WebSocket-Accept of a handshake taken from uvicorn's parsed request (open_parsed),
        # until the application accepts it
        self.upgrade_accept: bytes | None = None
        # the fan-out pass holding this connection's frames (`write_now`), until it writes them
        self.held: Holding | None = None

    async def send(self, message: Any) -> None:
        """uvicorn's, and a websocket.send carrying `texts`: every one a text frame, one write.
        Behind the frames a fan-out pass holds for this connection, if any (`write_now`): a
        subscription's drain, begun in the pass as an eager task, may send before the pass ends,
        and then the pass's whole run is written first (every connection's, in order)."""
        held = self.held
        if held is not None:
            held.release()
        if self.upgrade_accept is not None and message["type"] == "websocket.accept":
            await self.writable.wait()  # uvicorn's order: wait, then a lost connection raises
            if self.disconnected:
                raise ClientDisconnected()
            if not self.handshake_complete and self.initial_response is None:
                self._answer_upgrade(message)
                return
        texts = message.get("texts") if message["type"] == "websocket.send" else None
        if texts is None or not self.handshake_complete or self.close_sent or self.initial_response is not None:
            await super().send(message)  # uvicorn's answer, or its error for a send out of place
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        try:
            for text in texts:
                self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(self.conn.data_to_send()))

    def send_now(self, texts: list[str]) -> bool:
        """`texts` as text frames in one write, right away, if the connection takes them without
        waiting (`write_now`)."""
        return self.write_now([text.encode() for text in texts])

    def write_now(self, frames: list[bytes], later: Holding | None = None, framed: bytes | None = None) -> bool:
        """`frames` (each a text message's UTF-8 bytes) as text frames in one write, in this turn,
        if the connection takes them without waiting: handshake done, open, not closing, its
        write buffer under the high-water mark (uvicorn's `writable`) and no message that waited
        for it still on its way (Gate.passing: frames keep their order). False, having written
        nothing, otherwise: `send` then waits for the buffer, or raises for a connection that is
        gone, as for any message.

        `later`: a fan-out pass's held writes (gateway.events.fanout.HeldWrites), which make the
        write with others in a run, later in this turn of the event loop. While a run holds one,
        this connection's frames go there too, whatever `later` says, behind what it holds. The
        held bytes are not in the transport's buffer yet, so the high-water mark (`writable`)
        does not close between them: a pass may put a few more frames than that on a connection,
        at most its new entries for each of the connection's subscriptions.

        A plain connection's frames are framed here (`text_frames`): websockets' send_text made
        a Frame object, serialized it through its extension hooks and queued it, for each of a
        large group's 10,000 members (bench group-fanout). With an extension negotiated
        (permessage-deflate), a fragmented message under way, frame logging on, or bytes of its
        own queued, websockets frames them as before. `framed`: `text_frames(frames)` made already
        (a fan-out's members with the same frames share them), written instead on a plain connection."""
        conn, gate = self.conn, cast("Gate", self.writable)
        if (
            not self.handshake_complete
            or self.close_sent
            or self.initial_response is not None
            or self.disconnected
            or not gate.is_set()
            or gate.passing  # not ahead of a message that waited for the buffer
            or conn.state is not State.OPEN
        ):
            return False
        if conn.extensions or conn.expect_continuation_frame or conn.debug or conn.writes:
            for frame in frames:
                conn.send_text(frame)
            data = b"".join(conn.data_to_send())
        else:
            data = text_frames(frames) if framed is None else framed
        held = self.held or later
        if held is None:
            self.transport.write(data)
        else:
            self.held = held
            held.hold(self, data)
        return True

    def write_held(self, data: bytes) -> None:
        """What a fan-out pass held for this connection (`write_now`), written: its next frames
        are written as they come again. A write that raises aborts the connection: the frames
        were taken from the subscription's mailbox, and the client resumes from its cursor, as
        when the write raised in the member's own turn (ListenerOperation._take)."""
        self.held = None
        try:
            self.transport.write(data)
        except Exception:
            self.transport.abort()
            raise

    def connection_lost(self, exc: Exception | None) -> None:
        """uvicorn's; then the scope lets go of this protocol (SEND_NOW), which it referred to
        only for writing: otherwise the two would hold each other, freed only by the cyclic
        garbage collector (tests/test_garbage.py)."""
        super().connection_lost(exc)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope.get("extensions", _NO_EXTENSIONS).pop(SEND_NOW, None)

    def schedule_ping(self) -> None:
        """uvicorn's: the next keepalive ping after the interval, less the last round trip."""
        assert self.ping_interval is not None
        ping_wheel(self.loop).schedule(self, max(0.0, self.ping_interval - self.last_ping_rtt))

    def stop_keepalive(self) -> None:
        ping_wheel(self.loop).cancel(self)
        super().stop_keepalive()

    async def receive(self) -> Any:
        """uvicorn's, waiting on the inbox directly rather than in a coroutine of its own."""
        inbox = self._inbox
        while inbox.empty():
            waiter = inbox.arrival()
            try:
                await waiter
            except BaseException:
                inbox.leave(waiter)
                raise
        message = inbox.take()
        if self.read_paused and inbox.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def handle_connect(self, event: Request) -> None:
        """uvicorn's, with the scope's header names and common values shared (SHARED_HEADER_BYTES)
        and SEND_MANY offered once the handshake is accepted; the application's task, which reads
        the scope, is created but has not run yet."""
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # not set when the handshake was refused
        if scope is not None:
            shared = SHARED_HEADER_BYTES
            scope["headers"] = [(shared.get(name, name), shared.get(value, value)) for name, value in scope["headers"]]
            if self.response is not None and self.response.status_code == 101:
                scope["extensions"][SEND_MANY] = _OFFERED
                scope["extensions"][SEND_NOW] = self

    def open_parsed(self, target: bytes, headers: list[tuple[bytes, bytes]], accept: bytes) -> bool:
        """uvicorn's handle_connect for a handshake request websockets would accept as it is
        (`plain_handshake` gave its Sec-WebSocket-Accept), from what httptools parsed: without
        websockets parsing it again and building its Request and Response. False, having done
        nothing, when websockets' connection checks more than `plain_handshake` does (allowed
        origins or subprotocols, permessage-deflate offered and enabled, handshake logging)."""
        conn = self.conn
        if conn.origins is not None or conn.available_subprotocols or conn.debug:
            return False
        if conn.available_extensions and any(name == b"sec-websocket-extensions" for name, _ in headers):
            return False
        # what websockets' accept() records of a request it accepts: no extension, no subprotocol
        # (uvicorn's connection offers none; the application picks one), the Origin
        conn.accept_called = True
        conn.origin = next((value.decode("latin-1") for name, value in headers if name == b"origin"), None)  # type: ignore[assignment]
        # the frames' parser, which websockets' handshake parser goes on to once a request is parsed
        conn.parser = Protocol.parse(conn)
        next(conn.parser)
        self.handshake_initiated = True
        self.upgrade_accept = accept
        path = target.decode("ascii")  # plain_handshake: ASCII
        raw_path, _, query_string = path.partition("?")
        subprotocols: list[str] = []
        for name, value in headers:
            if name == b"sec-websocket-protocol":
                subprotocols.extend(token.strip() for token in value.decode("latin-1").split(","))
        shared = SHARED_HEADER_BYTES
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": self.root_path,
            "path": self.root_path + unquote(raw_path),
            "raw_path": self.root_path.encode("ascii") + raw_path.encode("ascii"),
            "query_string": query_string.encode("ascii"),
            "headers": [(shared.get(name, name), shared.get(value, value)) for name, value in headers],
            "subprotocols": subprotocols,
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}, SEND_MANY: _OFFERED, SEND_NOW: cast(Any, self)},
        }
        self.queue.put_nowait({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.on_task_complete)
        self.tasks.add(task)
        return True

    def _answer_upgrade(self, message: Any) -> None:
        """uvicorn's answer to websocket.accept for a handshake opened by open_parsed: the bytes
        websockets serialized for its 101 response (less its Date, which uvicorn deletes) with
        uvicorn's default headers, the application's and its subprotocol, built directly."""
        self.logger.info(
            '%s - "WebSocket %s" [accepted]', get_client_addr(self.scope), get_path_with_query_string(self.scope)
        )
        assert self.upgrade_accept is not None
        head = [_SWITCHING, self.upgrade_accept, b"\r\n"]
        for raw_name, raw_value in (*self.default_headers, *message.get("headers", [])):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if not _HEADER_VALUE.fullmatch(raw_value):
                raise InvalidHeaderValue(name, value)  # as websockets' Headers refuses it
            head += (name.encode("latin-1"), b": ", raw_value, b"\r\n")
        subprotocol = message.get("subprotocol")
        if subprotocol:
            if not _HEADER_TEXT.fullmatch(subprotocol):
                raise InvalidHeaderValue("Sec-WebSocket-Protocol", subprotocol)
            head += (b"Sec-WebSocket-Protocol: ", subprotocol.encode("latin-1"), b"\r\n")
        head.append(b"\r\n")
        if not self.transport.is_closing():
            self.handshake_complete = True
            self.upgrade_accept = None
            conn = self.conn
            assert conn.state is State.CONNECTING  # as websockets' send_response asserts for a 101
            conn.state = State.OPEN
            conn.logger.info("connection open")
            self.transport.write(b"".join([*head, *conn.data_to_send()]))
            self.start_keepalive()

    def start_keepalive(self) -> None:
        # uvicorn calls this once, right after it has written the handshake's answer: from here
        # on, the handshake's request and response are never read again
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
        self._parse_frames_afresh()
        super().start_keepalive()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._forget_last_frame()

    def _forget_last_frame(self) -> None:
        """websockets' frame parser keeps the last frame it parsed (its `frame` local, payload and
        all: an idle subscription's own subscribe message, ~250 B) until the next one arrives. Once
        it waits at a frame's first byte again (in the reader's at_eof, nothing buffered), it is
        started afresh, as after the handshake: the same state, with nothing consumed."""
        parser = self.conn.parser
        if getattr(parser, "gi_code", None) is not _PARSE_CODE:
            return  # the handshake's parser (swapped in start_keepalive), or discard() when closing
        if getattr(getattr(parser, "gi_yieldfrom", None), "gi_code", None) is not _AT_EOF_CODE:
            return  # inside a frame: part of it is consumed already
        self._parse_frames_afresh()

    def _parse_frames_afresh(self) -> None:
        conn = self.conn
        if conn.state is not State.OPEN or conn.reader.buffer or conn.parser_exc is not None:
            return  # bytes after the handshake already (a client may not send them yet): leave it
        conn.parser = Protocol.parse(conn)
        next(conn.parser)  # started, as websockets starts its parsers: now waiting for a frame
