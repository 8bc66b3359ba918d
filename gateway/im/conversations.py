"""Conversations: V2TIMConversation, filters and results."""

from __future__ import annotations

import msgspec

from gateway.im.enums import AtType, ConversationType
from gateway.im.messages import Message


class GroupAtInfo(msgspec.Struct, kw_only=True):
    """V2TIMGroupAtInfo: an unread message that @ the user (or @ everyone)."""

    seq: int
    atType: AtType


class Conversation(msgspec.Struct, kw_only=True, omit_defaults=True):
    """V2TIMConversation, as its owner sees it. Encoded (in event logs) without its default fields."""

    conversationID: str
    type: ConversationType
    userID: str = ""
    groupID: str = ""
    showName: str = ""
    faceUrl: str = ""
    recvOpt: int = 0
    groupType: str = ""
    unreadCount: int = 0
    draftText: str = ""
    draftTimestamp: int = 0
    isPinned: bool = False
    orderKey: int = 0
    markList: list[int] = []
    customData: str = ""
    conversationGroupList: list[str] = []
    lastMessage: Message | None = None
    groupAtInfoList: list[GroupAtInfo] = []


class ConversationPage(msgspec.Struct, kw_only=True):
    nextSeq: str
    isFinished: bool
    conversationList: list[Conversation]


class ConversationOperationResult(msgspec.Struct, kw_only=True):
    conversationID: str
    resultCode: int = 0
    resultInfo: str = ""


class ConversationFilter(msgspec.Struct, kw_only=True, frozen=True):
    """Which conversations count: 0 / empty / False means "any" for each criterion."""

    conversationType: int = 0
    markType: int = 0
    groupName: str = ""
    hasUnreadCount: bool = False
    hasGroupAtInfo: bool = False
