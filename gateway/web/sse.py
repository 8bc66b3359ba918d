"""GraphQL over Server-Sent Events, distinct connections mode: one subscription per HTTP request
(`Accept: text/event-stream` on POST or GET /graphql), as graphql-sse's client and Strawberry
speak it: `event: next` with an execution result as `data`, then `event: complete`.

Plain listener subscriptions (one listener field, as schema.execution.listeners plans them) are
served here, the same way the WebSocket fast path serves them (gateway.web.ws_protocols): the
session's Listening is opened, drained as the dispatcher wakes it, and each delivery rendered by
the schema's EventRenderer (a group event once per document). What SSE adds:
- each `next` carries `id: <cursor>`, so a browser's EventSource that loses its connection
  reconnects with `Last-Event-ID: <cursor>` and resumes exactly there; `Last-Event-ID` takes
  precedence over the `since` argument (an EventSource repeats the URL's first `since`);
- a `: ping` comment every KEEPALIVE_SECONDS while idle, so proxies keep the connection;
- a refusal before the stream starts (no session, a bad or expired `since`, over the limit) is a
  plain JSON answer with the GraphQL error shape and a 4xx status, which also stops an
  EventSource from reconnecting;
- the end of the session (logout, kick, UserSig expiry) ends the stream after its last event
  (onKickedOffline / onUserSigExpired) with `complete`;
- EventSource cannot set headers: a GET may carry the session token as `?token=...` (only a
  GET with Accept: text/event-stream, and only without an Authorization header). Query strings
  end up in access logs and proxy logs: prefer a fetch-based client with the header.
Everything else (several fields, fragments spread at the root, queries and mutations asked for as
SSE) goes to Strawberry's own SSE transport, which has no `id:` and no Last-Event-ID.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.errors import Code, IMError
from gateway.events.delivery import Delivery
from gateway.session.listening import Listening
from gateway.waits import first_of
from schema.build import IMSchema
from schema.context import IMContext
from schema.errors import error_extensions
from schema.execution.http import formatted_errors
from schema.execution.listeners import ListenerPlan, ListenerRun, as_graphql_error, error_payload

KEEPALIVE_SECONDS = 15.0
TOKEN_PARAM = "token"  # noqa: S105 (the parameter's name)
EVENT_STREAM = "text/event-stream"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]
COMPLETE = b"event: complete\ndata: \n\n"
PING = b": ping\n\n"
# refusals of the session (none, ended, expired) answer 401; the rate limit 429; the rest 400
SESSION_CODES = frozenset({Code.ERR_SDK_NOT_LOGGED_IN, Code.ERR_USER_SIG_EXPIRED, Code.ERR_LOGIN_KICKED_OFF_BY_OTHER})


def wants_sse(headers: dict[bytes, bytes]) -> bool:
    """Whether the client prefers an event stream: `text/event-stream` is the Accept type of the
    highest quality, and of those the first listed. A client that merely also accepts one (urql
    lists it last, after the JSON types) gets JSON for its queries, as it expects."""
    raw = headers.get(b"accept", b"")
    if b"event-stream" not in raw.lower():
        return False  # most requests: nothing to weigh
    accept = raw.decode("latin-1")
    best, best_q = "", -1.0
    for part in accept.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if kind and q > best_q:
            best, best_q = kind.lower(), q
    return best == EVENT_STREAM and best_q > 0


def without_event_stream(scope: Scope, headers: dict[bytes, bytes]) -> Scope:
    """`scope` with `text/event-stream` taken out of its Accept header, for a request that will not
    be answered with a stream (wants_sse said no, or an upload): Strawberry, which serves what the
    fast path does not (GETs, fragments at the root, uploads), streams whenever Accept merely lists
    the type, as urql's default does (last, after the JSON types). An upload never streams: its
    files are closed when the request ends, before a stream's resolver would read them."""
    accept = headers.get(b"accept")
    if accept is None or b"event-stream" not in accept.lower():
        return scope
    kept = [part for part in accept.split(b",") if part.split(b";", 1)[0].strip().lower() != EVENT_STREAM.encode()]
    others = [(name, value) for name, value in scope["headers"] if name != b"accept"]
    return {**scope, "headers": [*others, (b"accept", b",".join(kept))] if kept else others}


