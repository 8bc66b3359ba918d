"""A subscriber's bounded inbox, filled by the dispatcher and drained by one subscription.

Bounded so that one slow client cannot make the process hold unbounded memory: when it overflows,
the subscriber is marked and its subscription ends with an error telling the client to resume from
its last cursor (nothing is lost: the events are still in the durable log).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.im.events import IMEvent

# Entries a subscriber may have waiting. A healthy client drains in microseconds; 2,000 covers a
# burst such as a large group's catch-up while staying small (~1 MB) per subscriber.
MAILBOX_CAPACITY = 2_000


@dataclass(frozen=True, slots=True)
class LogEntry:
    stream: str
    entry_id: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class LocalEvent:
    """An event that is about this process, not stored: the gateway's link to its backend."""

    event: IMEvent


@dataclass(eq=False, slots=True)
class Mailbox:
    """Holds no task and no event of its own until someone waits: an idle subscriber costs its few
    fields. Whoever drains it either awaits `wait()` or sets `on_wake`, which is called (from the
    dispatcher, synchronously) whenever there is something new to look at."""

    user_id: str
    session_id: str
    capacity: int = field(default_factory=lambda: MAILBOX_CAPACITY)
    overflowed: bool = False
    ended: str | None = None  # why the dispatcher ended this subscriber, if it did
    # made on first use and dropped when drained: an empty deque is ~600 bytes, and most
    # subscriptions are idle most of the time (bench subscriptions-idle)
    _items: deque[LogEntry | LocalEvent] | None = None
    wants_link_events: bool = False
    # streams the dispatcher feeds this mailbox: a list, lighter than a set for the few there are
    followed: list[str] = field(default_factory=list)
    on_wake: Callable[[], None] | None = None
    streaming: bool = False  # set by the dispatcher once the subscription follows all its streams
    _wake: asyncio.Event | None = None

    @property
    def items(self) -> deque[LogEntry | LocalEvent]:
        if self._items is None:
            self._items = deque()
        return self._items

    @property
    def pending(self) -> bool:
        """Whether anything waits to be drained."""
        return bool(self._items)

    def shrink(self) -> None:
        """Drop the emptied queue until something arrives again."""
        if not self._items:
            self._items = None

    @property
    def has_news(self) -> bool:
        """Whether a drain has anything to do: items, an overflow or an end to report. Asked twice
        per member of a large group's fan-out, so it reads `_items` itself rather than `pending`."""
        return bool(self._items) or self.overflowed or self.ended is not None

    def offer(self, entries: list[LogEntry]) -> None:
        if self.overflowed or self.ended:
            return
        if len(self.items) + len(entries) > self.capacity:
            self.overflowed = True
            self._items = None
        else:
            self.items.extend(entries)
        self._notify()

    def offer_local(self, event: IMEvent) -> None:
        if self.overflowed or self.ended:
            return
        self.items.append(LocalEvent(event))
        self._notify()

    def end(self, reason: str) -> None:
        self.ended = reason
        self._notify()

    async def wait(self) -> None:
        """Return once there is news (at once if there already is)."""
        if self._wake is None:
            self._wake = asyncio.Event()
        while not self.has_news:
            self._wake.clear()
            await self._wake.wait()

    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()
        if self.on_wake is not None:
            self.on_wake()
