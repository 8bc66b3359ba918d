"""The ASGI application: routes, lifespan (which owns every long-lived client) and probes."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway.clock import Clock
from gateway.config import Settings, load_settings
from gateway.lean.strawberry_ws import open_websocket
from gateway.services import Gateway
from gateway.tencent.inbound import InboundHandler
from gateway.tencent.webhooks import serve_callback
from gateway.web import rest
from gateway.web.cors import CORSMiddleware, OriginPolicy, refuse_websocket
from gateway.web.devtools import dev_routes
from gateway.web.media import serve_media
from gateway.web.view import GraphQLView
from schema import build_schema

GRAPHQL_PATH = "/graphql"
FULL_COLLECTION_AFTER = 100  # middle-generation passes per full pass (CPython's default: 10)
YOUNG_COLLECTION_AFTER = 10_000  # tracked objects made less freed, per young pass (CPython's default: 700)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    reason = await gateway.unready_reason()
    if not reason:
        return JSONResponse({"status": "ready", "backend": gateway.backend.name})
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    return PlainTextResponse(gateway.metrics.render(), media_type=gateway.metrics.content_type)


async def root(request: Request) -> Response:
    return RedirectResponse("/graphql")


async def _proxied(scope: Scope, receive: Receive, send: Send) -> None:
    """The app behind the proxy-header rewrite of a WebSocket scope: the rewrite is all we want."""


class GraphQLPostsFirst:
    """POSTs to /graphql straight to the GraphQL view; every other HTTP request through Starlette.

    Those POSTs (every query and mutation) are what Starlette would route to the same view, through
    its two default middlewares, its router and route, each wrapping `send` again: ~5% of a small
    query's CPU (bench query-throughput). Nothing in those layers acts on these requests: the view
    answers its own failures (gateway.web.view), no exception handler is installed, and an exception
    it lets out is answered 500 by the server instead of ServerErrorMiddleware, as plain text
    "Internal Server Error" either way. Other methods on /graphql keep Starlette's answers (GET,
    405 with Allow)."""

    def __init__(self, app: Starlette, view: GraphQLView) -> None:
        self.app = app
        self.view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == GRAPHQL_PATH:
            scope["app"] = self.app  # as Starlette sets it: the view finds the gateway in app.state
            await self.view(scope, receive, send)
            return
        await self.app(scope, receive, send)


class WebSocketsFirst:
    """The GraphQL WebSocket endpoint straight to Strawberry's WebSocket handling; everything else
    through Starlette. Both get uvicorn's proxy-header handling (X-Forwarded-For/-Proto from
    FORWARDED_ALLOW_IPS, as `uvicorn --proxy-headers` does), applied here rather than by uvicorn.
    HTTP then goes through CORS (gateway.web.cors) when IMQL_ALLOWED_ORIGINS lists origins, then
    GraphQLPostsFirst; a WebSocket handshake gets that module's Origin check here, and no middleware.

    An idle subscription's connection stays suspended inside every layer it came through. Through
    uvicorn's proxy-header middleware, Starlette's two default middlewares, its router and route,
    that was ~5 KB of coroutine frames, closures and scope copies per connection (bench
    subscriptions-idle), and none of them does anything for a WebSocket once it is set up: the
    WebSocket's scope is rewritten for proxies first, then nothing stays in between. Strawberry's
    own entry and run() are left out the same way (gateway.lean.strawberry_ws)."""

    def __init__(self, app: Starlette, view: GraphQLView, origins: OriginPolicy) -> None:
        self.app = app
        self.state = app.state
        trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")  # uvicorn's own default
        routed = GraphQLPostsFirst(app, view)
        http: Any = CORSMiddleware(routed, origins) if origins.any or origins.allowed else routed
        self._http = ProxyHeadersMiddleware(http, trusted_hosts=trusted)
        self._origins = origins
        self._rewrite_for_proxies = ProxyHeadersMiddleware(_proxied, trusted_hosts=trusted)  # type: ignore[arg-type]
        self._view = view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GRAPHQL_PATH:
            await self._rewrite_for_proxies(scope, receive, send)  # type: ignore[arg-type]
            if not self._origins.allows_websocket(scope):
                await refuse_websocket(scope, receive, send)
                return
            scope["app"] = self.app  # as Starlette sets it: the view finds the gateway in app.state
            # opened by Strawberry's steps (gateway.lean.strawberry_ws), then its protocol handler
            # awaited from here: no frame of the view's stays suspended under an idle connection
            handler = await open_websocket(self._view, WebSocket(scope, receive=receive, send=send))
            if handler is not None:
                await handler.handle()
            return
        await self._http(scope, receive, send)  # type: ignore[arg-type]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    redis: Any = None,
    inbound_handler: InboundHandler | None = None,
) -> WebSocketsFirst:
    settings = settings or load_settings()
    view = GraphQLView(build_schema(), settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = Gateway.build(settings, clock=clock, redis=redis, inbound_handler=inbound_handler)
        await gateway.start()
        app.state.gateway = gateway
        view.documents.attach(gateway.redis, gateway.keys)
        # Everything built so far (modules, the schema, the services) lives as long as the process.
        # Frozen, the cyclic garbage collector stops scanning it: its full passes, which stopped
        # the process for ~60 ms with ~130k such objects (bench send-to-receive), shrink to the
        # objects made since. Garbage among frozen objects is still freed by reference counting.
        gc.collect()
        gc.freeze()
        # A full pass over 10,000 connections' objects (~1.5 million) takes ~1 s. CPython's default
        # starts one after every 10 middle-generation passes once enough objects have survived;
        # after 100, they are ten times rarer (bench group-fanout: the 1.4 s send went away).
        # A young pass once tracked objects made (less those freed) since the last one pass 10,000
        # instead of 700: a burst that keeps what it makes (a reconnect storm: 10,000 connections
        # with their subscriptions) is promoted in fewer, larger passes, and so reaches 100 middle
        # passes, and a full pass in the middle of the burst, far less often. bench reconnect-storm,
        # two interleaved runs of 3 storms a side: the longest pause 245-417 ms (full passes) ->
        # 57-99 ms, the collector's time per storm ~0.9 -> ~0.6 s; the storm's length, C2C sends
        # and group fan-out unchanged within the noise. 5,000 paused about as little; 20,000 paused
        # longer (~130 ms) and cost more. Cyclic garbage waits a little longer: requests and
        # deliveries make none (tests/test_garbage.py), apart from one cycle each time the pool
        # opens a Redis connection. (Python 3.14's incremental collector has two generations and
        # ignores the third value.) The process's settings are put back when the app stops.
        thresholds = gc.get_threshold()
        gc.set_threshold(YOUNG_COLLECTION_AFTER, thresholds[1], FULL_COLLECTION_AFTER)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            await gateway.close()

    routes = [
        Route("/", root),
        Route(GRAPHQL_PATH, view, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/media/{key}", serve_media),
        Route("/v4/{service}/{command}", rest.serve_rest, methods=["POST"]),
        Mount("/playground", StaticFiles(packages=[("gateway", "playground")]), name="playground"),
        *dev_routes(settings),  # /dev/login and /demo/: the development app only (gateway.web.devtools)
    ]
    if settings.tencent_callback_token:
        # Tencent's webhooks, only with a token to check their Sign (gateway.tencent.webhooks)
        routes.append(Route(settings.tencent_callback_path, serve_callback, methods=["POST"]))
    return WebSocketsFirst(Starlette(routes=routes, lifespan=lifespan), view, OriginPolicy(settings.allowed_origins))
