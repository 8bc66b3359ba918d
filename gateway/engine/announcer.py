"""What the parts built before the conversation manager tell users through.

Messages and the group store must tell users of new or changed conversations, and the part that
does it (gateway.engine.conversations.announce.ConversationAnnouncer) reads views of messages.
So the backend builds the announcer first (over the message views, which tell nobody), and hands
it to the message and group parts' constructors; they know it only as this Protocol. Nothing is
patched in after construction."""

from __future__ import annotations

from typing import Protocol


class Announcer(Protocol):
    """onConversationChanged / onNewConversation, as each user sees their conversations."""

    async def announce(self, changed: dict[str, list[str]], *, topics: bool = False) -> None:
        """Tell each user of their conversations that changed (or appeared: onNewConversation);
        `topics`: a community topic's too, as changed (the caller checked the user is a member)."""

    async def announce_new(self, appeared: dict[str, list[str]]) -> None:
        """onNewConversation: conversations that (re)appeared in users' lists, e.g. a joined group."""
