"""uvicorn's WebSocket protocol (websockets-sansio), holding less per idle connection.

An idle subscription's connection is mostly the server stack's state (bench subscriptions-idle).
Two parts of uvicorn's protocol outlive their use:
- the inbox between the socket and the application is an asyncio.Queue: three deques, an Event
  with a deque of its own, ~2 KB, for what is almost always zero or one waiting message;
- the opening handshake's request and response (their header objects, ~3 KB) stay referenced for
  the connection's life, though nothing reads them once the handshake is answered: by uvicorn's
  protocol, and by the suspended frame of websockets' request parser, which goes on to parse the
  connection's frames. Once the handshake is answered and no frame has begun to arrive, that
  parser is swapped for websockets' own frame parser, started afresh: the same state, as both
  are waiting for a frame's first byte with nothing consumed.

`imql serve` runs this class (gateway.cli.WS_IMPLEMENTATION); everything else is uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import Protocol, State


class Inbox:
    """The part of asyncio.Queue uvicorn's protocol uses (put_nowait, get, empty), unbounded,
    as two lists that stay empty, and so nearly free, while the connection is idle."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> Any:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif self._items and waiter.done() and not waiter.cancelled():
                    self._wake_next()  # woken but leaving: the item goes to the next waiter
                raise
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


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # answered: the handshake's request and response are never read again
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
            self._parse_frames_afresh()

    def _parse_frames_afresh(self) -> None:
        conn = self.conn
        if conn.state is not State.OPEN or conn.reader.buffer or conn.parser_exc is not None:
            return  # bytes after the handshake already (a client may not send them yet): leave it
        conn.parser = Protocol.parse(conn)
        next(conn.parser)  # started, as websockets starts its parsers: now waiting for a frame
