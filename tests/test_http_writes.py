"""gateway.lean.uvicorn_http: a response's head and body leave in one write, and a streamed
response's head does not wait for its body.

A real uvicorn server (in process, the protocol `imql serve` runs, its transport's writes recorded)
and a raw TCP client: what the socket was asked to write is what the test reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.lean.uvicorn_http import HeadWithBodyHttpToolsProtocol

WRITES: list[bytes] = []  # every write the server's connections made, in order


class RecordedTransport:
    """The connection's transport, recording what is written through it (the bytes still go out)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedProtocol(HeadWithBodyHttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        recorded: Any = RecordedTransport(transport)
        super().connection_made(recorded)


BODY_RELEASED = asyncio.Event()


async def plain(request: Request) -> Response:
    return PlainTextResponse("hello")


async def streamed(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        await BODY_RELEASED.wait()  # the client has the head before any body is sent
        yield b"late"

    return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture
async def server() -> AsyncIterator[int]:
    app = Starlette(routes=[Route("/plain", plain), Route("/streamed", streamed)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", http=RecordedProtocol)
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    deadline = time.monotonic() + 15
    while not srv.started:
        assert not task.done()
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    WRITES.clear()
    yield srv.servers[0].sockets[0].getsockname()[1]
    srv.should_exit = True
    await asyncio.wait_for(task, 15)


async def _request(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_head_and_body_in_one_write(server: int) -> None:
    reader, writer = await _request(server, "/plain")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    body = await asyncio.wait_for(reader.readexactly(5), 10)
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b"hello"
    # a second request on the same keep-alive connection, likewise
    writer.write(b"GET /plain HTTP/1.1\r\nhost: test\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert await asyncio.wait_for(reader.readexactly(5), 10) == b"hello"
    writer.close()
    assert len(WRITES) == 2, WRITES
    for write in WRITES:
        assert write.startswith(b"HTTP/1.1 200")
        assert write.endswith(b"\r\n\r\nhello")


async def test_streamed_head_goes_out_before_its_body(server: int) -> None:
    BODY_RELEASED.clear()
    reader, writer = await _request(server, "/streamed")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)  # while the body is held back
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head
    BODY_RELEASED.set()
    rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 10)
    assert b"late" in rest
    writer.close()
    assert WRITES[0] == head
