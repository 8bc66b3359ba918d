"""The GraphQL endpoint: Strawberry's ASGI view with imql's context, limits and error shape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
from importlib import resources
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from gateway.config import Settings
from gateway.digits import is_digits
from gateway.errors import Code
from gateway.lean.starlette_ws import asgi_receive
from gateway.lean.uvicorn_ws import SEND_MANY, SEND_NOW
from gateway.web import sse
from gateway.web.documents import Documents, Refused, refuse_subscription
from gateway.web.ws_protocols import LegacyWSHandler, TransportWSHandler
from schema.build import IMSchema
from schema.context import IMContext
from schema.errors import error_extensions
from schema.execution.http import execute_plan

log = logging.getLogger("imql.http")

MAX_REQUEST_BYTES = 1 * 1024 * 1024  # a GraphQL document plus variables; uploads get their own limit
# a multipart upload: a 100 MB video with a 28 MB snapshot, plus the document
MAX_UPLOAD_REQUEST_BYTES = 129 * 1024 * 1024
_NO_EXTENSIONS: dict[str, Any] = {}


def error_response(status: int, desc: str, code: int = Code.ERR_INVALID_PARAMETERS) -> Response:
    """A transport-level failure, still in GraphQL's error shape so clients handle one format."""
    body = {"data": None, "errors": [{"message": desc, "extensions": error_extensions(int(code), desc)}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class ObjectMessagesOnly(ASGIWebSocketAdapter):
    """Protocol messages are JSON objects; anything else (an array, a number) is refused with 4400
    like invalid JSON, instead of reaching the protocol handler, which would fail on it."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        # Strawberry's loop, written out rather than wrapped, and reading the ASGI channel itself
        # while both sides are connected (Starlette's receive_text, with its checks, inline): an
        # idle connection sits suspended in this generator, and a wrapper and Starlette's two
        # receive methods were three more suspended frames per connection
        ws = self.ws
        receive = asgi_receive(ws)
        try:
            while ws.application_state != WebSocketState.DISCONNECTED:
                if ws.application_state == WebSocketState.CONNECTED == ws.client_state:
                    received = await receive()
                    kind = received["type"]
                    if kind == "websocket.disconnect":
                        ws.client_state = WebSocketState.DISCONNECTED
                        raise WebSocketDisconnect(received["code"], received.get("reason"))
                    if kind != "websocket.receive":
                        raise RuntimeError(
                            f"Expected ASGI message websocket.receive or websocket.disconnect, got {kind!r}"
                        )
                    text = received["text"]
                    del received
                else:
                    text = await ws.receive_text()  # the handshake or the close: Starlette's own way
                try:
                    message = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from exc
                finally:
                    del text
                if not isinstance(message, dict):
                    if ignore_parsing_errors:  # the legacy graphql-ws protocol ignores what it cannot read
                        continue
                    raise NonJsonMessageReceived
                yield message
                message = None  # nothing received is kept alive by this frame while the connection idles
        except KeyError as exc:  # a binary frame: a message without "text"
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass

    async def send_json(self, message: Mapping[str, object]) -> None:
        """Always a text frame. Strawberry sends bytes-encoded JSON as a binary frame, which a
        browser hands to graphql-ws as a Blob that JSON.parse cannot read (the client closes 4400)."""
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def send_text(self, text: str) -> None:
        """An already serialized message. A connection that went away meanwhile surfaces as
        Strawberry's WebSocketDisconnected whichever layer noticed (Starlette, or uvicorn's
        ClientDisconnected, an OSError)."""
        try:
            await self.ws.send_text(text)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            raise WebSocketDisconnected from exc

    def writer_now(self) -> Any:
        """The server's SEND_NOW writer (gateway.lean.uvicorn_ws), None where it offers none. Its
        `write_now(frames)` writes serialized messages (UTF-8 bytes) in the caller's turn if the
        connection takes them now; False, having written nothing, if not: then `send_texts`
        waits or raises."""
        return (self.ws.scope.get("extensions") or _NO_EXTENSIONS).get(SEND_NOW)

    async def send_texts(self, texts: list[str]) -> None:
        """Several serialized messages, in order: in one write where the server takes them at once
        (gateway.lean.uvicorn_ws.SEND_MANY), else one after another; written in this turn, without
        the ASGI message, when the connection can take them now (SEND_NOW)."""
        writer = self.writer_now()
        if writer is not None and writer.send_now(texts):
            return
        if len(texts) == 1 or SEND_MANY not in self.ws.scope.get("extensions", ()):
            for text in texts:
                await self.send_text(text)
            return
        try:
            await self.ws.send({"type": "websocket.send", "texts": texts})
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[IMContext, None]):
    websocket_adapter_class = ObjectMessagesOnly
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, schema: IMSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            keep_alive=True,
            keep_alive_interval=15,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
            multipart_uploads_enabled=True,
            # SSE (distinct connections mode): plain listener subscriptions are served by
            # gateway.web.sse, everything else asked for as text/event-stream by Strawberry
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
        )
        self.sse_streams = sse.SSEStreams(settings.max_subscriptions_per_connection)
        self.sse_keepalive = sse.KEEPALIVE_SECONDS
        self._playground = resources.files("gateway").joinpath("playground/index.html").read_text("utf-8")
        self._plans = schema.query_plans  # the schema's, held here for the hot path
        self._fast_schema = schema
        self._deadline = settings.request_timeout_seconds
        self.documents = Documents(settings.trusted_documents)  # attached to the store at startup (app)

    async def get_context(self, request: Request | WebSocket, response: Any) -> IMContext:
        return IMContext(gateway=request.app.state.gateway, request=request, response=response)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Strawberry's rule (a GET without `query` that accepts HTML or anything), except for a GET
        that names its document otherwise (a persisted query's hash, a documentId)."""
        params = request.query_params
        return super().should_render_graphql_ide(request) and "extensions" not in params and "documentId" not in params

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._playground)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses invalid UTF-8 and nesting past 1,024 levels with a JSONDecodeError (a
        # json.JSONDecodeError, which Strawberry answers 400); the stdlib parser recursed until
        # RecursionError, a 500
        return orjson.loads(data)

    async def parse_http_body(self, request: Any) -> Any:
        """Strawberry's parse, with every malformed request answered 400 / 6017: it assumes the
        body (and a multipart request's `operations` and `map`) are JSON objects, and a `null`,
        a number or a `map` that is a list failed deep inside it as a 500."""
        try:
            data = await super().parse_http_body(request)
        except HTTPException:
            raise
        except StarletteHTTPException as exc:  # Starlette's multipart parser: no boundary, a broken part
            raise HTTPException(400, f"not a multipart request: {exc.detail}") from exc
        except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
            raise HTTPException(
                400,
                "not a GraphQL request: the body must be a JSON object {query, variables, operationName}, or a "
                "multipart request whose `operations` is such an object and whose `map` is {part: [paths]}",
            ) from exc
        if isinstance(data, GraphQLRequestData):
            # GET (its documentId is a parameter) and multipart requests, and JSON POSTs the fast
            # path passed on (already resolved: they carry neither persistedQuery nor documentId)
            document_id = request.query_params.get("documentId") if request.method == "GET" else None
            if self.documents.concerns({"extensions": data.extensions, "documentId": document_id}):
                data.query = await self.documents.resolve(data.query, data.extensions, document_id)
            if data.protocol == "http":
                refuse_subscription(data.query, data.operation_name)
        return data

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Any,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        """A subscription posted over HTTP is a 400 / 6017 telling where subscriptions are served:
        Strawberry allows the operation type on POST (for its multipart streaming protocol, which
        imql does not offer) and graphql-core then executed the listener field as a query, whose
        async generator failed as a non-null field: a masked 7012."""
        if _is_subscription(request_data.query, request_data.operation_name):
            raise HTTPException(
                400, "subscriptions are served over WebSocket (/graphql, graphql-transport-ws or graphql-ws)"
            )
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        if upload and b"authorization" not in headers:
            # CSRF: a cross-site form can post multipart but cannot set Authorization, and every
            # upload needs a session anyway
            desc = "uploads (multipart requests) need the Authorization header"
            await error_response(400, desc)(scope, receive, send)
            return
        limit = MAX_UPLOAD_REQUEST_BYTES if upload else MAX_REQUEST_BYTES
        declared = headers.get(b"content-length")
        if declared is not None and (not is_digits(declared.decode("latin-1")) or int(declared) > limit):
            await error_response(413, f"request body over {limit} bytes")(scope, receive, send)
            return
        streams = not upload and sse.wants_sse(headers)
        if not streams:  # Strawberry, which streams for any Accept that lists the type, answers JSON too
            scope = sse.without_event_stream(scope, headers)
        if streams:
            scope = sse.with_query_token(scope, headers)
            again = await self._sse(scope, receive, send, limit)
            if again is None:
                return
            receive = again
        elif not upload and scope["method"] == "POST" and headers.get(b"content-type", b"").startswith(JSON_TYPE):
            try:
                body = await _read_body(receive, limit)
            except _TooLarge:
                await error_response(413, f"request body over {limit} bytes")(scope, receive, send)
                return
            payload = _json_object(body)
            try:
                async with asyncio.timeout(self._deadline):
                    if payload is not None and self.documents.concerns(payload):
                        # APQ or trusted documents: only for requests that ask for it (or in that mode)
                        payload = await self._resolved(payload)
                        body = orjson.dumps(payload)
                    fast = await self._fast(scope, payload)
            except TimeoutError:
                fast = self._overdue(scope)
            except Refused as refused:
                fast = refused.response
            if fast is not None:
                await fast(scope, receive, send)
                return
            receive = _replay(body)  # not a plain query or mutation: Strawberry reads it again
        request = Request(scope, receive=_limited(receive, limit))
        try:
            # an upload's body arrives at the client's pace, so only other requests have a deadline
            async with asyncio.timeout(None if upload else self._deadline):
                response = await self.run(request)
        except TimeoutError:
            response = self._overdue(scope)
        except HTTPException as exc:
            response = error_response(exc.status_code, exc.reason)
        except Refused as refused:
            response = refused.response
        except _TooLarge:
            response = error_response(413, f"request body over {limit} bytes")
        finally:
            await request.close()  # an upload's spooled files, read or not
        await response(scope, receive, send)

    async def _sse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> Receive | None:
        """An SSE request: a plain listener subscription served here (gateway.web.sse), and None;
        anything else gets the receive that hands Strawberry the body again."""
        body = b""
        if scope["method"] == "POST":
            try:
                body = await _read_body(receive, limit)
            except _TooLarge:
                await error_response(413, f"request body over {limit} bytes")(scope, receive, send)
                return None
            payload = _json_object(body)
            replay = _replay(body, receive)
        else:
            try:
                payload = self.parse_query_params(Request(scope).query_params)
            except (ValueError, HTTPException):
                payload = None  # Strawberry answers it
            replay = receive
        if payload is None:
            return replay
        try:
            if self.documents.concerns(payload):
                async with asyncio.timeout(self._deadline):
                    payload = await self._resolved(payload)
                if scope["method"] == "POST":
                    replay = _replay(orjson.dumps(payload), receive)
        except Refused as refused:
            await refused.response(scope, receive, send)
            return None
        except TimeoutError:
            await self._overdue(scope)(scope, receive, send)
            return None
        query, variables, operation = payload.get("query"), payload.get("variables"), payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict | None):
            return replay
        if not isinstance(operation, str | None):
            return replay
        plan = self._fast_schema.listener_plans.plan(query, operation)
        if plan is None:
            return replay  # not a plain listener subscription: Strawberry's SSE transport
        headers = dict(scope.get("headers") or [])
        last_event_id = headers.get(b"last-event-id", b"").decode("latin-1").strip() or None
        await sse.serve_listener(
            schema=self._fast_schema,
            plan=plan,
            variables=variables,
            context=await self.get_context(Request(scope), None),
            last_event_id=last_event_id,
            streams=self.sse_streams,
            deadline=self._deadline,
            keepalive=self.sse_keepalive,
            scope=scope,
            receive=receive,
            send=send,
        )
        return None

    def _overdue(self, scope: Scope) -> Response:
        """A request past its deadline: what it was waiting for (usually Redis) is cancelled, and a
        Redis connection cancelled mid-reply is dropped, not reused. A mutation may have taken
        effect; sendMessage is safe to retry (a created message is sent once). Logged and counted:
        a run of these is how a stalled Redis shows."""
        log.warning("request answered 504: not finished within IMQL_REQUEST_TIMEOUT (%g s)", self._deadline)
        metrics = scope["app"].state.gateway.metrics
        metrics.request_timeouts.inc()
        metrics.errors.labels(str(int(Code.ERR_SDK_INTERNAL_ERROR))).inc()
        desc = f"the request did not finish within {self._deadline:g} s (IMQL_REQUEST_TIMEOUT); retry later"
        return error_response(504, desc, Code.ERR_SDK_INTERNAL_ERROR)

    async def _resolved(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The request with the document it runs as `query` (gateway.web.documents), without the
        persistedQuery / documentId that named it; raises Refused."""
        extensions = payload.get("extensions")
        query = await self.documents.resolve(payload.get("query"), extensions, payload.get("documentId"))
        resolved = {k: v for k, v in payload.items() if k != "documentId"}
        resolved["query"] = query
        if isinstance(extensions, dict) and "persistedQuery" in extensions:
            resolved["extensions"] = {k: v for k, v in extensions.items() if k != "persistedQuery"}
        return resolved

    async def _fast(self, scope: Scope, payload: dict[str, Any] | None) -> Response | None:
        """A JSON POST of one valid query or mutation, executed without Strawberry's view and
        extensions (schema.execution.http); None for anything else, which Strawberry then handles."""
        if payload is None:
            return None
        query, variables, operation = payload.get("query"), payload.get("variables"), payload.get("operationName")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(operation, str | None)
        ):
            return None
        plan = self._plans.plan(query, operation)
        if plan is None:
            return None
        context = await self.get_context(Request(scope), None)
        answer = await execute_plan(self._fast_schema, plan, variables, context)
        return Response(orjson.dumps(answer), media_type="application/json")


def _is_subscription(query: object, operation_name: object) -> bool:
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return False  # Strawberry refuses these itself
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False  # the parse error is answered by Strawberry's own path
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION


class _TooLarge(Exception):
    pass


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


JSON_TYPE = b"application/json"


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; an empty body fails as a bad request
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive | None = None) -> Receive:
    """A receive that gives the already-read body once, as the server would have; after it,
    `then` (the server's own receive: a streamed response waits on it for the disconnect)."""
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if sent:
            return await then() if then is not None else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _limited(receive: Receive, limit: int) -> Receive:
    """Cut off bodies without Content-Length (chunked) past the limit too."""
    seen = 0

    async def wrapped() -> Any:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
        return message

    return wrapped
