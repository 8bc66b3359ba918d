"""A small keep-alive HTTP/1.1 client for a plain `http://` callback endpoint: POST, then the answer.

httpx costs 1.0-1.6 ms of event-loop CPU per POST (its request and response models, its transport
layers, its pool's bookkeeping); after-callbacks POST once per message, so with a live endpoint
that was as much CPU again as the send itself. This client writes the request in one buffer on an
asyncio Protocol and parses the answer with httptools (llhttp, uvicorn's parser): ~0.05 ms.
CallbackSender uses it for plain http:// URLs with no proxy in the environment, httpx for the rest
(https, proxies, credentials in the URL).

- Connections are kept alive and reused, at most `max_connections` at once per client (a request
  waits for one beyond that); an idle one is reused newest first, and dropped once idle longer than
  IDLE_SECONDS or closed by the endpoint.
- A reused connection that fails before any byte of the answer arrives (the endpoint closed it
  while it was idle) is retried once on a fresh connection; a fresh one's failure is the answer.
- Answers with Content-Length, chunked, or read until the endpoint closes; gzip / deflate bodies
  decoded (the request asks for `identity`, but a server may send them anyway).
- No timeout of its own: the caller bounds the whole exchange (asyncio.timeout), and a connection
  left mid-exchange by a cancellation is closed, never reused.
Failures raise PlainHTTPError (connection refused, reset, closed early, a malformed answer).
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass
from typing import cast

import httptools

IDLE_SECONDS = 30.0  # an idle connection older than this is closed, not reused (servers drop them too)
ANSWER_MAX_BYTES = 4 * 1024 * 1024  # a callback's answer is a small JSON object: past this the exchange fails
USER_AGENT = "imql-callbacks"


class PlainHTTPError(Exception):
    """The exchange failed: no usable answer came (connection refused, reset or closed, malformed)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class _Exchange:
    """One answer being read: httptools calls these while `feed_data` parses."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.parts: list[bytes] = []
        self.size = 0
        self.headers: dict[bytes, bytes] = {}
        self.headers_done = False
        self.keep_alive = False  # read when the answer is complete (llhttp resets after it)
        self.refused: PlainHTTPError | None = None  # why a callback stopped the parse (httptools hides it)
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > ANSWER_MAX_BYTES:
            self.refused = PlainHTTPError(f"the answer is over {ANSWER_MAX_BYTES} bytes")
            raise self.refused
        self.parts.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()
        if not self.done.done():
            self.done.set_result(None)

    def ends_at_close(self) -> bool:
        """Whether the answer's body runs until the connection closes (no length, not chunked)."""
        return self.headers_done and b"content-length" not in self.headers and b"transfer-encoding" not in self.headers

    def body(self) -> bytes:
        raw = b"".join(self.parts)
        coding = self.headers.get(b"content-encoding", b"identity").strip().lower()
        if coding in (b"gzip", b"x-gzip", b"deflate"):
            # wbits 47: a gzip or a zlib header, whichever it is; the cap holds for what it decodes
            # to (a small compressed answer may decode to gigabytes)
            inflater = zlib.decompressobj(47)
            try:
                decoded = inflater.decompress(raw, ANSWER_MAX_BYTES + 1)
            except zlib.error as exc:
                raise PlainHTTPError(f"the answer's {coding.decode()} body does not decode: {exc}") from exc
            if len(decoded) > ANSWER_MAX_BYTES or inflater.unconsumed_tail:
                raise PlainHTTPError(f"the answer is over {ANSWER_MAX_BYTES} bytes decoded")
            return decoded
        return raw


class _Connection(asyncio.Protocol):
    """One TCP connection to the endpoint, reading one answer at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.exchange: _Exchange | None = None
        self.received = False  # any byte of the current exchange's answer
        self.closed = False
        self.idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one, though not a subclass

    def start(self, request: bytes) -> _Exchange:
        assert self.transport is not None
        self.exchange = _Exchange()
        self.received = False
        self.transport.write(request)
        return self.exchange

    def data_received(self, data: bytes) -> None:
        self.received = True
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        try:
            exchange.parser.feed_data(data)
        except (httptools.HttpParserError, PlainHTTPError) as exc:
            self._fail(exchange, exchange.refused or PlainHTTPError(f"malformed answer: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        exchange = self.exchange
        if exchange is None or exchange.done.done():
            return
        if exc is None and exchange.ends_at_close():
            exchange.done.set_result(None)
        else:
            self._fail(exchange, PlainHTTPError(f"the connection closed before the answer ended ({exc or 'EOF'})"))

    @staticmethod
    def _fail(exchange: _Exchange, error: Exception) -> None:
        if not exchange.done.done():
            exchange.done.set_exception(error)

    def reusable(self) -> bool:
        """After an exchange: whether the answer left the connection open for another."""
        return not self.closed and self.exchange is not None and self.exchange.keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class PlainHTTPClient:
    """POSTs to one `http://host:port`, over at most `max_connections` kept-alive connections."""

    def __init__(self, host: str, port: int, *, max_connections: int) -> None:
        self._host = host
        self._port = port
        self._host_header = host if port == 80 else f"{host}:{port}"
        if ":" in host:  # an IPv6 literal is bracketed in the Host header
            self._host_header = f"[{host}]" if port == 80 else f"[{host}]:{port}"
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []

    async def post(self, target: str, body: bytes, content_type: str = "application/json") -> Answer:
        """`target`: the path and query string. Raises PlainHTTPError when no answer came."""
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {self._host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Accept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        async with self._slots:
            connection = self._reuse()
            if connection is not None:
                try:
                    return await self._exchange(connection, request)
                except PlainHTTPError:
                    if connection.received:
                        raise
                    # the endpoint closed it while idle: once more on a fresh connection
            return await self._exchange(await self._connect(), request)

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(_Connection, self._host, self._port)
        except OSError as exc:
            raise PlainHTTPError(f"cannot connect to {self._host}:{self._port}: {exc}") from exc
        return connection

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        try:
            if connection.closed:
                raise PlainHTTPError("the connection was closed")
            exchange = connection.start(request)
            await exchange.done
            answer = Answer(exchange.status, exchange.body())
        except BaseException:
            connection.close()  # mid-exchange (an error, a timeout, a cancellation): never reused
            raise
        if connection.reusable():
            connection.exchange = None
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return answer

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
