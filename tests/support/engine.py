"""The concrete engine behind a gateway's `IMBackend`, for tests that reach past the protocol."""

from __future__ import annotations

from gateway.backend import IMBackend
from gateway.engine.backend import EmbeddedBackend


def embedded(backend: IMBackend) -> EmbeddedBackend:
    """`backend` as the `EmbeddedBackend` it is: its parts (`messages`, `conversations`, `announcer`, ...)
    have engine methods the `IMBackend` protocol does not name."""
    assert isinstance(backend, EmbeddedBackend), backend
    return backend
