"""What the group eraser (gateway.engine.groups.eraser) and the deleted topics' erasure
(gateway.engine.groups.topic_erasure) share: a holder's work on one entry of the app-wide erasure
queue, and the queue's side a topic's erasure uses. Apart from both, so that neither imports the
other's module back (the eraser hands a topic's entry to the topic erasure, which holds, lets go and
erases through the eraser)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from gateway.engine.groups.store import GroupStore
from gateway.engine.retention import Erasure, MessageRetention

# users per round trip when a dismissal or a topic's deletion forgets their side; a deleted topic's
# forgetting reads it from this module at each call (`GroupEraser.forget_conversation`), so that a
# test making it small pages the members for real
FORGET_BATCH = 500


class Hold:
    """One holder's work on one group's erasure: its token, and the timelines still to erase
    (None: the group not looked at yet)."""

    def __init__(self, group_id: str, token: str) -> None:
        self.group_id = group_id
        self.token = token
        self.erasures: list[Erasure] | None = None
        self.topics: list[str] = []  # its topics' IDs, read with its timelines
        self.mark = ""  # a deleted topic's: its community's mark, as its erasure goes by it
        # a deleted topic's: where its users' forgetting is (0 its community's members, read from its
        # roster by join order, the cursor the last one read; 1 its former members, SSCAN, and its
        # cursor), for the next step to go on from
        self.forgetting = (0, 0)


class ErasureQueue(Protocol):
    """The erasure queue as a deleted topic's erasure uses it (`GroupEraser` is one)."""

    store: GroupStore
    timelines: MessageRetention
    woken: asyncio.Event  # set when an entry was handed to the erasers here: the loop looks now
    on_erased: Callable[[int], None] | None  # told how many messages each batch erased

    async def hold(self, group_id: str) -> Hold: ...

    async def let_go(self, held: Hold, *, due: float | None = None) -> None: ...

    async def queue_if_missing(self, group_id: str) -> None: ...

    async def erase(self, held: Hold, budget: int) -> tuple[bool, int]: ...

    async def forget_conversation(self, community: str, topic_id: str, held: Hold, budget: int) -> tuple[bool, int]: ...
