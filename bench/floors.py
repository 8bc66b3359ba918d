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

Run as `python -m bench.floors <graphql-core|bare|bare-ws> --port P` (configuration from IMQL_*).
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
from graphql import DocumentNode, ExecutionResult, execute, parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

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

    async def metrics(request: Request) -> Response:
        return Response(f"imql_live_subscriptions {len(held.operations)}\n", media_type="text/plain")

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    return Starlette(
        routes=[
            WebSocketRoute("/graphql", held.hold),
            Route("/graphql", broadcast, methods=["POST"]),
            Route("/metrics", metrics),
            Route("/readyz", readyz),
        ]
    )


FLOORS: dict[str, Callable[[Settings], Starlette]] = {
    "graphql-core": graphql_core_app,
    "bare": lambda _settings: bare_app(),
    "bare-ws": lambda _s: bare_ws_app(),
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floors")
    parser.add_argument("kind", choices=sorted(FLOORS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings().with_overrides(port=args.port)
    app = FLOORS[args.kind](settings)
    uvicorn.Server(server_config(app, settings)).run()


if __name__ == "__main__":
    main()
