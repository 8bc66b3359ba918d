"""What a REST v4 handler works with: the engine's parts, the session controls the composition
root lends it, and the app's admin accounts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.backend import SessionControl
from gateway.clock import Clock
from gateway.engine.backend import EmbeddedBackend


@dataclass(frozen=True)
class RestContext:
    engine: EmbeddedBackend
    sessions: SessionControl
    clock: Clock
    admins: frozenset[str]  # IMQL_ADMIN_IDENTIFIER: the app admin accounts
    # a stored media reference (an upload's key or an http(s) URL) as a URL the app's servers can fetch
    media_url: Callable[[str], str]
    session_id: str = "rest"  # the "session" a REST action is done from: no device of the user's

    def now(self) -> int:
        return int(self.clock.now())
