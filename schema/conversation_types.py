"""Object and input types of conversations."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLResolveInfo
from strawberry.types import Info

from gateway.im import conversations as im
from schema.context import IMContext
from schema.edges import conversation_messages
from schema.enums import AtType, ConversationType
from schema.identity import Node, global_id, viewer
from schema.message_types import Message
from schema.types import Long, gql


@strawberry.type(description="V2TIMGroupAtInfo: an unread message that @ you or @ everyone.")
class GroupAtInfo:
    seq: int
    atType: AtType


def _conversation_id(root: strawberry.Parent[im.Conversation], info: Info[IMContext, None]) -> strawberry.ID:
    # a conversation is its owner's (their unread count, pin, draft; c2c_bob is a different
    # conversation for each user who has one with bob)
    return global_id("Conversation", viewer(info), root.conversationID)


@strawberry.type(description="V2TIMConversation, as you see it.")
class Conversation(Node):
    id: strawberry.ID = strawberry.field(
        resolver=_conversation_id, description="Global id (Node): your conversation (another user's differs)"
    )
    conversationID: str
    type: ConversationType
    userID: str
    groupID: str
    showName: str = strawberry.field(description="C2C: friend remark, nickname, or userID; group: name or ID")
    faceUrl: str
    recvOpt: int = strawberry.field(description="V2TIM_MessageOpt's value")
    groupType: str
    unreadCount: int
    draftText: str
    draftTimestamp: int
    isPinned: bool
    orderKey: Long = strawberry.field(description="Larger = more recent activity; lists sort on it")
    markList: list[int]
    customData: str
    conversationGroupList: list[str]
    lastMessage: Message | None
    groupAtInfoList: list[GroupAtInfo]

    @classmethod
    def is_type_of(cls, obj: Any, _info: GraphQLResolveInfo[Any]) -> bool:
        return isinstance(obj, (cls, im.Conversation))

    @strawberry.field(
        description="The conversation's messages, newest first (count ≤100); give lastMsgID for older ones. "
        "Batched: a page of conversations asking for them costs a fixed number of Redis round trips."
    )
    async def messages(
        self,
        root: strawberry.Parent[im.Conversation],
        info: Info[IMContext, None],
        count: int = 20,
        lastMsgID: str | None = None,
    ) -> list[Message]:
        return gql(await conversation_messages(info, root, count, lastMsgID), list[Message])


@strawberry.type(description="A page of conversations; pass nextSeq back for the next (isFinished: no more).")
class ConversationResult:
    nextSeq: str
    isFinished: bool
    conversationList: list[Conversation]


@strawberry.type(description="One conversation's outcome (resultCode 0 on success).")
class ConversationOperationResult:
    conversationID: str
    resultCode: int
    resultInfo: str


@strawberry.type(description="An unread-count filter, as subscribed.")
class ConversationFilter:
    conversationType: int
    markType: int
    groupName: str
    hasUnreadCount: bool
    hasGroupAtInfo: bool


@strawberry.input(description="Which conversations: each criterion left at its default matches all.")
class ConversationListFilterInput:
    conversationType: ConversationType = ConversationType.CONVERSATION_TYPE_INVALID
    markType: int = 0
    groupName: str | None = None
    hasUnreadCount: bool = False
    hasGroupAtInfo: bool = False
    nextSeq: str = ""
    count: int = 100

    def to_domain(self) -> im.ConversationFilter:
        return im.ConversationFilter(
            conversationType=int(self.conversationType),
            markType=self.markType,
            groupName=self.groupName or "",
            hasUnreadCount=self.hasUnreadCount,
            hasGroupAtInfo=self.hasGroupAtInfo,
        )


@strawberry.input(description="An unread-count filter: each criterion left at its default matches all.")
class UnreadCountFilterInput:
    conversationType: ConversationType = ConversationType.CONVERSATION_TYPE_INVALID
    markType: int = 0
    groupName: str | None = None
    hasUnreadCount: bool = False
    hasGroupAtInfo: bool = False

    def to_domain(self) -> im.ConversationFilter:
        return im.ConversationFilter(
            conversationType=int(self.conversationType),
            markType=self.markType,
            groupName=self.groupName or "",
            hasUnreadCount=self.hasUnreadCount,
            hasGroupAtInfo=self.hasGroupAtInfo,
        )
