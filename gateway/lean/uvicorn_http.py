"""uvicorn's HTTP/1.1 protocol (httptools), writing a response's head and body at once.

uvicorn writes a response's status line and headers when the application sends
`http.response.start`, and its body when it sends `http.response.body`: two writes, so two system
calls for every response, and on loopback two segments, each waking the client (bench c2c-cost:
the head's write alone was ~4% of a one-request send's server CPU, the body's ~1.5%). Here the
head is held until the body's first write in the same turn of the event loop, and both leave in
one. A head whose body does not follow at once (a streamed response: SSE, a download) is written
on the loop's next turn by itself, as soon as uvicorn would have had it on the wire in practice;
anything else the cycle does with its transport (close, the `100 Continue` interim answer) writes
a held head first, so the bytes leave in uvicorn's order.

`imql serve` runs this class (gateway.cli.HTTP_IMPLEMENTATION); everything else is uvicorn's,
but its WebSocket upgrade, handed to gateway.lean.uvicorn_ws.upgrade_parsed (which answers a plain
handshake from the request parsed here, and lists what it relies on).

Every private (or undocumented) name this module relies on, checked by
tests/test_upstream_contract.py (test_uvicorn_http):
- uvicorn.protocols.http.httptools_impl.HttpToolsProtocol and its method `_start_asgi_task(cycle,
  app)` (overridden: the cycle's transport is wrapped before its task starts), and `loop`;
- uvicorn.protocols.http.httptools_impl.RequestResponseCycle: its attribute `transport` (every
  write of the cycle goes through it) and its method `send(message)`, which writes the head (one
  `transport.write`) while handling `http.response.start`, and nothing else then;
- HttpToolsProtocol.handle_websocket_upgrade() (overridden: gateway.lean.uvicorn_ws.upgrade_parsed
  first).
On upgrade: read uvicorn's httptools_impl.py for every use of `self.transport` in
RequestResponseCycle, then run tests/test_upstream_contract.py and tests/test_http_writes.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from gateway.lean.uvicorn_ws import upgrade_parsed


class HeldHeadTransport:
    """A cycle's view of the connection's transport: a write made while `holding` (the head) is
    kept, and goes out with the next write, or on the loop's next turn, whichever comes first."""

    __slots__ = ("_flush_handle", "_head", "_loop", "holding", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._flush_handle: asyncio.Handle | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding and self._head is None:
            self._head = data
            self._flush_handle = self._loop.call_soon(self.flush)
            return
        head = self._take_head()
        self.transport.write(head + data if head is not None else data)

    def flush(self) -> None:
        """The held head, written by itself (its body did not follow in the same turn)."""
        head = self._take_head()
        if head is not None and not self.transport.is_closing():
            self.transport.write(head)

    def _take_head(self) -> bytes | None:
        head, self._head = self._head, None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        return head

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, pause_reading, ...: the transport's own
        return getattr(self.transport, name)


class HeadWithBodyHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, each response's head and body in one write (HeldHeadTransport)."""

    def handle_websocket_upgrade(self) -> None:
        """uvicorn's, or, for a plain handshake to imql's WebSocket protocol, its answer from the
        request httptools parsed (gateway.lean.uvicorn_ws.upgrade_parsed)."""
        if not upgrade_parsed(self):
            super().handle_websocket_upgrade()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        held = HeldHeadTransport(cycle.transport, self.loop)
        cycle.transport = held  # type: ignore[assignment]
        send = cycle.send

        async def send_holding_head(message: Any) -> None:
            if message["type"] == "http.response.start":
                held.holding = True
                try:
                    await send(message)
                finally:
                    held.holding = False
                return
            await send(message)

        cycle.send = send_holding_head  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)
