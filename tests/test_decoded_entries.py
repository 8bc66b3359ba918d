"""A group entry is decoded once for all of a process's followers, and only recent ones are kept."""

from __future__ import annotations

from gateway.events.decoded import DecodedEntries
from gateway.events.dispatcher import Dispatcher
from gateway.events.mailbox import LogEntry
from gateway.im.events import OnKickedOffline, encode_event
from gateway.keys import Keys
from gateway.metrics import Metrics


async def test_an_entry_is_decoded_once_and_old_ones_are_let_go() -> None:
    raw = encode_event(OnKickedOffline()).decode()
    decoded = DecodedEntries(kept=2)
    first = LogEntry("g:1", "1-0", {})
    event = await decoded.get(first, raw)
    assert isinstance(event, OnKickedOffline)
    assert await decoded.get(first, raw) is event  # the second follower shares the first one's object
    await decoded.get(LogEntry("g:1", "2-0", {}), raw)
    await decoded.get(LogEntry("g:1", "3-0", {}), raw)
    assert await decoded.get(first, raw) is not event  # pushed out by newer entries, decoded afresh


def test_each_dispatcher_owns_its_cache() -> None:
    a = Dispatcher(None, Keys(1), Metrics())
    b = Dispatcher(None, Keys(1), Metrics())
    assert a.decoded is not b.decoded
