"""Real gateways for tests: in-process uvicorn (injectable clock) or `imql serve` subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from gateway.cli import HTTP_IMPLEMENTATION, WS_IMPLEMENTATION
from gateway.clock import Clock
from gateway.config import Settings
from gateway.services import Gateway
from gateway.tencent.inbound import InboundHandler
from gateway.web.app import create_app


@dataclass
class InProcessGateway:
    server: uvicorn.Server
    task: asyncio.Task[None]
    app: Any
    settings: Settings
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def gateway(self) -> Gateway:
        gw: Gateway = self.app.state.gateway
        return gw

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 15)


async def start_in_process(
    settings: Settings,
    clock: Clock | None = None,
    redis: Any = None,
    *,
    ws_ping_seconds: float = 5,
    inbound_handler: InboundHandler | None = None,
    port: int = 0,
    http: str = HTTP_IMPLEMENTATION,
) -> InProcessGateway:
    """`http`: uvicorn's HTTP protocol class (`imql serve`'s by default; "httptools" is uvicorn's own)."""
    app = create_app(settings, clock=clock, redis=redis, inbound_handler=inbound_handler)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_ping_interval=ws_ping_seconds,
        ws_ping_timeout=ws_ping_seconds,
        ws_per_message_deflate=settings.ws_compression,
        proxy_headers=False,  # as `imql serve` runs: the app applies them
        http=http,  # `imql serve`'s unless a test compares with uvicorn's own
        ws=WS_IMPLEMENTATION,  # as `imql serve` runs
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 15
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise TimeoutError("in-process gateway did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return InProcessGateway(server=server, task=task, app=app, settings=settings, port=port)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class GatewayProcess:
    port: int
    proc: subprocess.Popen[str]
    output: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def _collect(self) -> None:
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.output += self.proc.stdout.read()
            self.proc.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine dies."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._collect()

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._collect()


async def spawn_gateway(env: dict[str, str], port: int | None = None, args: Sequence[str] = ()) -> GatewayProcess:
    """`imql serve` as a real process (`args`: more flags, e.g. --workers); returns once /healthz answers."""
    port = port or free_port()
    full_env = {**os.environ, **env, "IMQL_PORT": str(port), "IMQL_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = GatewayProcess(port=port, proc=proc)
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while True:
            if proc.poll() is not None:
                running.terminate()
                raise RuntimeError(f"imql serve exited: {running.output}")
            try:
                if (await http.get(f"{running.base_url}/healthz", timeout=1)).status_code == 200:
                    return running
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                running.kill()
                raise TimeoutError("imql serve did not become healthy")
            await asyncio.sleep(0.1)
