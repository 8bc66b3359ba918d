"""The conversation part of IMSession, and what a conversationListener subscription adds to its
stream: sync notices at the start, changes derived from large groups' messages, and unread totals
(overall and per subscribed filter) whenever a conversation event changes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.engine.message_ids import parse_msg_id
from gateway.errors import IMError, invalid
from gateway.events.bus import CONVERSATION_NEW
from gateway.im.conversations import (
    Conversation,
    ConversationFilter,
    ConversationOperationResult,
    ConversationPage,
)
from gateway.im.events import (
    ConversationEvent,
    IMEvent,
    OnConversationChanged,
    OnNewConversation,
    OnRecvMessageModified,
    OnRecvMessageRevoked,
    OnRecvNewMessage,
    OnTotalUnreadMessageCountChanged,
    OnUnreadMessageCountChangedByFilter,
)
from gateway.im.messages import Message

if TYPE_CHECKING:
    from gateway.backend import ConversationManager


class ConversationSession:
    """Mixed into IMSession, which sets these attributes."""

    user_id: str
    _conversations: ConversationManager

    async def get_conversation_list(self, next_seq: str, count: int) -> ConversationPage:
        return await self._conversations.get_conversation_list(self.user_id, next_seq, count)

    async def get_conversation_list_by_ids(self, ids: list[str]) -> ConversationPage:
        return await self._conversations.get_conversation_list_by_ids(self.user_id, ids)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return await self._conversations.get_conversation(self.user_id, conversation_id)

    async def get_conversation_list_by_filter(
        self, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage:
        return await self._conversations.get_conversation_list_by_filter(
            self.user_id, conversation_filter, next_seq, count
        )

    async def recent_messages(self, conversation_ids: list[str], count: int) -> dict[str, list[Message]]:
        return await self._conversations.recent_messages(self.user_id, conversation_ids, count)

    async def delete_conversation_list(self, ids: list[str], clear_message: bool) -> None:
        if not ids:
            raise invalid("conversationIDList is empty")
        await self._conversations.delete_conversations(self.user_id, ids, clear_message)

    async def set_conversation_draft(self, conversation_id: str, draft_text: str) -> None:
        await self._conversations.set_draft(self.user_id, conversation_id, draft_text)

    async def set_conversation_custom_data(self, ids: list[str], data: str) -> list[ConversationOperationResult]:
        return await self._conversations.set_custom_data(self.user_id, ids, data)

    async def pin_conversation(self, conversation_id: str, pinned: bool) -> None:
        await self._conversations.pin(self.user_id, conversation_id, pinned)

    async def mark_conversation(
        self, ids: list[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        return await self._conversations.mark(self.user_id, ids, enable, mark_type)

    async def get_total_unread_message_count(self) -> int:
        return await self._conversations.unread_total(self.user_id)

    async def get_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> int:
        return await self._conversations.unread_total(self.user_id, conversation_filter)

    async def subscribe_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> None:
        await self._conversations.subscribe_filter(self.user_id, conversation_filter)

    async def unsubscribe_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> None:
        await self._conversations.unsubscribe_filter(self.user_id, conversation_filter)

    async def clean_conversation_unread_message_count(
        self, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        if clean_timestamp < 0 or clean_sequence < 0:
            raise invalid("cleanTimestamp and cleanSequence must be 0 or more")
        await self._conversations.clean_unread(self.user_id, conversation_id, clean_timestamp, clean_sequence)

    async def create_conversation_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.create_group(self.user_id, name, ids)

    async def get_conversation_group_list(self) -> list[str]:
        return await self._conversations.group_names(self.user_id)

    async def delete_conversation_group(self, name: str) -> None:
        await self._conversations.delete_group(self.user_id, name)

    async def rename_conversation_group(self, old: str, new: str) -> None:
        await self._conversations.rename_group(self.user_id, old, new)

    async def add_conversations_to_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.add_to_group(self.user_id, name, ids)

    async def delete_conversations_from_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.delete_from_group(self.user_id, name, ids)


class UnreadWatch:
    """What one conversationListener subscription last told its client about unread totals."""

    def __init__(self, conversations: ConversationManager, user_id: str) -> None:
        self._conversations = conversations
        self._user_id = user_id
        self._total: int | None = None
        self._by_filter: dict[ConversationFilter, int] = {}

    async def start(self) -> None:
        await self.changes()

    async def changes(self) -> list[IMEvent]:
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
        for its sender): the send computes no views."""
        conv = _conversation_of(event, from_group_stream, notice)
        if not conv:
            return []
        views = await self._conversations.views(self._user_id, [conv])
        if not views:
            return []
        if notice == CONVERSATION_NEW:
            return [OnNewConversation(conversationList=views)]
        return [OnConversationChanged(conversationList=views)]


def _conversation_of(event: IMEvent, from_group_stream: bool, notice: str) -> str:
    """The conversation a message event changed for this subscriber, "" if none to derive."""
    if notice and isinstance(event, OnRecvNewMessage):
        message = event.message
        return f"group_{message.groupID}" if message.groupID else f"c2c_{message.userID}"
    if not from_group_stream:
        return ""
    if isinstance(event, OnRecvNewMessage | OnRecvMessageModified):
        return f"group_{event.message.groupID}" if event.message.groupID else ""
    if isinstance(event, OnRecvMessageRevoked):
        try:
            ref = parse_msg_id(event.msgID)
        except IMError:
            return ""
        return f"group_{ref.first}" if ref.is_group else ""
    return ""


def changes_unread(event: IMEvent) -> bool:
    """Conversation events after which the totals are worth recomputing."""
    return isinstance(event, ConversationEvent) and not isinstance(
        event, OnTotalUnreadMessageCountChanged | OnUnreadMessageCountChangedByFilter
    )
