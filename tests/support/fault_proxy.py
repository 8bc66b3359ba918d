"""A real HTTP proxy between the Tencent backend's gateway and its cloud that injects faults: a
starlette app on uvicorn, on a free port, forwarding `POST /v4/...` (query string and body as they
came) to the cloud, except where the test has queued a fault for an endpoint.

`proxy.inject("openim/sendmsg", Fault.http(502, reached=True))`: the next sendmsg meets that fault,
the ones after it reach the cloud as usual. Every request is recorded (`proxy.calls(endpoint)`),
faulted or not, so a test can see how many attempts a call took and what each carried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Fault:
    """What one request meets. `reached`: the cloud gets the request first (so it acts on it) and
    the fault replaces or delays its answer; otherwise the cloud never sees it."""

    reached: bool = False
    status: int = 200
    answer: dict[str, Any] | None = None  # None: the cloud's own answer (a reached fault) or an empty body
    delay: float = 0.0  # seconds before answering

    @classmethod
    def http(cls, status: int, *, reached: bool = False) -> Fault:
        return cls(reached=reached, status=status, answer={})

    @classmethod
    def late(cls, seconds: float) -> Fault:
        """The cloud acts on the request, its answer comes `seconds` later (after the caller gave up)."""
        return cls(reached=True, delay=seconds)

    @classmethod
    def tencent(cls, code: int, info: str = "injected") -> Fault:
        """Tencent's FAIL envelope with `code` (e.g. 60007 REST frequency limit); the cloud never sees it."""
        return cls(answer={"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info})


@dataclass(frozen=True)
class Call:
    endpoint: str  # "service/command"
    body: dict[str, Any]
    fault: Fault | None


@dataclass
class FaultProxy:
    target: str = ""  # the cloud's base URL, set by `forward_to`
    port: int = 0
    seen: list[Call] = field(default_factory=list)
    _faults: defaultdict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def forward_to(self, target: str) -> str:
        """Forward to `target` from now on; the URL to call instead (running_pair's `api_url_for`)."""
        self.target = target.rstrip("/")
        return self.url

    def inject(self, endpoint: str, *faults: Fault) -> None:
        self._faults[endpoint].extend(faults)

    def calls(self, endpoint: str) -> list[Call]:
        return [c for c in self.seen if c.endpoint == endpoint]

    async def _serve(self, request: Request) -> Response:
        endpoint = request.path_params["endpoint"]
        raw = await request.body()
        queued = self._faults.get(endpoint)
        fault = queued.popleft() if queued else None
        self.seen.append(Call(endpoint, orjson.loads(raw or b"{}"), fault))
        status, content = 200, b""
        if fault is None or fault.reached:
            assert self._http is not None
            forwarded = await self._http.post(f"{self.target}/v4/{endpoint}?{request.url.query}", content=raw)
            status, content = forwarded.status_code, forwarded.content
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.answer is not None:
                status, content = fault.status, orjson.dumps(fault.answer)
        return Response(content, status_code=status, media_type="application/json")

    async def start(self) -> None:
        app = Starlette(routes=[Route("/v4/{endpoint:path}", self._serve, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._http = httpx.AsyncClient(timeout=20.0)
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
        if self._http is not None:
            await self._http.aclose()


@contextlib.asynccontextmanager
async def fault_proxy() -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy()
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
