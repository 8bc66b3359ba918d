"""How REST v4 commands are declared: one `Commands` per Tencent service, one handler per command.

A handler takes the `RestContext` and the request `Body` and returns the answer's own fields (the
envelope is added by `EmbeddedServerAPI.call`). It refuses by raising `IMError`: the code goes out
as `ErrorCode`, except 6017 (imql's "invalid parameter", raised deep in the engine), which goes
out as the service's own invalid-parameter code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.v4.fields import Body

if TYPE_CHECKING:
    from gateway.engine.rest.context import RestContext

Handler = Callable[["RestContext", Body], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    path: str  # "<service>/<command>", as in the URL after /v4/
    handler: Handler
    invalid_code: int  # what a malformed request is refused with


class Commands:
    """The commands of one Tencent service (`openim`, `sns`, `group_open_http_svc`, ...)."""

    def __init__(self, service: str, invalid_code: int) -> None:
        self.service = service
        self.invalid_code = invalid_code
        self.commands: dict[str, Command] = {}

    def command(self, name: str, *, invalid_code: int | None = None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            path = f"{self.service}/{name}"
            if path in self.commands:
                raise ValueError(f"REST command {path} declared twice")
            self.commands[path] = Command(path, handler, invalid_code or self.invalid_code)
            return handler

        return register
