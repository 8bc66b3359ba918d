"""WebSocket protocol handlers: imql's error shape on protocol refusals, and listener
subscriptions served without a task each (ListenerOperation), the handler and its operation in one
file as Strawberry keeps them.

Strawberry's handlers answer a few protocol-level refusals (e.g. the per-connection subscription
cap) with a bare message; these subclasses add `extensions.code` so clients handle one shape.

ListenerOperation: a listener subscription served over graphql-transport-ws without a task of
its own.

Strawberry runs each subscription as a task that stays suspended while the subscription is idle.
Here an idle subscription is only its Listening (the session's stream position and mailbox) and
this object: the dispatcher's wake-up (Mailbox.on_wake) drains what arrived, renders it
(schema.execution.listeners) and writes the frames, right away in the dispatcher's turn, and
becomes a short task only if it has to wait (gateway.lean.eager). The protocol around
it (ids, limits, `complete`, errors) stays Strawberry's: this is one of its Operations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Protocol, cast

import orjson
from graphql import GraphQLError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.execution import PreExecutionError

from gateway.errors import Code
from gateway.events.delivery import Delivery
from gateway.events.fanout import Fanout, HeldWrites
from gateway.lean.eager import start_eagerly
from gateway.lean.uvicorn_ws import text_frames
from gateway.session.listening import Listening
from gateway.web.documents import Documents, Refused
from schema.build import IMSchema
from schema.errors import error_extensions
from schema.execution.listeners import EventRenderer, ListenerRun, as_graphql_error, error_payload


def _with_code(error: Any) -> Any:
    if isinstance(error, dict) and "code" not in (error.get("extensions") or {}):
        message = str(error.get("message", "refused"))
        code = Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT if "limit" in message.lower() else Code.ERR_INVALID_PARAMETERS
        return {**error, "extensions": {**(error.get("extensions") or {}), **error_extensions(int(code), message)}}
    return error


async def _resolved(view: object, payload: dict[str, Any]) -> dict[str, Any] | Refused:
    """A subscribe payload with the document it runs (gateway.web.documents: trusted documents,
    persisted queries), the same payload when there is nothing to resolve, or the refusal."""
    documents = getattr(view, "documents", None)
    if not isinstance(documents, Documents) or not documents.concerns(payload):
        return payload
    try:
        query = await documents.resolve(payload.get("query"), payload.get("extensions"), payload.get("documentId"))
    except Refused as refused:
        return refused
    return {**payload, "query": query}


def _well_formed(message: Any) -> bool:
    """A subscribe message as graphql-transport-ws defines it: a string id and a payload object
    whose query is a string, variables an object (or absent), operationName a string (or absent)."""
    payload = message.get("payload")
    return (
        isinstance(message.get("id"), str)
        and isinstance(payload, dict)
        and isinstance(payload.get("query"), str)
        and isinstance(payload.get("variables"), dict | None)
        and isinstance(payload.get("operationName"), str | None)
        and isinstance(payload.get("extensions"), dict | None)
    )


class NowWriter(Protocol):
    """The server's writer of a connection's frames in the caller's turn (gateway.lean.uvicorn_ws
    SEND_NOW): `frames` (UTF-8 bytes of each message) written in this turn and True, or
    nothing written and False when the connection cannot take them now (its buffer is full, it
    closed). `later`: a fan-out pass's held writes, which make the write later in this turn,
    with others. `framed`: `text_frames(frames)`, made already for several connections."""

    def write_now(self, frames: list[bytes], later: HeldWrites | None = None, framed: bytes | None = None) -> bool: ...


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    schema: IMSchema  # the view's (gateway.web.view), which holds the listener plans and renderer
    _closing: set[asyncio.Task[None]] | None = None

    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), list):
            message = {**message, "payload": [_with_code(e) for e in message["payload"]]}
        await super().send_message(message)

    async def send_text(self, text: str) -> None:
        """A message already serialized (a listener event's `next`)."""
        await self.websocket.send_text(text)  # type: ignore[attr-defined]

    async def send_texts(self, texts: list[str]) -> None:
        """Several, in order, in one socket write where the server allows (gateway.web.view)."""
        await self.websocket.send_texts(texts)  # type: ignore[attr-defined]

    def writer_now(self) -> NowWriter | None:
        """What writes serialized messages in the caller's turn if the connection takes them now
        (gateway.web.view), None where the server offers nothing of the kind."""
        return cast("NowWriter | None", self.websocket.writer_now())  # type: ignore[attr-defined]

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        timer = self.connection_init_timeout_task
        if timer is not None and not self.connection_timed_out:
            # Strawberry cancels the init timer here but keeps the cancelled task (with its
            # exception, traceback and frame) for the connection's life: ~1 KB per idle connection
            timer.cancel()
            self.connection_init_timeout_task = None
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        if self.connection_acknowledged and not (isinstance(message.get("id"), str) and isinstance(payload, dict)):
            # the protocol's answer to an invalid message; Strawberry indexed the payload and the
            # connection died with a TypeError (logged as a crash, closed 1006)
            await self.websocket.close(code=4400, reason="Invalid subscribe message")
            return
        if self.connection_acknowledged and isinstance(payload, dict):
            # a persisted or trusted document is resolved first: its payload may carry no query
            resolved = await _resolved(self.view, cast("dict[str, Any]", payload))
            if isinstance(resolved, Refused):
                await self.send_message({"id": message["id"], "type": "error", "payload": [resolved.error]})
                return
            if resolved is not payload:
                payload = cast("Any", resolved)
                message = cast("SubscribeMessage", {**message, "payload": payload})
            if not _well_formed(message):
                await self.websocket.close(code=4400, reason="Invalid subscribe message")
                return
        plan = None
        if self.connection_acknowledged and isinstance(payload, dict) and isinstance(payload.get("query"), str):
            variables, name = payload.get("variables"), payload.get("operationName")
            if isinstance(variables, dict | None) and isinstance(name, str | None):
                plan = self.schema.listener_plans.plan(payload["query"], name)
        if plan is None:
            await super().handle_subscribe(message)  # not a plain listener subscription: Strawberry's way
            return
        # the protocol's refusals, as Strawberry makes them
        if message["id"] in self.operations:
            await self.websocket.close(code=4409, reason=f"Subscriber for {message['id']} already exists")
            return
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.operations) >= limit:
            error = GraphQLError("Subscription limit reached")
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        run = ListenerRun.start(self.schema, plan, payload.get("variables"), self.context)
        if isinstance(run, list):
            await super().handle_subscribe(message)  # bad variables: Strawberry reports them as always
            return
        operation = ListenerOperation(self, message["id"], run, self.schema.event_renderer)
        self.operations[message["id"]] = operation
        self.context.gateway.metrics.requests.labels(
            self.context.gateway.metrics.operation_label(plan.operation_name), "subscription"
        ).inc()
        operation.start()

    async def handle_complete(self, message: CompleteMessage) -> None:
        if not isinstance(message.get("id"), str):
            # the protocol's answer to an invalid message, as for `subscribe`; Strawberry looked the
            # id up in the operations and an unhashable one (a list, an object) raised a TypeError
            # out of the connection (logged as a crash, closed 1006, its subscriptions gone too)
            await self.websocket.close(code=4400, reason="Invalid complete message")
            return
        await super().handle_complete(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        operation = self.operations.get(operation_id)
        if isinstance(operation, ListenerOperation):
            operation.stop()
            return
        await super().cleanup_operation(operation_id)

    def closing(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a subscription's release (presence, stream) and let shutdown wait for it."""
        if self._closing is None:
            self._closing = set()
        task = asyncio.create_task(work)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def shutdown(self) -> None:
        await super().shutdown()
        for task in list(self._closing or ()):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task


class AlikeFrames:
    """A fan-out's messages as every member running one document with the same variables gets
    them (ListenerOperation._written_alike): their tails (payload and closing brace) made once,
    and the frames and text frames for the last operation ID they were made for, which the next
    members under that ID write as they are. Clients number their operations (often all "1") or
    give each a UUID: the first share everything, the others the payload."""

    __slots__ = ("framed", "frames", "head", "tails")

    def __init__(self, tails: list[bytes]) -> None:
        self.tails = tails
        self.head = b""  # no frame's head is empty
        self.frames: list[bytes] = []
        self.framed = b""

    def under(self, head: bytes) -> tuple[list[bytes], bytes]:
        """The frames with `head` (an operation's `next` message up to its payload), and their text frames."""
        if head != self.head:
            self.frames = [head + tail for tail in self.tails]
            self.framed = text_frames(self.frames)
            self.head = head
        return self.frames, self.framed


# Fanout.alike's mark for members without cursors whose messages are not alike: each makes its own
_OWN = AlikeFrames([])


class ListenerOperation(Operation[Any, Any]):
    __slots__ = ("_cursors", "_frame_head", "_renderer", "_writer", "closed", "draining", "listening", "run")

    def __init__(self, handler: TransportWSHandler, op_id: str, run: ListenerRun, renderer: EventRenderer) -> None:
        super().__init__(handler, op_id, run.plan.text, run.variables, run.plan.operation_name)
        self.run = run
        self._renderer = renderer
        self.listening: Listening | None = None
        self.closed = False
        self.draining = False  # a drain is under way (it may be running in the waker's turn: no task)
        self._frame_head = b'{"id":' + orjson.dumps(op_id) + b',"type":"next","payload":'
        # looked up once: the fast path writes to each of a large group's members, and the way
        # to the writer through the handler, its adapter and the scope was a part of that. A
        # writer whose connection is gone writes nothing (False): `_drain` then finds it closed
        self._writer = handler.writer_now()
        # whether the document renders the cursor: without one, the fast path makes none (an
        # encoded cursor for each of a large group's members is a measurable part of a fan-out)
        shape = run.plan.shape
        self._cursors = shape is None or bool(shape.cursor_keys)

    def start(self) -> None:
        self.task = asyncio.create_task(self._open())

    async def _open(self) -> None:
        try:
            session = await self.run.context.session()
            listening = self.listening = session.listening(self.run.plan.listener, self.run.since)
            first = await listening.open()
            await self._send_all(first)
        except asyncio.CancelledError:
            raise
        except WebSocketDisconnected:
            self.stop()
            return
        except Exception as exc:
            await self._fail(exc)
            return
        finally:
            self.task = None
        if self.closed:
            return  # completed by the client while opening; stop() has released it
        listening.mailbox.on_wake = self._wake
        listening.mailbox.take = self._take
        self._wake()  # anything that arrived while the first events were being sent

    def _wake(self) -> None:
        """Drain now, in the waker's turn (the dispatcher's, for a group message to thousands of
        subscribers): a task only if the drain has to wait (gateway.lean.eager). A wake-up while a
        drain is under way is not needed: that drain reads the mailbox again before it ends."""
        if self.draining or self.closed or self.listening is None:
            return
        try:
            first = self._write_now(self.listening)
        except Exception as exc:
            # raised in the dispatcher's turn, it would stop the dispatcher's reader for everyone:
            # this subscription ends as a drain that raised does, and the client resumes from the
            # last cursor it has (what was taken here and not written is replayed)
            self._start(self._failed(exc))
            return
        if first is None:
            return
        self._start(self._drain(first))

    def _start(self, drain: Coroutine[Any, Any, None]) -> None:
        """`drain` (which clears `draining` as it ends) begun now, a task only if it has to wait."""
        self.draining = True
        self.task = start_eagerly(drain)

    async def _failed(self, exc: Exception) -> None:
        try:
            await self._fail(exc)
        finally:
            self.task = None
            self.draining = False

    def _take(self, fanout: Fanout) -> bool:
        """A group's new entries, from the dispatcher's pass over all the group's local followers:
        taken, rendered and written here when they are plain group events for this member and
        nothing is under way or waiting (Listening.take_now), as `_wake` would have done with them
        from the mailbox. False: not taken, the dispatcher offers them to the mailbox."""
        listening = self.listening
        if self.draining or self.closed or self.completed or listening is None:
            return False
        try:
            deliveries = listening.take_now(fanout, cursors=self._cursors)
            if deliveries is None:
                return False
            if self._cursors:
                written = self._written(deliveries, fanout.writes)
            else:
                written = self._written_alike(deliveries, fanout)
            if written:
                if listening.mailbox.has_news:  # as `_write_now`: whatever the write let in comes next
                    self._start(self._drain([]))
                return True
        except Exception as exc:  # as in `_wake`: never raised into the dispatcher's pass
            self._start(self._failed(exc))
            return True
        # taken, but not to be rendered or written now: the drain sends them, in order, first
        self._start(self._drain(deliveries))
        return True

    def _written(self, deliveries: list[Delivery], later: HeldWrites | None = None) -> bool:
        """`deliveries` rendered from their kept templates and written now (or held by the
        fan-out pass: `later`); False, having written nothing, if one has no template yet or the
        connection cannot take the frames now."""
        renderer, run, head = self._renderer, self.run, self._frame_head
        frames = []
        for delivery in deliveries:
            payload = renderer.payload_now(run, delivery)
            if payload is None:
                return False
            frames.append(b"".join((head, payload, b"}")))
        writer = self._writer
        return writer is not None and writer.write_now(frames, later)

    def _written_alike(self, deliveries: list[Delivery], fanout: Fanout) -> bool:
        """`_written` for a member whose document renders no cursor: its messages are those of every
        such member of the fan-out running the same document with the same variables, but for
        the operation ID, unless they sign media URLs for each reader. Their payloads are taken
        once per fan-out, by the first of them (Fanout.alike); the others' frames are made from
        them, or reused under the same operation ID (AlikeFrames)."""
        run = self.run
        plan = run.plan
        key = (self._renderer, plan.text, plan.operation_name, run.variables_key)
        alike = fanout.alike.get(key)
        if alike is None:
            alike = self._alike(deliveries)
            if alike is None:
                return False  # not rendered yet, as in `_written`: this member's drain renders them
            fanout.alike[key] = alike
        if alike is _OWN:
            return self._written(deliveries, fanout.writes)
        frames, framed = alike.under(self._frame_head)
        writer = self._writer
        return writer is not None and writer.write_now(frames, fanout.writes, framed)

    def _alike(self, deliveries: list[Delivery]) -> AlikeFrames | None:
        """The messages of `deliveries`, if every member running this document with these variables
        gets the same ones but for the operation ID; _OWN if not (media URLs signed for each
        reader); None, having made nothing, if one is not rendered yet."""
        renderer, run = self._renderer, self.run
        tails = []
        for delivery in deliveries:
            payload = renderer.payload_now(run, delivery)
            if payload is None:
                return None
            if not renderer.alike(run, delivery):
                return _OWN
            tails.append(payload + b"}")
        return AlikeFrames(tails)

    def _write_now(self, listening: Listening) -> list[Delivery] | None:
        """The fast path of a wake-up, without a coroutine: the plain group events at the head of
        the mailbox (Listening.drain_now), rendered from their kept templates and written now.
        None: nothing is left to do. Otherwise what `_drain` must do first (in order, before the
        rest of the mailbox): the deliveries taken that could not be rendered or written here
        (a first render, a full write buffer, a closed connection); [] if only the rest is left."""
        if self.completed:
            return []  # `_drain` drops them as it always has
        deliveries = listening.drain_now(cursors=self._cursors)
        if not deliveries:
            return [] if listening.mailbox.has_news else None
        if not self._written(deliveries):
            return deliveries
        return [] if listening.mailbox.has_news else None

    async def _drain(self, first: list[Delivery]) -> None:
        listening = self.listening
        assert listening is not None
        try:
            if first:
                await self._send_all(first)
            while not self.closed:
                batch = await listening.drain()
                if batch:
                    await self._send_all(batch)
                    continue
                if listening.finished:
                    await self._finish()
                return
        except asyncio.CancelledError:
            raise
        except WebSocketDisconnected:
            self.stop()
        except Exception as exc:
            await self._fail(exc)
        finally:
            self.task = None
            self.draining = False

    async def _send_all(self, deliveries: list[Delivery]) -> None:
        """Rendered first, then written together: a replay after `since` (or a burst) is one socket
        write, not one per event (gateway.lean.uvicorn_ws)."""
        if not deliveries:
            return
        handler = cast("TransportWSHandler", self.handler)
        frames = []
        for delivery in deliveries:
            if self.closed or self.completed:
                return
            frames.append(self._next(await self._renderer.payload(self.run, delivery)))
        if not (self.closed or self.completed):
            await handler.send_texts(frames)

    def _next(self, payload: bytes) -> str:
        """This operation's `next` message around a rendered payload."""
        return (self._frame_head + payload + b"}").decode()

    async def _fail(self, exc: Exception) -> None:
        """As Strawberry ends a subscription whose source raised: the error as a last `next`
        (data null), then `complete`."""
        if self.closed or self.completed:
            return
        payload = error_payload([as_graphql_error(exc)], self.run.context)
        handler = cast("TransportWSHandler", self.handler)
        try:
            await handler.send_text(self._next(payload))
            await self._finish()
        except WebSocketDisconnected:
            self.stop()

    async def _finish(self) -> None:
        """The stream ended: `complete`, and the operation is forgotten and closed."""
        if not self.completed:
            await self.send_operation_message({"id": self.id, "type": "complete"})
        self.stop()

    def stop(self) -> None:
        """The client completed it, the connection closed, or it ended: release it (once)."""
        if self.closed:
            return
        self.closed = True
        task = self.task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        handler = cast("TransportWSHandler", self.handler)
        handler.operations.pop(self.id, None)
        if self.listening is not None:
            self.listening.mailbox.on_wake = None
            self.listening.mailbox.take = None
            handler.closing(self.listening.close())


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """The legacy graphql-ws protocol (subscriptions-transport-ws). What it cannot read is answered
    as that protocol answers it: a `start` it cannot run gets an `error` (with the start's id when
    that is a string), any other malformed message is ignored, and the connection goes on."""

    async def handle_start(self, message: Any) -> None:
        if not self.connection_acknowledged:
            await super().handle_start(message)  # Strawberry closes 4401 before it reads the message
            return
        payload = message.get("payload")
        if isinstance(message.get("id"), str) and isinstance(payload, dict):
            # a persisted or trusted document is resolved first: its payload may carry no query
            resolved = await _resolved(self.view, payload)
            if isinstance(resolved, Refused):
                await self.send_message({"id": message["id"], "type": "error", "payload": resolved.error})
                return
            message = {**message, "payload": resolved}
        if not _well_formed(message):
            # Strawberry indexes the id, the payload and its query: a KeyError or TypeError out of
            # the connection (logged as a crash, the socket dropped without a close frame)
            error: dict[str, Any] = {"type": "error", "payload": {"message": "Invalid start message"}}
            if isinstance(message.get("id"), str):
                error["id"] = message["id"]
            await self.send_message(error)
            return
        await super().handle_start(message)

    async def handle_stop(self, message: Any) -> None:
        """A `stop` without a string id stops nothing and is ignored (Strawberry indexed the id: a
        KeyError, or a TypeError for an unhashable one, out of the connection)."""
        if not isinstance(message.get("id"), str):
            return
        await super().handle_stop(message)

    async def handle_async_results(
        self, operation_id: str, query: str, operation_name: str | None, variables: dict[str, object] | None
    ) -> None:
        """Strawberry's BaseGraphQLWSHandler.handle_async_results (the operation's task, started by
        handle_start), step for step, but for how it ends: its result stream is closed whatever ends
        it, as graphql-transport-ws closes its own (run_operation's aclosing, ListenerOperation.stop),
        and a client gone during a send ends it as a disconnection does. Strawberry let the
        WebSocketDisconnected out of the task (never retrieved) and its `finally` forgot the stream
        without closing it, so the connection's cleanup found nothing to close: the listener stayed
        in the dispatcher with its presence lease (docs/events.md, Slow and vanished consumers)
        until the garbage collector freed the task's traceback.
        On upgrade: compare with the installed handle_async_results (its messages, the bookkeeping
        in `subscriptions` and `tasks` that handle_start and cleanup_operation rely on)."""
        try:
            result_source = await self.schema.subscribe(
                query=query,
                variable_values=variables,
                operation_name=operation_name,
                context_value=self.context,
                root_value=self.root_value,
            )
            self.subscriptions[operation_id] = result_source
            async with contextlib.aclosing(result_source):
                is_first_result = True
                async for result in result_source:
                    if is_first_result and isinstance(result, PreExecutionError):
                        assert result.errors
                        await self.send_message(
                            {"type": "error", "id": operation_id, "payload": result.errors[0].formatted}
                        )
                        return
                    await self.send_data_message(result, operation_id)
                    is_first_result = False
            await self.send_message({"type": "complete", "id": operation_id})
        except asyncio.CancelledError:
            # stopped (by the client, or the connection's cleanup): `complete`, as Strawberry says it,
            # to a client that may be gone already
            with contextlib.suppress(WebSocketDisconnected):
                await self.send_message({"type": "complete", "id": operation_id})
        except WebSocketDisconnected:
            pass  # the client is gone: the stream is closed above, the connection's end does the rest
        finally:
            # as Strawberry: the operation no longer counts towards the limit and its id is free
            self.subscriptions.pop(operation_id, None)
            self.tasks.pop(operation_id, None)

    async def handle_connection_init(self, message: Any) -> None:
        """A second connection_init is ignored: Strawberry acknowledged it again (with the new
        payload's identity) and started a second keep-alive task over the first, which was never
        awaited, so its WebSocketDisconnected was logged as an unretrieved task exception."""
        if self.connection_acknowledged:
            return
        await super().handle_connection_init(message)

    async def handle_message(self, message: Any) -> None:
        """A message without a string `type` is ignored, as the protocol ignores unknown types
        (Strawberry's handler indexed it and the connection died with a KeyError, logged as a crash)."""
        if not isinstance(message.get("type"), str):
            return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), dict):
            message = {**message, "payload": _with_code(message["payload"])}
        await super().send_message(message)
