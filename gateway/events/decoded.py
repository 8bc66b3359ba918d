"""Group entries decoded once for all of a process's followers of the group.

10,000 members of one group would otherwise decode the same entry 10,000 times, and resolve the
same reference (gateway.events.entries) 10,000 times: followers that ask for an entry while it is
being resolved wait for that one resolution. Owned by the process's Dispatcher (which routes those
entries), so it lives and dies with the composition root.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import msgspec

from gateway.events.entries import is_reference
from gateway.events.mailbox import LogEntry
from gateway.im.events import IMEvent, decode_event

DECODED_KEPT = 1_024  # recent entries only: every follower decodes an entry within moments of its arrival

# Resolves references read in a group's stream (no viewer), in order; None for one it cannot.
ResolveAll = Callable[[Sequence[str]], Awaitable[list[IMEvent | None]]]


async def _nothing_resolves(raws: Sequence[str]) -> list[IMEvent | None]:
    return [None for _ in raws]


class DecodedEntries:
    def __init__(self, kept: int = DECODED_KEPT, resolve: ResolveAll = _nothing_resolves) -> None:
        self._kept = kept
        self._resolve = resolve
        self._events: OrderedDict[tuple[str, str], asyncio.Future[IMEvent | None]] = OrderedDict()

    async def get(self, entry: LogEntry, raw: str) -> IMEvent | None:
        """The entry's event, decoded (or resolved) from `raw` the first time it is asked for;
        None when it is malformed or its reference cannot be resolved."""
        (event,) = await self.prefetch([(entry, raw)])
        return event

    def known(self, entry: LogEntry) -> IMEvent | None:
        """The entry's event if it is decoded (or resolved) already; None if it is not yet, is
        being resolved, or cannot be (then `get` says which)."""
        future = self._events.get((entry.stream, entry.entry_id))
        if future is None or not future.done() or future.cancelled() or future.exception() is not None:
            return None
        return future.result()

    async def prefetch(self, entries: Sequence[tuple[LogEntry, str]]) -> list[IMEvent | None]:
        """The entries' events, decoding those not decoded yet, with one resolution for all their
        references."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[IMEvent | None]] = []
        references: list[tuple[tuple[str, str], asyncio.Future[IMEvent | None], str]] = []
        for entry, raw in entries:
            key = (entry.stream, entry.entry_id)
            known = self._events.get(key)
            if known is not None:
                futures.append(known)
                continue
            future: asyncio.Future[IMEvent | None] = loop.create_future()
            futures.append(future)
            self._events[key] = future
            if len(self._events) > self._kept:
                self._events.popitem(last=False)
            if is_reference(raw):
                references.append((key, future, raw))
                continue
            try:
                future.set_result(decode_event(raw))
            except msgspec.DecodeError:
                future.set_result(None)
        if references:
            # its own task: a follower cancelled meanwhile (its client left) does not cancel the
            # resolution the others wait for
            await asyncio.shield(asyncio.ensure_future(self._settle(references)))
        return [await future for future in futures]

    async def _settle(self, references: list[tuple[tuple[str, str], asyncio.Future[IMEvent | None], str]]) -> None:
        try:
            events = await self._resolve([raw for _, _, raw in references])
        except Exception as exc:
            for key, future, _ in references:  # not kept: the next follower to ask tries again
                if self._events.get(key) is future:
                    del self._events[key]
                future.set_exception(exc)
                future.exception()  # whoever awaits it sees it; nobody else is warned
            return
        for (_, future, _), event in zip(references, events, strict=True):
            future.set_result(event)
