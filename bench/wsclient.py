"""A lean graphql-transport-ws client for thousands of subscribers in one benchmark process.

A full WebSocket library costs ~50 µs and several KB per connection per message; with 10,000
subscribers in the benchmark process that cost would be measured instead of the gateway's. This
client is an asyncio Protocol that does only what a subscriber needs: the HTTP upgrade, masked
text frames out, unmasked frames in (RFC 6455), pong for ping, and each `next` message's arrival
time. It is for benchmarks only; the test suite uses the `websockets` library.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import Callable
from typing import Any, cast

import orjson

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, opcode, masked payload (clients must mask)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class Subscriber(asyncio.Protocol):
    """One connection holding one subscription; `on_next(payload, arrived_at)` per event."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str,
        query: str,
        on_next: Callable[[Any, float], None],
        variables: dict[str, Any] | None = None,
    ) -> None:
        self.host, self.port, self.token, self.query = host, port, token, query
        self.variables = variables
        self.on_next = on_next
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.acked = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = writer = cast(asyncio.Transport, transport)  # uvloop's are not subclasses, yet alike
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def send_json(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(_frame(OP_TEXT, json.dumps(message).encode()))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail(RuntimeError(bytes(self.buffer[:200]).decode(errors="replace")))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}})
        self._read_frames()

    def _read_frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = struct.unpack_from("!H", buf, 2)[0]
                offset = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                offset = 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            self._on_frame(opcode, payload)

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_PING:
            assert self.transport is not None
            self.transport.write(_frame(OP_PONG, payload))
            return
        if opcode == OP_CLOSE:
            self._fail(RuntimeError(f"closed by the server: {payload[2:].decode(errors='replace')}"))
            return
        if opcode != OP_TEXT:
            return
        message = orjson.loads(payload)
        kind = message.get("type")
        if kind == "next":
            self.received += 1
            self.on_next(message.get("payload"), time.perf_counter())
        elif kind == "connection_ack":
            request: dict[str, Any] = {"query": self.query}
            if self.variables:
                request["variables"] = self.variables
            self.send_json({"id": "1", "type": "subscribe", "payload": request})
            if not self.acked.done():
                self.acked.set_result(None)
        elif kind == "ping":
            self.send_json({"type": "pong"})
        elif kind == "error":
            self._fail(RuntimeError(f"subscription refused: {message.get('payload')}"))

    def _fail(self, exc: BaseException) -> None:
        for future in (self.acked, self.closed):
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: a failure seen only through `closed` is not "never retrieved"

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or RuntimeError("connection lost"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# One client address has ~28,000 ephemeral ports per destination (net.ipv4.ip_local_port_range),
# and a restart leaves the old connections in TIME_WAIT: many clients spread their connections
# over loopback source addresses 127.0.0.2 and up (all of 127/8 is loopback on Linux).
CLIENTS_PER_SOURCE = 5_000
ACK_SECONDS = 30.0


def loopback_source(index: int) -> tuple[str, int]:
    """The local address client number `index` connects from: CLIENTS_PER_SOURCE per address."""
    return (f"127.0.0.{2 + index // CLIENTS_PER_SOURCE}", 0)


async def subscribe(
    host: str,
    port: int,
    token: str,
    query: str,
    on_next: Callable[[Any, float], None],
    *,
    variables: dict[str, Any] | None = None,
    local_addr: tuple[str, int] | None = None,
) -> Subscriber:
    """A connection acknowledged by the server, its subscribe message sent (`local_addr`: the
    source address to connect from, e.g. loopback_source(i))."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: Subscriber(host, port, token, query, on_next, variables), host, port, local_addr=local_addr
    )
    try:
        await asyncio.wait_for(protocol.acked, ACK_SECONDS)
    except BaseException:
        protocol.close()
        raise
    return protocol
