"""The floors query-throughput is measured against, each served as `imql serve` serves imql.

- `graphql-core`: the same schema (Strawberry's, as graphql-core sees it) executing the same
  document with graphql-core directly, the parsed and validated document cached, behind a bare
  Starlette endpoint that builds the same context: everything imql must do, minus Strawberry's
  view and extensions and our HTTP handling. imql's req/s over this one is the ratio that counts.
- `bare`: a Starlette endpoint answering a fixed JSON body: what the HTTP stack alone costs.
- `bare-ws` (subscriptions-idle's and group-fanout's floor): a Starlette WebSocket endpoint that
  speaks just enough graphql-transport-ws to hold a subscription (ack the init, take the
  subscribe, then wait): what one idle connection costs the server stack (uvicorn, its WebSocket
  implementation, Starlette) before any GraphQL or IM state. `POST /graphql` with
  `{"variables": {"text": T}}` broadcasts `{"data": {"text": T}}` as a `next` message to every
  subscription it holds, one frame per connection serialized once, written as imql writes a
  fan-out's frames (gateway.lean.uvicorn_ws SEND_NOW, else the ASGI send), and answers when all
  are written: what a fan-out costs the stack with no bus, no log and no per-member rules.
  `/metrics` counts the subscriptions held as `imql_live_subscriptions`, so the bench paces and
  reads it as it reads imql.
- `bare-ws --workers N` (chatroom-fanout's floor): the same app in N processes sharing the port,
  run as `imql serve --workers N` runs imql's (uvicorn's Multiprocess supervisor, one listening
  socket). A process holds only the connections it accepted, so a broadcast must reach every
  process, as an imql send reaches every worker through Redis: `POST /graphql` PUBLISHes the text
  on a channel of the run's app (broadcast_channel), every worker is subscribed to it (redis-py's
  pub/sub, as imql's dispatcher is) and writes the frame to each connection it holds as the
  single-process floor does. The POST answers once Redis has the message, with the number of
  workers it reached (`{"data": {"workers": n}}`); `/metrics` counts the answering worker's
  subscriptions only.

- `bare-c2c` (c2c-cost's floor): the peer's C2C send and delivery, with none of GraphQL and no
  IM rule the peer lacks (bench/floor_c2c.py).

Run as `python -m bench.floors <graphql-core|bare|bare-ws|bare-c2c> --port P [--workers N]` (configuration
from IMQL_*).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
from graphql import DocumentNode, ExecutionResult, execute, parse, validate
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bench.floor_c2c import bare_c2c_app
from bench.relay import relaying
from gateway.cli import server_config
from gateway.config import Settings, load_settings
from gateway.lean.uvicorn_ws import SEND_NOW
from gateway.services import Gateway
from schema import build_schema
from schema.context import IMContext


def graphql_core_app(settings: Settings) -> Starlette:
    schema = build_schema()._schema
    documents: dict[str, DocumentNode] = {}

    def document(query: str) -> DocumentNode:
        cached = documents.get(query)
        if cached is None:
            cached = parse(query)
            errors = validate(schema, cached)
            if errors:
                raise ValueError(errors[0].message)
            documents[query] = cached
        return cached

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        context = IMContext(gateway=request.app.state.gateway, request=request, response=None)
        result: Any = execute(
            schema,
            document(body["query"]),
            context_value=context,
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return Response(orjson.dumps(answer), media_type="application/json")

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = Gateway.build(settings)
        await gateway.start()
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.close()

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/readyz", readyz)], lifespan=lifespan)


BARE_BODY = orjson.dumps({"data": {"getLoginUser": "u0", "getUsersInfo": [{"userID": "u1"}]}})


def bare_app() -> Starlette:
    async def answer(request: Request) -> Response:
        await request.body()
        return Response(BARE_BODY, media_type="application/json")

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"]), Route("/readyz", readyz)])


class Held:
    """The bare-ws floor's subscriptions: each connection's operation id, from its subscribe on."""

    def __init__(self) -> None:
        self.operations: dict[WebSocket, str] = {}

    async def hold(self, websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="graphql-transport-ws")
        try:
            while True:
                message = orjson.loads(await websocket.receive_text())
                kind = message.get("type")
                if kind == "connection_init":
                    await websocket.send_text('{"type":"connection_ack"}')
                elif kind == "ping":
                    await websocket.send_text('{"type":"pong"}')
                elif kind == "subscribe":
                    self.operations[websocket] = str(message.get("id"))
        except WebSocketDisconnect:
            return
        finally:
            self.operations.pop(websocket, None)

    async def broadcast(self, text: str) -> int:
        """`text` as a `next` message to every subscription: one payload serialized once, one
        frame and one write per connection. The number written."""
        payload = orjson.dumps({"data": {"text": text}}).decode()
        frames: dict[str, str] = {}  # per operation id (every bench client uses "1")
        for websocket, op_id in list(self.operations.items()):
            frame = frames.get(op_id)
            if frame is None:
                frame = frames[op_id] = f'{{"id":{orjson.dumps(op_id).decode()},"type":"next","payload":{payload}}}'
            writer = websocket.scope["extensions"].get(SEND_NOW)
            if writer is None or not writer.send_now([frame]):
                await websocket.send_text(frame)
        return len(self.operations)


def bare_ws_app() -> Starlette:
    held = Held()

    async def broadcast(request: Request) -> Response:
        body = orjson.loads(await request.body())
        sent = await held.broadcast(str(body["variables"]["text"]))
        return JSONResponse({"data": {"sent": sent}})

    return Starlette(routes=bare_ws_routes(held, broadcast))


def bare_ws_routes(held: Held, broadcast: Callable[[Request], Awaitable[Response]]) -> list[Any]:
    async def metrics(request: Request) -> Response:
        return Response(f"imql_live_subscriptions {len(held.operations)}\n", media_type="text/plain")

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return [
        WebSocketRoute("/graphql", held.hold),
        Route("/graphql", broadcast, methods=["POST"]),
        Route("/metrics", metrics),
        Route("/readyz", readyz),
    ]


def broadcast_channel(settings: Settings) -> str:
    """The pub/sub channel the workers of one run's floor share: under the run's app, so that
    another run's floor on the same Redis never hears it (a channel leaves nothing to delete)."""
    return f"imql:{{{settings.sdkappid}}}:floor:bare-ws:broadcast"


