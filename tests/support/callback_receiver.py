"""A real HTTP endpoint for Tencent's third-party callbacks (a starlette app on uvicorn, on a free
port): it records every request (query string, body) and answers as the test says, per command."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

OK_ANSWER = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


@dataclass(frozen=True)
class Reply:
    answer: dict[str, Any] | None = None  # None: the OK answer
    status: int = 200
    delay: float = 0.0


@dataclass
class Received:
    query: list[tuple[str, str]]  # in order, decoded
    raw_query: str
    body: dict[str, Any]
    at: float

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def command(self) -> str:
        return self.params.get("CallbackCommand", "")


# decides the reply to one callback; None: the OK answer at once
Decide = Callable[[Received], Reply | None]


@dataclass
class CallbackReceiver:
    decide: Decide = lambda _: None
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/im/callback"

    async def _serve(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        got = Received(parse_qsl(request.url.query, keep_blank_values=True), request.url.query, body, time.monotonic())
        self.received.append(got)
        self._arrived.set()
        reply = self.decide(got) or Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return Response(
            orjson.dumps(reply.answer or OK_ANSWER), status_code=reply.status, media_type="application/json"
        )

    async def start(self) -> None:
        app = Starlette(routes=[Route("/im/callback", self._serve, methods=["POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)

    def of(self, command: str) -> list[Received]:
        return [r for r in self.received if r.command == command]

    async def wait_for(self, command: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first `count` callbacks of `command`, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.of(command)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [r.command for r in self.received]
                raise TimeoutError(f"{count} x {command} did not arrive; got {seen}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.of(command)[:count]
