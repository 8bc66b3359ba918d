"""Starlette's WebSocket, read through its ASGI channel directly.

gateway.web.view's iter_json reads each message from the ASGI receive channel while both sides
are connected (Starlette's receive_text, with its checks, written inline): an idle connection sits
suspended in that one generator, where a wrapper and Starlette's two receive methods were three
more suspended frames per connection.

Every private name this module relies on, checked by tests/test_upstream_contract.py
(test_starlette):
- starlette.websockets.WebSocket._receive: the ASGI `receive` callable the WebSocket was built
  with (set in WebSocket.__init__(scope, receive, send)); awaited, it returns the next ASGI message;
- public but relied on: WebSocket.client_state / application_state (WebSocketState), which
  WebSocket.receive updates and this path must update the same way on "websocket.disconnect".
On upgrade: read starlette/websockets.py WebSocket.receive and receive_text for new checks or
state changes to mirror in gateway.web.view; then run tests/test_upstream_contract.py and
tests/test_transport*.py.
"""

from __future__ import annotations

from starlette.types import Receive
from starlette.websockets import WebSocket


def asgi_receive(ws: WebSocket) -> Receive:
    """The WebSocket's ASGI receive channel itself: calling it adds no frame of ours."""
    return ws._receive