def relayed_bare_ws_app(settings: Settings) -> Starlette:
    """One worker of `bare-ws --workers N`: broadcasts go through Redis to every worker."""
    if settings.redis_url is None or settings.redis_cluster:
        raise SystemExit("bench.floors: bare-ws --workers relays through a single Redis (IMQL_REDIS_URL)")
    held = Held()
    channel = broadcast_channel(settings)
    redis = Redis.from_url(settings.redis_url)

    async def broadcast(request: Request) -> Response:
        body = orjson.loads(await request.body())
        workers = await redis.publish(channel, str(body["variables"]["text"]))
        return JSONResponse({"data": {"workers": workers}})

    async def relay(pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                await held.broadcast(message["data"].decode())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pubsub: Any = redis.pubsub()  # redis-py's PubSub.aclose is untyped (so the dispatcher's is Any too)
        await pubsub.subscribe(channel)  # before the worker accepts: no subscriber misses a broadcast
        try:
            async with relaying(pubsub, lambda: relay(pubsub)):
                yield
        finally:
            await redis.aclose()

    return Starlette(routes=bare_ws_routes(held, broadcast), lifespan=lifespan)


# by module name: the workers import it (this module is `__main__` in the supervisor only)
WORKER_FACTORY = "bench.floors:relayed_bare_ws_worker"


def relayed_bare_ws_worker() -> Starlette:
    """What each worker of `bare-ws --workers N` runs (an app factory, as `imql serve --workers`
    has one): the relayed floor, configured from the environment."""
    return relayed_bare_ws_app(load_settings())


FLOORS: dict[str, Callable[[Settings], Starlette]] = {
    "graphql-core": graphql_core_app,
    "bare": lambda _settings: bare_app(),
    "bare-ws": lambda _s: bare_ws_app(),
    "bare-c2c": bare_c2c_app,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floors")
    parser.add_argument("kind", choices=sorted(FLOORS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="bare-ws only: processes sharing the port")
    args = parser.parse_args()
    settings = load_settings().with_overrides(port=args.port)
    if args.workers > 1:
        if args.kind != "bare-ws":
            parser.error("--workers: bare-ws only")
        serve_workers(settings, args.workers)
        return
    app = FLOORS[args.kind](settings)
    uvicorn.Server(server_config(app, settings)).run()


def serve_workers(settings: Settings, workers: int) -> None:
    """`workers` processes of the relayed bare-ws floor on one listening socket, started and
    supervised as gateway.cli starts `imql serve --workers N` (the same server_config)."""
    from uvicorn.supervisors import Multiprocess

    config = server_config(
        WORKER_FACTORY,
        settings,
        workers=workers,
        factory=True,
        timeout_worker_healthcheck=settings.worker_healthcheck_seconds,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()


if __name__ == "__main__":
    main()
