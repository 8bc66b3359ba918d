"""Time, injected.

Everything that reads the time or waits for a moment takes a `Clock`, so tests move time forward
with `ManualClock.advance` instead of sleeping (STYLE habit 8).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once `now() >= deadline`."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when told to; waiters wake when it passes their deadline."""

    def __init__(self, start: float | None = None) -> None:
        # starts at the real time: Redis stamps stream entries with its own clock
        self._now = time.time() if start is None else start
        self._changed = asyncio.Condition()

    def now(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._now >= deadline)

    async def advance(self, seconds: float) -> None:
        async with self._changed:
            self._now += seconds
            self._changed.notify_all()
        # let the woken waiters run before the caller goes on
        for _ in range(5):
            await asyncio.sleep(0)
