"""One timer per process for every watched session's UserSig expiry.

Each open subscription needs its session's onUserSigExpired on time. A task sleeping per
subscription costs a coroutine frame and a task object each (10,000 idle subscriptions, 10,000
sleeping tasks); here the watched sessions sit in a heap and one loop sleeps until the earliest.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable

from gateway.background import BackgroundLoop
from gateway.clock import Clock
from gateway.session.pool import Session

log = logging.getLogger("imql.sessions")


class ExpiryWatch(BackgroundLoop):
    task_name = "imql-session-expiry"

    def __init__(self, clock: Clock, notify: Callable[[Session], Awaitable[None]]) -> None:
        super().__init__()
        self._clock = clock
        self._notify = notify
        self._heap: list[tuple[float, str]] = []
        self._watched: dict[str, tuple[Session, int]] = {}  # session ID → (session, watchers)
        self._changed = asyncio.Event()

    def watch(self, session: Session) -> None:
        """Notify at the session's expiry unless every watcher of it has called `unwatch`."""
        sid = session.session_id
        known = self._watched.get(sid)
        self._watched[sid] = (session, (known[1] if known else 0) + 1)
        if known is None:
            heapq.heappush(self._heap, (session.expires_at, sid))
            if self._heap[0][1] == sid:
                self._changed.set()  # an earlier deadline than the loop sleeps towards

    def unwatch(self, session: Session) -> None:
        sid = session.session_id
        known = self._watched.get(sid)
        if known is None:
            return
        if known[1] <= 1:
            del self._watched[sid]  # its heap entry is skipped when it comes up
        else:
            self._watched[sid] = (known[0], known[1] - 1)

    @property
    def watched(self) -> int:
        return len(self._watched)

    async def _run(self) -> None:
        while True:
            while self._heap and self._heap[0][1] not in self._watched:
                heapq.heappop(self._heap)  # nobody watches it any more
            if not self._heap:
                self._changed.clear()
                await self._changed.wait()
                continue
            deadline, sid = self._heap[0]
            if self._clock.now() < deadline:
                await self._sleep_until(deadline)
                continue
            heapq.heappop(self._heap)
            watched = self._watched.pop(sid, None)
            if watched is not None:
                try:
                    await self._notify(watched[0])
                except Exception:  # a Redis hiccup: the session still ends when it is next used
                    log.exception("could not notify the expiry of session %s", sid)

    async def _sleep_until(self, deadline: float) -> None:
        """Until the deadline, or until an earlier one is added."""
        self._changed.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep_until(deadline))
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((sleeper, changed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, changed):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
