"""What the embedded engine adds to a conversationListener subscription besides its own events.

Group messages are stored once for all members (read diffusion, docs/events.md), so a member's
conversation notices for a group are derived from the group's message events by each subscriber;
a C2C message's entry (and a group message's for its sender) carries its notice instead, so the
send computes no views. After each conversation change the unread totals are recounted and the
ones that moved are reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.engine.message_ids import parse_msg_id
from gateway.errors import IMError
from gateway.events.bus import CONVERSATION_NEW
from gateway.ids import c2c_conversation_id, group_conversation_id
from gateway.im.conversations import Conversation, ConversationFilter
from gateway.im.events import (
    IMEvent,
    OnConversationChanged,
    OnNewConversation,
    OnRecvMessageModified,
    OnRecvMessageRevoked,
    OnRecvNewMessage,
    OnTotalUnreadMessageCountChanged,
    OnUnreadMessageCountChangedByFilter,
)


class ConversationReads(Protocol):
    """What a watch reads of the engine's conversations (gateway.engine.conversations)."""

    async def views(self, user_id: str, convs: Sequence[str]) -> list[Conversation]: ...

    async def subscribed_filters(self, user_id: str) -> dict[ConversationFilter, int]: ...

    async def unread_totals(self, user_id: str, filters: Sequence[ConversationFilter]) -> list[int]: ...


class ConversationWatch:
    """One conversationListener subscription's observer (gateway.backend.ConversationObserver):
    what it last told its client about unread totals, and the notices it derives."""

    def __init__(self, conversations: ConversationReads, user_id: str) -> None:
        self._conversations = conversations
        self._user_id = user_id
        self._total: int | None = None
        self._by_filter: dict[ConversationFilter, int] = {}

    async def start(self) -> None:
        await self.unread_changes()

    async def unread_changes(self) -> list[IMEvent]:
        """Totals that changed since last told (the first call only sets the baseline)."""
        first = self._total is None
        subscribed = await self._conversations.subscribed_filters(self._user_id)
        filters = list(subscribed)
        total, *by_filter = await self._conversations.unread_totals(self._user_id, [ConversationFilter(), *filters])
        found: list[IMEvent] = []
        if not first and total != self._total:
            found.append(OnTotalUnreadMessageCountChanged(totalUnreadCount=total))
        self._total = total
        by_filter_now = {}
        for f, value in zip(filters, by_filter, strict=True):
            # a filter subscribed while this subscription was open is compared with its total then
            told = self._by_filter.get(f, value if first else subscribed[f])
            if value != told:
                found.append(OnUnreadMessageCountChangedByFilter(filter=f, totalUnreadCount=value))
            by_filter_now[f] = value
        self._by_filter = by_filter_now  # an unsubscribed filter is forgotten: subscribed again, it starts afresh
        return found

    async def derive(self, event: IMEvent, from_group_stream: bool, notice: str) -> list[IMEvent]:
        """Conversation notices from message events: a group's (stored once for all members), and
        a message whose entry carries its notice (a C2C message's for both users, a group message's
        for its sender)."""
        conv = conversation_of(event, from_group_stream, notice)
        if not conv:
            return []
        views = await self._conversations.views(self._user_id, [conv])
        if not views:
            return []
        if notice == CONVERSATION_NEW:
            return [OnNewConversation(conversationList=views)]
        return [OnConversationChanged(conversationList=views)]


def conversation_of(event: IMEvent, from_group_stream: bool, notice: str) -> str:
    """The conversation a message event changed for this subscriber, "" if none to derive."""
    if notice and isinstance(event, OnRecvNewMessage):
        message = event.message
        return group_conversation_id(message.groupID) if message.groupID else c2c_conversation_id(message.userID)
    if not from_group_stream:
        return ""
    if isinstance(event, OnRecvNewMessage | OnRecvMessageModified):
        return group_conversation_id(event.message.groupID) if event.message.groupID else ""
    if isinstance(event, OnRecvMessageRevoked):
        try:
            ref = parse_msg_id(event.msgID)
        except IMError:
            return ""
        return group_conversation_id(ref.first) if ref.is_group else ""
    return ""
