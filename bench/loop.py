"""The event loop every bench process runs its clients on: uvloop's where installed (it comes with
uvicorn's standard extras, as imql's own servers run on it), else asyncio's.

The load clients share the machine's cores with the servers they measure, and the time a frame
waits in the client's own loop before it is timed counts against whichever server is measured:
the cheaper the client's loop, the less of a latency figure is the client's. Both servers of a
comparison are measured by the same client, so their ratio stays fair either way."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on the fastest loop this machine has."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the lock file
        return asyncio.run(main)
    return uvloop.run(main)
