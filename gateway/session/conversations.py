"""The conversation part of IMSession, and what a conversationListener subscription adds to its
stream: sync notices at the start, changes derived from large groups' messages, and unread totals
(overall and per subscribed filter) whenever a conversation event changes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.errors import invalid
from gateway.im.conversations import (
    Conversation,
    ConversationFilter,
    ConversationOperationResult,
    ConversationPage,
)
from gateway.im.events import (
    ConversationEvent,
    IMEvent,
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
        await self._conversations.delete_conversation_list(self.user_id, ids, clear_message, strict=True)

    async def set_conversation_draft(self, conversation_id: str, draft_text: str) -> None:
        await self._conversations.set_conversation_draft(self.user_id, conversation_id, draft_text)

    async def set_conversation_custom_data(self, ids: list[str], data: str) -> list[ConversationOperationResult]:
        return await self._conversations.set_conversation_custom_data(self.user_id, ids, data)

    async def pin_conversation(self, conversation_id: str, pinned: bool) -> None:
        await self._conversations.pin_conversation(self.user_id, conversation_id, pinned)

    async def mark_conversation(
        self, ids: list[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        return await self._conversations.mark_conversation(self.user_id, ids, enable, mark_type)

    async def get_total_unread_message_count(self) -> int:
        return await self._conversations.get_total_unread_message_count(self.user_id)

    async def get_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> int:
        return await self._conversations.get_unread_message_count_by_filter(self.user_id, conversation_filter)

    async def subscribe_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> None:
        await self._conversations.subscribe_unread_message_count_by_filter(self.user_id, conversation_filter)

    async def unsubscribe_unread_message_count_by_filter(self, conversation_filter: ConversationFilter) -> None:
        await self._conversations.unsubscribe_unread_message_count_by_filter(self.user_id, conversation_filter)

    async def clean_conversation_unread_message_count(
        self, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        if clean_timestamp < 0 or clean_sequence < 0:
            raise invalid("cleanTimestamp and cleanSequence must be 0 or more")
        await self._conversations.clean_conversation_unread_message_count(
            self.user_id, conversation_id, clean_timestamp, clean_sequence
        )

    async def create_conversation_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.create_conversation_group(self.user_id, name, ids)

    async def get_conversation_group_list(self) -> list[str]:
        return await self._conversations.get_conversation_group_list(self.user_id)

    async def delete_conversation_group(self, name: str) -> None:
        await self._conversations.delete_conversation_group(self.user_id, name)

    async def rename_conversation_group(self, old: str, new: str) -> None:
        await self._conversations.rename_conversation_group(self.user_id, old, new)

    async def add_conversations_to_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.add_conversations_to_group(self.user_id, name, ids)

    async def delete_conversations_from_group(self, name: str, ids: list[str]) -> list[ConversationOperationResult]:
        return await self._conversations.delete_conversations_from_group(self.user_id, name, ids)


def changes_unread(event: IMEvent) -> bool:
    """Conversation events after which the totals are worth recomputing."""
    return isinstance(event, ConversationEvent) and not isinstance(
        event, OnTotalUnreadMessageCountChanged | OnUnreadMessageCountChangedByFilter
    )
