"""Group entries decoded once for all of a process's followers of the group.

10,000 members of one group would otherwise decode the same entry 10,000 times. Owned by the
process's Dispatcher (which routes those entries), so it lives and dies with the composition root.
"""

from __future__ import annotations

from collections import OrderedDict

from gateway.events.mailbox import LogEntry
from gateway.im.events import IMEvent, decode_event

DECODED_KEPT = 1_024  # recent entries only: every follower decodes an entry within moments of its arrival


class DecodedEntries:
    def __init__(self, kept: int = DECODED_KEPT) -> None:
        self._kept = kept
        self._events: OrderedDict[tuple[str, str], IMEvent] = OrderedDict()

    def get(self, entry: LogEntry, raw: str) -> IMEvent:
        """The entry's event, decoded from `raw` the first time it is asked for."""
        key = (entry.stream, entry.entry_id)
        event = self._events.get(key)
        if event is None:
            event = decode_event(raw)
            self._events[key] = event
            if len(self._events) > self._kept:
                self._events.popitem(last=False)
        return event
