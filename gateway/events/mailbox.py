"""A subscriber's bounded inbox, filled by the dispatcher and drained by one subscription.

Bounded so that one slow client cannot make the process hold unbounded memory: when it overflows,
the subscriber is marked and its subscription ends with an error telling the client to resume from
its last cursor (nothing is lost: the events are still in the durable log).
"""

from __future__ import annotations

import asyncio
from collections import deque
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


@dataclass(eq=False)
class Mailbox:
    user_id: str
    session_id: str
    capacity: int = field(default_factory=lambda: MAILBOX_CAPACITY)
    overflowed: bool = False
    ended: str | None = None  # why the dispatcher ended this subscriber, if it did
    items: deque[LogEntry | LocalEvent] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    wants_link_events: bool = False
    followed: set[str] = field(default_factory=set)  # streams the dispatcher feeds this mailbox

    def offer(self, entries: list[LogEntry]) -> None:
        if self.overflowed or self.ended:
            return
        if len(self.items) + len(entries) > self.capacity:
            self.overflowed = True
            self.items.clear()
        else:
            self.items.extend(entries)
        self.wake.set()

    def offer_local(self, event: IMEvent) -> None:
        if self.overflowed or self.ended:
            return
        self.items.append(LocalEvent(event))
        self.wake.set()

    def end(self, reason: str) -> None:
        self.ended = reason
        self.wake.set()
