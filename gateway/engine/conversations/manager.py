"""The embedded ConversationManager (V2TIMConversationManager) on Redis: one object over its parts.

- `state`: a user's conversation state, read in one round trip (UserStates);
- `views`: conversations as a user sees them, unread counts computed from the timelines;
- `listing`: pages, unread totals and unread-count filters;
- `announce`: onNewConversation / onConversationChanged (what messages and groups tell through);
- `settings`: deleting, drafts, custom data, pins, marks, read marks;
- `groups`: conversation groups, and the server API's view of marks and groups.

Each part is built with the parts it reads through; this facade delegates to them. The state,
views and announce parts are built by the backend before the message and group parts (which
tell users through the announcer), the rest here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.clock import Clock
from gateway.engine.conversations.announce import ConversationAnnouncer
from gateway.engine.conversations.groups import ContactMarks, ConversationGroups
from gateway.engine.conversations.listing import ConversationListing
from gateway.engine.conversations.settings import ConversationSettings
from gateway.engine.conversations.state import UserState, UserStates
from gateway.engine.conversations.views import ConversationViews
from gateway.engine.errors import maps_store_errors
from gateway.engine.group_messages import GroupMessaging
from gateway.engine.messages import C2CMessaging
from gateway.engine.notices import ConversationWatch
from gateway.events.bus import EventBus
from gateway.im.conversations import (
    Conversation,
    ConversationFilter,
    ConversationOperationResult,
    ConversationPage,
)
from gateway.keys import Keys
from gateway.upstream import Upstream


@maps_store_errors
class Conversations:
    """gateway.backend.ConversationManager by delegation, plus what the REST API, push and the
    conversationListener's observer read (views, totals, contacts, marks)."""

    def __init__(
        self,
        redis: Any,
        keys: Keys,
        bus: EventBus,
        clock: Clock,
        states: UserStates,
        viewer: ConversationViews,
        announcer: ConversationAnnouncer,
        c2c: C2CMessaging,
        group: GroupMessaging,
        upstream: Upstream | None = None,
    ) -> None:
        """`states`, `viewer` and `announcer` are built first, by the backend: the message and
        group parts built before this one tell users through the announcer."""
        self.states = states
        self.viewer = viewer
        self.announcer = announcer
        self.listing = ConversationListing(redis, keys, states, viewer)
        self.settings = ConversationSettings(redis, keys, bus, clock, states, announcer, c2c, group, upstream)
        self.conversation_groups = ConversationGroups(redis, keys, bus, states, viewer, announcer, upstream)

    def observer(self, user_id: str) -> ConversationWatch:
        return ConversationWatch(self, user_id)

    async def announce(self, changed: dict[str, list[str]]) -> None:
        await self.announcer.announce(changed)

    async def announce_new(self, appeared: dict[str, list[str]]) -> None:
        await self.announcer.announce_new(appeared)

    # ---- listing: pages, unread totals and filters (ConversationListing) --------------------------------------------
    async def get_conversation_list(self, user_id: str, next_seq: str, count: int) -> ConversationPage:
        return await self.listing.get_conversation_list(user_id, next_seq, count)

    async def get_conversation_list_by_filter(
        self, user_id: str, conversation_filter: ConversationFilter, next_seq: str, count: int
    ) -> ConversationPage:
        return await self.listing.get_conversation_list_by_filter(user_id, conversation_filter, next_seq, count)

    async def get_conversation_list_by_ids(self, user_id: str, conversation_ids: Sequence[str]) -> ConversationPage:
        return await self.listing.get_conversation_list_by_ids(user_id, conversation_ids)

    async def get_conversation(self, user_id: str, conversation_id: str) -> Conversation:
        return await self.listing.get_conversation(user_id, conversation_id)

    async def recent_contacts(self, user_id: str) -> list[tuple[str, int, bool]]:
        return await self.listing.recent_contacts(user_id)

    async def get_total_unread_message_count(self, user_id: str) -> int:
        return await self.listing.get_total_unread_message_count(user_id)

    async def get_unread_message_count_by_filter(self, user_id: str, conversation_filter: ConversationFilter) -> int:
        return await self.listing.get_unread_message_count_by_filter(user_id, conversation_filter)

    async def unread_total(self, user_id: str, conversation_filter: ConversationFilter | None = None) -> int:
        return await self.listing.unread_total(user_id, conversation_filter)

    async def unread_totals(self, user_id: str, filters: Sequence[ConversationFilter]) -> list[int]:
        return await self.listing.unread_totals(user_id, filters)

    async def subscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        await self.listing.subscribe_unread_message_count_by_filter(user_id, f)

    async def unsubscribe_unread_message_count_by_filter(self, user_id: str, f: ConversationFilter) -> None:
        await self.listing.unsubscribe_unread_message_count_by_filter(user_id, f)

    async def subscribed_filters(self, user_id: str) -> dict[ConversationFilter, int]:
        return await self.listing.subscribed_filters(user_id)

    # ---- views and recent messages (ConversationViews) --------------------------------------------------------------
    async def views(self, user_id: str, convs: Sequence[str], state: UserState | None = None) -> list[Conversation]:
        return await self.viewer.views(user_id, convs, state)

    async def recent_messages(self, user_id: str, convs: Sequence[str], count: int) -> dict[str, list[Any]]:
        return await self.viewer.recent_messages(user_id, convs, count)

    # ---- settings: delete, draft, custom data, pin, mark, read (ConversationSettings) -------------------------------
    async def delete_conversation_list(
        self, user_id: str, conversation_ids: Sequence[str], clear_messages: bool, *, strict: bool = False
    ) -> None:
        await self.settings.delete_conversation_list(user_id, conversation_ids, clear_messages, strict=strict)

    async def set_conversation_draft(self, user_id: str, conversation_id: str, draft_text: str) -> None:
        await self.settings.set_conversation_draft(user_id, conversation_id, draft_text)

    async def set_conversation_custom_data(
        self, user_id: str, conversation_ids: Sequence[str], custom_data: str
    ) -> list[ConversationOperationResult]:
        return await self.settings.set_conversation_custom_data(user_id, conversation_ids, custom_data)

    async def pin_conversation(self, user_id: str, conversation_id: str, pinned: bool) -> None:
        await self.settings.pin_conversation(user_id, conversation_id, pinned)

    async def mark_conversation(
        self, user_id: str, conversation_ids: Sequence[str], enable: bool, mark_type: int
    ) -> list[ConversationOperationResult]:
        return await self.settings.mark_conversation(user_id, conversation_ids, enable, mark_type)

    async def clean_conversation_unread_message_count(
        self, user_id: str, conversation_id: str, clean_timestamp: int, clean_sequence: int
    ) -> None:
        await self.settings.clean_conversation_unread_message_count(
            user_id, conversation_id, clean_timestamp, clean_sequence
        )

    # ---- conversation groups (ConversationGroups) -------------------------------------------------------------------
    async def create_conversation_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        return await self.conversation_groups.create_conversation_group(user_id, name, conversation_ids)

    async def get_conversation_group_list(self, user_id: str) -> list[str]:
        return await self.conversation_groups.get_conversation_group_list(user_id)

    async def delete_conversation_group(self, user_id: str, name: str) -> None:
        await self.conversation_groups.delete_conversation_group(user_id, name)

    async def rename_conversation_group(self, user_id: str, old: str, new: str) -> None:
        await self.conversation_groups.rename_conversation_group(user_id, old, new)

    async def add_conversations_to_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        return await self.conversation_groups.add_conversations_to_group(user_id, name, conversation_ids)

    async def delete_conversations_from_group(
        self, user_id: str, name: str, conversation_ids: Sequence[str]
    ) -> list[ConversationOperationResult]:
        return await self.conversation_groups.delete_conversations_from_group(user_id, name, conversation_ids)

    async def contact_marks(self, user_id: str) -> ContactMarks:
        return await self.conversation_groups.contact_marks(user_id)

    async def conversation_group_ids(self, user_id: str, names: Sequence[str]) -> dict[str, int]:
        return await self.conversation_groups.conversation_group_ids(user_id, names)
