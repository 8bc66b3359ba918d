"""The GraphQL context: the gateway's services plus what this request brings (token, platform)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from starlette.requests import Request
from starlette.websockets import WebSocket

from gateway.origin import act_as
from gateway.services import Gateway
from gateway.session.im_session import IMSession
from gateway.session.pool import DEFAULT_PLATFORM
from gateway.v4.callbacks import opt_platform

PLATFORM_HEADER = "x-im-platform"
T = TypeVar("T")


def _bearer(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(slots=True)  # one per WebSocket connection for its whole life: no __dict__
class IMContext:
    gateway: Gateway
    request: Request | WebSocket
    response: Any = None
    # set by Strawberry from the WebSocket connection_init payload
    connection_params: dict[str, Any] | None = None
    _request_id: str | None = field(default=None, repr=False)  # made when first read (request_id)
    _session: IMSession | None = None
    _loaders: dict[str, Any] | None = None  # made on first use (HTTP requests only)
    # the user of the last session() (a WebSocket connection's token, so its user, never changes):
    # object ids relative to a viewer (schema.identity) and media URLs signed for the reader
    # (schema.media_urls) read it without a round trip
    viewer: str = ""

    @property
    def request_id(self) -> str:
        """What an error quotes for the logs (schema.errors). Made on first use: most requests have
        no error, and 8 random bytes cost a system call per request."""
        if self._request_id is None:
            self._request_id = secrets.token_hex(8)
        return self._request_id

    def loader(self, name: str, make: Callable[[], T]) -> T:
        """A DataLoader for this request. HTTP requests share one per name, so a page's graph
        edges batch into one backend call; on a WebSocket the context outlives every event, so
        each use gets a fresh one (no answer is cached from one event to the next)."""
        if self.is_websocket:
            return make()
        if self._loaders is None:
            self._loaders = {}
        if name not in self._loaders:
            self._loaders[name] = make()
        return cast(T, self._loaders[name])

    @property
    def is_websocket(self) -> bool:
        return isinstance(self.request, WebSocket)

    def token(self) -> str | None:
        if self.is_websocket:
            params = self.connection_params or {}
            return _bearer(params.get("authorization", params.get("Authorization")))
        return _bearer(self.request.headers.get("authorization"))

    def platform(self, argument: str | None) -> str:
        return argument or self.request.headers.get(PLATFORM_HEADER) or DEFAULT_PLATFORM

    async def session(self) -> IMSession:
        """The caller's session (6014/6206/6208 otherwise). Cached per HTTP request only: one
        WebSocket connection lives long, so each subscription checks the session afresh."""
        session = self._session
        if session is None or self.is_websocket:
            session = await self.gateway.session_for(self.token())
        if not self.is_websocket:
            self._session = session
        self.viewer = session.user_id
        # what the caller does, the app's callbacks hear of as from this user's platform and IP
        client = self.request.client
        act_as(opt_platform(session.session.platform), client.host if client else "", session.user_id)
        return session
