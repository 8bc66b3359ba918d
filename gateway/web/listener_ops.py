"""A listener subscription served over graphql-transport-ws without a task of its own.

Strawberry runs each subscription as a task that stays suspended while the subscription is idle.
Here an idle subscription is only its Listening (the session's stream position and mailbox) and
this object: the dispatcher's wake-up (Mailbox.on_wake) starts a short task that drains what
arrived, renders it (schema.execution.listeners) and writes the frames, then ends. The protocol around
it (ids, limits, `complete`, errors) stays Strawberry's: this is one of its Operations.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

from gateway.events.stream import Delivery
from gateway.session.listening import Listening
from schema.execution.listeners import EventRenderer, ListenerRun, as_graphql_error, error_payload

if TYPE_CHECKING:
    from gateway.web.ws_protocols import TransportWSHandler


class ListenerOperation(Operation[Any, Any]):
    __slots__ = ("_frame_head", "_renderer", "closed", "listening", "run")

    def __init__(self, handler: TransportWSHandler, op_id: str, run: ListenerRun, renderer: EventRenderer) -> None:
        super().__init__(handler, op_id, run.plan.text, run.variables, run.plan.operation_name)
        self.run = run
        self._renderer = renderer
        self.listening: Listening | None = None
        self.closed = False
        self._frame_head = b'{"id":' + orjson.dumps(op_id) + b',"type":"next","payload":'

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
        self._wake()  # anything that arrived while the first events were being sent

    def _wake(self) -> None:
        if self.task is None and not self.closed and self.listening is not None:
            self.task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        listening = self.listening
        assert listening is not None
        try:
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

    async def _send_all(self, deliveries: list[Delivery]) -> None:
        handler: TransportWSHandler = self.handler  # type: ignore[assignment]
        for delivery in deliveries:
            if self.closed or self.completed:
                return
            await handler.send_text(self._next(await self._renderer.payload(self.run, delivery)))

    def _next(self, payload: bytes) -> str:
        """This operation's `next` message around a rendered payload."""
        return (self._frame_head + payload + b"}").decode()

    async def _fail(self, exc: Exception) -> None:
        """As Strawberry ends a subscription whose source raised: the error as a last `next`
        (data null), then `complete`."""
        if self.closed or self.completed:
            return
        payload = error_payload([as_graphql_error(exc)], self.run.context)
        handler: TransportWSHandler = self.handler  # type: ignore[assignment]
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
        handler: TransportWSHandler = self.handler  # type: ignore[assignment]
        handler.operations.pop(self.id, None)
        if self.listening is not None:
            self.listening.mailbox.on_wake = None
            handler.closing(self.listening.close())
