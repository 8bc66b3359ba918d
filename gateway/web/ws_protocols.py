"""WebSocket protocol handlers: imql's error shape on protocol refusals, and listener
subscriptions served without a task each (gateway.web.listener_ops).

Strawberry's handlers answer a few protocol-level refusals (e.g. the per-connection subscription
cap) with a bare message; these subclasses add `extensions.code` so clients handle one shape.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from gateway.errors import Code
from gateway.web.listener_ops import ListenerOperation
from schema.execution.listeners import ListenerRun


def _with_code(error: Any) -> Any:
    if isinstance(error, dict) and "code" not in (error.get("extensions") or {}):
        message = str(error.get("message", "refused"))
        code = Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT if "limit" in message.lower() else Code.ERR_INVALID_PARAMETERS
        return {**error, "extensions": {**(error.get("extensions") or {}), "code": int(code), "desc": message}}
    return error


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    _closing: set[asyncio.Task[None]] | None = None

    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), list):
            message = {**message, "payload": [_with_code(e) for e in message["payload"]]}
        await super().send_message(message)

    async def send_text(self, text: str) -> None:
        """A message already serialized (a listener event's `next`)."""
        await self.websocket.send_text(text)  # type: ignore[attr-defined]

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
        plan = None
        if self.connection_acknowledged and isinstance(payload, dict) and isinstance(payload.get("query"), str):
            variables, name = payload.get("variables"), payload.get("operationName")
            if isinstance(variables, dict | None) and isinstance(name, str | None):
                plan = self.view.listener_plans.plan(payload["query"], name)  # type: ignore[attr-defined]
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
        run = ListenerRun.start(self.schema, plan, payload.get("variables"), self.context)  # type: ignore[arg-type]
        if isinstance(run, list):
            await super().handle_subscribe(message)  # bad variables: Strawberry reports them as always
            return
        operation = ListenerOperation(self, message["id"], run, self.view.event_renderer)  # type: ignore[attr-defined]
        self.operations[message["id"]] = operation
        self.context.gateway.metrics.requests.labels(
            self.context.gateway.metrics.operation_label(plan.operation_name), "subscription"
        ).inc()
        operation.start()

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


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), dict):
            message = {**message, "payload": _with_code(message["payload"])}
        await super().send_message(message)
