"""V2TIMConversationManager: the conversation list, drafts, pins, marks, groups and unread counts."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import IMContext
from schema.conversation_types import (
    Conversation,
    ConversationListFilterInput,
    ConversationOperationResult,
    ConversationResult,
    UnreadCountFilterInput,
)
from schema.types import gql

Ctx = Info[IMContext, None]


@strawberry.type
class ConversationQuery:
    @strawberry.field(description="A page of your conversations, pinned first, most recent first; stable paging.")
    async def getConversationList(
        self, info: Ctx, nextSeq: str | None = None, count: int | None = None
    ) -> ConversationResult:
        page = await (await info.context.session()).get_conversation_list(nextSeq or "", count or 100)
        return gql(page, ConversationResult)

    @strawberry.field(description="Conversations by ID (those you have).")
    async def getConversationListByConversationIds(
        self, info: Ctx, conversationIDList: list[str]
    ) -> ConversationResult:
        page = await (await info.context.session()).get_conversation_list_by_ids(conversationIDList)
        return gql(page, ConversationResult)

    @strawberry.field(description="One conversation (6004 if it is not one of yours).")
    async def getConversation(self, info: Ctx, conversationID: str) -> Conversation:
        conv = await (await info.context.session()).get_conversation(conversationID)
        return gql(conv, Conversation)

    @strawberry.field(description="A page of the conversations matching a filter.")
    async def getConversationListByFilter(self, info: Ctx, filter: ConversationListFilterInput) -> ConversationResult:
        f = filter
        page = await (await info.context.session()).get_conversation_list_by_filter(f.to_domain(), f.nextSeq, f.count)
        return gql(page, ConversationResult)

    @strawberry.field(
        description="Unread messages in all conversations set to receive (do-not-disturb ones are left out)."
    )
    async def getTotalUnreadMessageCount(self, info: Ctx) -> int:
        return await (await info.context.session()).get_total_unread_message_count()

    @strawberry.field(description="Your conversation group names.")
    async def getConversationGroupList(self, info: Ctx) -> list[str]:
        return await (await info.context.session()).get_conversation_group_list()

    @strawberry.field(description="Unread messages in the conversations matching a filter (do-not-disturb left out).")
    async def getUnreadMessageCountByFilter(self, info: Ctx, filter: UnreadCountFilterInput) -> int:
        return await (await info.context.session()).get_unread_message_count_by_filter(filter.to_domain())


@strawberry.type
class ConversationMutation:
    @strawberry.mutation(description="Remove a conversation from your list (its messages stay).")
    async def deleteConversation(self, info: Ctx, conversationID: str) -> bool:
        await (await info.context.session()).delete_conversation_list([conversationID], False)
        return True

    @strawberry.mutation(description="Remove conversations (≤100); clearMessage also clears their history for you.")
    async def deleteConversationList(
        self, info: Ctx, conversationIDList: list[str], clearMessage: bool | None = None
    ) -> bool:
        await (await info.context.session()).delete_conversation_list(conversationIDList, bool(clearMessage))
        return True

    @strawberry.mutation(description="Save (or, with empty text, drop) a conversation's draft; on all your devices.")
    async def setConversationDraft(self, info: Ctx, conversationID: str, draftText: str | None = None) -> bool:
        await (await info.context.session()).set_conversation_draft(conversationID, draftText or "")
        return True

    @strawberry.mutation(description="Set conversations' custom data.")
    async def setConversationCustomData(
        self, info: Ctx, conversationIDList: list[str], customData: str | None = None
    ) -> list[ConversationOperationResult]:
        results = await (await info.context.session()).set_conversation_custom_data(
            conversationIDList, customData or ""
        )
        return gql(results, list[ConversationOperationResult])

    @strawberry.mutation(description="Pin or unpin a conversation (pinned ones list first).")
    async def pinConversation(self, info: Ctx, conversationID: str, isPinned: bool | None = None) -> bool:
        await (await info.context.session()).pin_conversation(conversationID, bool(isPinned))
        return True

    @strawberry.mutation(description="Set or clear a mark bit on conversations (≤100 per call, 1,000 marked in all).")
    async def markConversation(
        self,
        info: Ctx,
        *,
        conversationIDList: list[str],
        enableMark: bool | None = None,
        markType: int,
    ) -> list[ConversationOperationResult]:
        results = await (await info.context.session()).mark_conversation(conversationIDList, bool(enableMark), markType)
        return gql(results, list[ConversationOperationResult])

    @strawberry.mutation(description="Create a conversation group (≤20, names ≤32 bytes).")
    async def createConversationGroup(
        self, info: Ctx, groupName: str, conversationIDList: list[str] | None = None
    ) -> list[ConversationOperationResult]:
        results = await (await info.context.session()).create_conversation_group(groupName, conversationIDList or [])
        return gql(results, list[ConversationOperationResult])

    @strawberry.mutation(description="Delete a conversation group (the conversations stay).")
    async def deleteConversationGroup(self, info: Ctx, groupName: str) -> bool:
        await (await info.context.session()).delete_conversation_group(groupName)
        return True

    @strawberry.mutation(description="Rename a conversation group.")
    async def renameConversationGroup(self, info: Ctx, oldName: str, newName: str) -> bool:
        await (await info.context.session()).rename_conversation_group(oldName, newName)
        return True

    @strawberry.mutation(description="Add conversations to a conversation group.")
    async def addConversationsToGroup(
        self, info: Ctx, groupName: str, conversationIDList: list[str]
    ) -> list[ConversationOperationResult]:
        results = await (await info.context.session()).add_conversations_to_group(groupName, conversationIDList)
        return gql(results, list[ConversationOperationResult])

    @strawberry.mutation(description="Remove conversations from a conversation group.")
    async def deleteConversationsFromGroup(
        self, info: Ctx, groupName: str, conversationIDList: list[str]
    ) -> list[ConversationOperationResult]:
        results = await (await info.context.session()).delete_conversations_from_group(groupName, conversationIDList)
        return gql(results, list[ConversationOperationResult])

    @strawberry.mutation(description="Get onUnreadMessageCountChangedByFilter whenever this filter's total changes.")
    async def subscribeUnreadMessageCountByFilter(self, info: Ctx, filter: UnreadCountFilterInput) -> bool:
        await (await info.context.session()).subscribe_unread_message_count_by_filter(filter.to_domain())
        return True

    @strawberry.mutation(description="Stop onUnreadMessageCountChangedByFilter for this filter.")
    async def unsubscribeUnreadMessageCountByFilter(self, info: Ctx, filter: UnreadCountFilterInput) -> bool:
        await (await info.context.session()).unsubscribe_unread_message_count_by_filter(filter.to_domain())
        return True

    @strawberry.mutation(
        description='Mark read: one conversation, "c2c" (all C2C), "group" (all groups) or "" (all); C2C up to '
        "cleanTimestamp (s), groups up to cleanSequence; 0 = everything. A community topic's conversation "
        '("group_" + topicID, in no list and none of the bulk forms\') is read as markGroupMessageAsRead reads it.'
    )
    async def cleanConversationUnreadMessageCount(
        self,
        info: Ctx,
        conversationID: str | None = None,
        cleanTimestamp: int | None = None,
        cleanSequence: int | None = None,
    ) -> bool:
        await (await info.context.session()).clean_conversation_unread_message_count(
            conversationID or "", cleanTimestamp or 0, cleanSequence or 0
        )
        return True
