"""Strawberry's WebSocket opening, handing back the protocol handler instead of awaiting it.

An idle connection's task stays suspended in every coroutine it came through. Strawberry's view
opens a WebSocket in GraphQL.__call__ (the ASGI entry), which awaits AsyncBaseHTTPView.run, which
awaits the protocol handler's handle() for the connection's whole life: two frames (~0.8 KB per
idle connection, bench subscriptions-idle) that do nothing once the handler runs. `open_websocket`
is run's WebSocket branch up to the handler, step for step (origin check, root value,
subprotocol, accept, adapter, context, handler), returning the handler for the caller
(gateway.web.app.WebSocketsFirst) to await itself: the opening frames are gone by then.

Every private name this module relies on, checked by tests/test_upstream_contract.py
(test_strawberry):
- strawberry.http.async_base_view.AsyncBaseHTTPView._check_websocket_origin(request): the
  view's Origin check, which run() makes before anything else (refused: reject_websocket);
- public but relied on as run() uses them: get_root_value, pick_websocket_subprotocol,
  create_websocket_response, reject_websocket, get_context(request, response=), the attributes
  websocket_adapter_class, graphql_transport_ws_handler_class, graphql_ws_handler_class, schema,
  keep_alive, keep_alive_interval, connection_init_wait_timeout, max_subscriptions_per_connection,
  and the handlers' constructor keywords.
On upgrade: read AsyncBaseHTTPView.run (strawberry/http/async_base_view.py) for a changed
WebSocket branch and mirror it here; then run tests/test_upstream_contract.py and
tests/test_transport*.py, tests/test_ws_server.py.
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

SUBPROTOCOL_REFUSED = (4406, "Subprotocol not acceptable")  # run()'s close, as Strawberry words it


async def open_websocket(view: Any, request: WebSocket) -> Any:
    """The protocol handler for `request`, accepted and ready to `handle()`; None when the
    handshake was refused (origin) or the connection closed (no subprotocol in common)."""
    if not view._check_websocket_origin(request):
        await view.reject_websocket(request)
        return None
    root_value = await view.get_root_value(request)
    subprotocol = await view.pick_websocket_subprotocol(request)
    response = await view.create_websocket_response(request, subprotocol)
    websocket = view.websocket_adapter_class(view, request, response)
    context = await view.get_context(request, response=response)
    common = {
        "view": view,
        "websocket": websocket,
        "context": context,
        "root_value": root_value,
        "schema": view.schema,
        "max_subscriptions_per_connection": view.max_subscriptions_per_connection,
    }
    if subprotocol == GRAPHQL_TRANSPORT_WS_PROTOCOL:
        return view.graphql_transport_ws_handler_class(
            **common, connection_init_wait_timeout=view.connection_init_wait_timeout
        )
    if subprotocol == GRAPHQL_WS_PROTOCOL:
        return view.graphql_ws_handler_class(
            **common, keep_alive=view.keep_alive, keep_alive_interval=view.keep_alive_interval
        )
    await websocket.close(*SUBPROTOCOL_REFUSED)
    return None
