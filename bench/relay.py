"""What the relaying floors (bench.floors' `bare-ws --workers N`, bench.floor_c2c) share: a task
that reads a pub/sub connection for as long as the app lives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def relaying(pubsub: Any, relay: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """`relay()` running until the context ends, then cancelled and awaited, and `pubsub` closed
    (the caller has subscribed it: redis-py's pub/sub reads nothing before its first channel)."""
    task: asyncio.Task[None] = asyncio.create_task(relay())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pubsub.aclose()