def with_query_token(scope: Scope, headers: dict[bytes, bytes]) -> Scope:
    """A GET whose `token` parameter stands in for the Authorization header EventSource cannot set."""
    if scope["method"] != "GET" or b"authorization" in headers:
        return scope
    token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAM)
    if not token or not token[0]:
        return scope
    return {**scope, "headers": [*scope["headers"], (b"authorization", f"Bearer {token[0]}".encode("latin-1"))]}


def refusal(exc: IMError) -> Response:
    limited = exc.code == Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT
    status = 401 if exc.code in SESSION_CODES else 429 if limited else 400
    body = {"data": None, "errors": [{"message": exc.desc, "extensions": error_extensions(int(exc.code), exc.desc)}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _next(payload: bytes, cursor: str | None) -> bytes:
    head = b"id: " + cursor.encode() + b"\n" if cursor else b""
    return head + b"event: next\ndata: " + payload + b"\n\n"


class SSEStreams:
    """The SSE subscriptions this process serves, counted per session: a session may hold at most
    `limit` at once (the WebSocket's per-connection cap, as each SSE request is its own connection)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def enter(self, session_id: str) -> None:
        held = self.open.get(session_id, 0)
        if self.limit is not None and held >= self.limit:
            raise IMError(
                Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT,
                f"subscription limit reached: at most {self.limit} SSE subscriptions per session at once",
            )
        self.open[session_id] = held + 1

    def leave(self, session_id: str) -> None:
        held = self.open.get(session_id, 0) - 1
        if held > 0:
            self.open[session_id] = held
        else:
            self.open.pop(session_id, None)


async def serve_listener(
    *,
    schema: IMSchema,
    plan: ListenerPlan,
    variables: dict[str, Any] | None,
    context: IMContext,
    last_event_id: str | None,
    streams: SSEStreams,
    deadline: float,
    keepalive: float,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """One listener subscription as an SSE response, from opening to `complete` or disconnect."""
    run = ListenerRun.start(schema, plan, variables, context)
    if isinstance(run, list):
        body = {"data": None, "errors": formatted_errors(run, context)}
        await Response(orjson.dumps(body), status_code=400, media_type="application/json")(scope, receive, send)
        return
    if last_event_id:
        run.since = last_event_id  # where the EventSource got to: later than the URL's since
    listening: Listening | None = None
    entered = ""
    try:
        try:
            async with asyncio.timeout(deadline):
                session = await context.session()
                streams.enter(session.session_id)
                entered = session.session_id
                listening = session.listening(plan.listener, run.since)
                first = await listening.open()
        except IMError as exc:
            await refusal(exc)(scope, receive, send)
            return
        except TimeoutError:
            desc = f"the subscription did not open within {deadline:g} s (IMQL_REQUEST_TIMEOUT); retry later"
            await refusal(IMError(Code.ERR_SDK_INTERNAL_ERROR, desc))(scope, receive, send)
            return
        metrics = context.gateway.metrics
        metrics.requests.labels(metrics.operation_label(plan.operation_name), "subscription").inc()
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        # the stream ended, or the client went away; a client gone mid-write surfaces as the server's
        # OSError or RuntimeError: the stream just ends
        await first_of(
            _pump(schema, run, listening, first, send, keepalive),
            _disconnected(receive),
            ignoring=(OSError, RuntimeError),
        )
    finally:
        if listening is not None:
            await listening.close()
        if entered:
            streams.leave(entered)


async def _pump(
    schema: IMSchema, run: ListenerRun, listening: Listening, first: list[Delivery], send: Send, keepalive: float
) -> None:
    renderer = schema.event_renderer

    async def write(chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    try:
        batch = first
        while True:
            for delivery in batch:
                await write(_next(await renderer.payload(run, delivery), delivery.cursor))
            batch = await listening.drain()
            if batch:
                continue
            if listening.finished:
                break
            try:
                async with asyncio.timeout(keepalive):
                    await listening.mailbox.wait()
            except TimeoutError:
                await write(PING)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # as the WebSocket path ends a failed subscription: the error, then complete
        await write(_next(error_payload([as_graphql_error(exc)], run.context), None))
    await send({"type": "http.response.body", "body": COMPLETE, "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
