"""One group stream's new entries, handed to its many local followers in one pass.

A large group's message reached each of its 10,000 local members through the mailbox: an offer, a
wake-up, a drain of the mailbox's head, and for each member the same checks of the same entry
(its fields, its listener, its decoded event, whether it ends a session). `Fanout` makes what does
not depend on the member once per entry (`plain`), and the dispatcher offers it to each idle
member's taker (TakingMailbox.take) before the mailbox: the member's own part is a few comparisons
(EventStream.take_plain). A member for whom it is not plain (the sender, a member who silenced
the group, anything queued ahead, ...) declines, and gets the entries through its mailbox as
before: the fast way decides nothing the mailbox's way would not.

The pass's socket writes are held (`HeldWrites`) and made in runs of WRITES_HELD rather than one
after each member's turn: a loopback write runs the kernel's TCP path, and alternating it with a
member's Python work, 10,000 times, left neither warm in the CPU's caches. In runs, the same
10,000 writes took ~25-40 % less time (bench group-fanout, docs/events.md). A held connection's
other frames of the pass join its run, behind what it holds: its frames keep their order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.events.bus import F_EVENT, F_EXCEPT_SESSION, F_EXCEPT_USER, F_LISTENER, F_SESSION
from gateway.events.decoded import DecodedEntries
from gateway.events.delivery import TERMINAL_EVENTS, Delivery
from gateway.events.entries import listener_of
from gateway.events.mailbox import LogEntry, Mailbox
from gateway.im.events import OnRecvNewMessage

log = logging.getLogger(__name__)

# A pass's socket writes made together: enough for the writes to run warm, few enough that the
# first members' frames wait only for ~128 members' Python (~1-1.5 ms) before they are written.
WRITES_HELD = 128


class Counted(Protocol):
    """A metric's child (prometheus_client), counted once per fan-out rather than per member."""

    def inc(self, amount: float = 1) -> None: ...


class PlainEntry:
    """What a group entry is for any member it is plainly for: the same for all of them."""

    __slots__ = ("bare", "entry_id", "except_user", "group", "listener")

    def __init__(self, entry_id: str, listener: str | None, except_user: str | None, group: str | None, bare: Delivery):
        self.entry_id = entry_id
        self.listener = listener
        self.except_user = except_user  # the member it is not for (its sender), if any
        self.group = group  # a message's group (or topic), which a member may have silenced
        self.bare = bare  # its delivery without a cursor: shared by every member taking none

    def is_for(self, listener: str, user_id: str, silenced: frozenset[str]) -> bool:
        """Whether it is plainly this member's: its listener's, not sparing it, not silenced."""
        return (
            self.listener == listener
            and self.except_user != user_id
            and (self.group is None or self.group not in silenced)
        )


def plain_entry(entry: LogEntry, decoded: DecodedEntries) -> PlainEntry | None:
    """What `entry` is for any member it is plainly for, or None when it is not a plain group
    event for anyone: it names or spares a session, ends a session, or is not decoded (or
    resolved) yet. The one rule both ways of a group's delivery apply: the fan-out's pass and a
    mailbox's drain (EventStream.drain_now)."""
    fields = entry.fields
    if F_SESSION in fields or F_EXCEPT_SESSION in fields:
        return None
    event = decoded.known(entry)
    if event is None or isinstance(event, TERMINAL_EVENTS):
        return None
    group = event.message.groupID if isinstance(event, OnRecvNewMessage) else None
    listener = listener_of(fields.get(F_LISTENER), fields.get(F_EVENT, ""))
    bare = Delivery(event, "", f"{entry.stream}#{entry.entry_id}")
    return PlainEntry(entry.entry_id, listener, fields.get(F_EXCEPT_USER), group, bare)


class Holder(Protocol):
    """A connection a pass holds frames for (gateway.lean.uvicorn_ws): `write_held` writes them,
    and lets it write its next frames itself again."""

    def write_held(self, data: bytes) -> None: ...


