"""WebSocket protocol handlers whose own refusals carry an IM error code too.

Strawberry's handlers answer a few protocol-level refusals (e.g. the per-connection subscription
cap) with a bare message; these subclasses add `extensions.code` so clients handle one shape.
"""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from gateway.errors import Code


def _with_code(error: Any) -> Any:
    if isinstance(error, dict) and "code" not in (error.get("extensions") or {}):
        message = str(error.get("message", "refused"))
        code = Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT if "limit" in message.lower() else Code.ERR_INVALID_PARAMETERS
        return {**error, "extensions": {**(error.get("extensions") or {}), "code": int(code), "desc": message}}
    return error


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), list):
            message = {**message, "payload": [_with_code(e) for e in message["payload"]]}
        await super().send_message(message)


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    async def send_message(self, message: Any) -> None:
        if message.get("type") == "error" and isinstance(message.get("payload"), dict):
            message = {**message, "payload": _with_code(message["payload"])}
        await super().send_message(message)
