"""Waiting for the first of several awaitables, the rest cancelled: one shape shared by an SSE
stream (its pump or the client going away) and the group eraser's idle wait (woken, or its poll
time come)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any


async def first_of(*waits: Awaitable[Any], ignoring: tuple[type[BaseException], ...] = ()) -> None:
    """Run them all; when one ends, cancel the others and wait for them to end. `ignoring`: errors
    the cancelled ones (or the one that ended) may end with that are not the caller's to see (a
    client gone mid-write); any other error of theirs is raised."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, *ignoring):
                await task