class HeldWrites:
    """A fan-out pass's socket writes, made in runs of `size` (`hold`) and, the rest, when the pass
    ends (`release`, which Dispatcher._hand_out always calls). Until then, whatever else a
    connection holding one writes joins the run behind what it holds (gateway.lean.uvicorn_ws
    `write_now`), and its ASGI `send` (a drain begun in the pass, as an eager task) releases the
    whole run first: its frames keep their order."""

    __slots__ = ("_releasing", "_size", "_writes")

    def __init__(self, size: int | None = None) -> None:
        self._size = size or WRITES_HELD
        self._writes: list[tuple[Holder, bytes]] = []
        self._releasing = False

    def hold(self, holder: Holder, data: bytes) -> None:
        writes = self._writes
        writes.append((holder, data))
        if len(writes) >= self._size:
            self.release()

    def release(self) -> None:
        """Every write held, in the order held. One that fails costs the others nothing (its
        connection is aborted: `write_held`). Anything held while they are being written (no
        write calls back into a pass today) is written after them, by the same call, never
        ahead of what a connection already holds."""
        if self._releasing:
            return
        self._releasing = True
        try:
            while self._writes:
                writes, self._writes = self._writes, []
                for holder, data in writes:
                    try:
                        holder.write_held(data)
                    except Exception:
                        log.exception("event bus could not write %d bytes of a fan-out", len(data))
        finally:
            self._releasing = False


class Fanout:
    """One dispatcher pass's new entries of one group stream, for all its local readers: their
    member-independent part worked out once (`plain`), and the deliveries taken counted per
    listener when the pass ends (`done`)."""

    __slots__ = ("_counts", "_decided", "_decoded", "_plain", "alike", "bare", "entries", "stream", "writes")

    def __init__(self, stream: str, entries: list[LogEntry], decoded: DecodedEntries) -> None:
        self.stream = stream
        self.entries = entries  # in the stream's order, all after the same position
        self._decoded = decoded
        self._plain: list[PlainEntry] | None = None
        # each entry's delivery without a cursor, once `plain` found them all plain: one list for
        # every member that takes them without cursors (EventStream.take_plain), never changed
        self.bare: list[Delivery] = []
        self._decided = False
        self._counts: dict[Counted, int] = {}
        self.writes = HeldWrites()  # the takers' frames, written in runs
        # what takers make of these entries that is the same for many of them, made by the first
        # one, under the taker's key (ListenerOperation: the messages of a document without a
        # cursor, gateway.web.ws_protocols.AlikeFrames)
        self.alike: dict[Hashable, Any] = {}

    def plain(self) -> list[PlainEntry] | None:
        """Each entry as a member takes it, or None when any of them is not a plain group event
        for anyone: one naming or sparing a session, one that ends a session, one not decoded
        (or resolved) yet. Worked out once, for the first member that asks."""
        if not self._decided:
            self._decided = True
            self._plain = self._work_out()
            if self._plain is not None:
                self.bare = [one.bare for one in self._plain]
        return self._plain

    def _work_out(self) -> list[PlainEntry] | None:
        out: list[PlainEntry] = []
        for entry in self.entries:
            one = plain_entry(entry, self._decoded)
            if one is None:
                return None
            out.append(one)
        return out

    def count(self, counter: Counted, taken: int) -> None:
        """Deliveries taken by a member, counted on `counter` when the pass is over (`done`): one
        metric update per listener, not one (and its lock) per member."""
        self._counts[counter] = self._counts.get(counter, 0) + taken

    def done(self) -> None:
        """The pass is over: the writes still held are made, the deliveries counted."""
        self.writes.release()
        for counter, taken in self._counts.items():
            counter.inc(taken)
        self._counts.clear()


@dataclass(eq=False, slots=True)
class TakingMailbox(Mailbox):
    """A subscription's mailbox, whose subscriber may take a group's new entries straight from the
    dispatcher's pass over all the group's local followers instead (`take`)."""

    # takes them when it can deliver them now: True when it took them, False to have them
    # offered to this mailbox as always. None: offered as always
    take: Callable[[Fanout], bool] | None = None
