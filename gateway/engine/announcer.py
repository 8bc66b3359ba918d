"""Telling users their conversations changed, before the part that does it exists.

Messages and the group store are built before Conversations (which reads through them), yet
both must tell users of new or changed conversations. They receive an `Announcer` in their
constructors; Conversations is then built with the same Announcer and serves it from its
constructor. Nothing is patched in afterwards, and the hot path calls straight through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Notify = Callable[[dict[str, list[str]]], Awaitable[None]]


async def _untold(changed: dict[str, list[str]]) -> None:
    """Before Conversations serves the Announcer (only while the engine is being built)."""


class Announcer:
    """onConversationChanged / onNewConversation for the parts built before Conversations."""

    __slots__ = ("announce", "announce_new")

    def __init__(self) -> None:
        # Conversations' own methods once it is built (Conversations.__init__ calls serve)
        self.announce: Notify = _untold
        self.announce_new: Notify = _untold

    def serve(self, announce: Notify, announce_new: Notify) -> None:
        """Called once, by Conversations' constructor."""
        self.announce = announce
        self.announce_new = announce_new
