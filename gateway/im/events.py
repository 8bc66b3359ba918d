"""Listener events: one typed class per SDK callback, tagged with the callback's name.

Events are encoded with msgspec into the durable log and decoded back into these classes; the
`type` field carries the callback name, exactly as the SDK's `{type, data}` envelope does.
Each class names the listener (GraphQL subscription) that streams it.
"""

from __future__ import annotations

from typing import ClassVar, Union, cast

import msgspec

from gateway.im.conversations import Conversation, ConversationFilter
from gateway.im.groups import GroupChangeInfo, GroupMemberChangeInfo, GroupMemberInfo, TopicInfo
from gateway.im.messages import Message, MessageExtension, MessageReceipt
from gateway.im.model import FriendApplication, FriendInfo, UserFullInfo, UserStatus

SDK_LISTENER = "sdkListener"
FRIENDSHIP_LISTENER = "friendshipListener"
MESSAGE_LISTENER = "advancedMsgListener"
GROUP_LISTENER = "groupListener"
CONVERSATION_LISTENER = "conversationListener"
SIGNALING_LISTENER = "signalingListener"


class IMEvent(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Logged without the fields that hold their defaults (decoding restores them): an event log
    entry is a fraction of the full JSON (docs/storage.md)."""

    LISTENER: ClassVar[str]


# ---- sdkListener (V2TIMSDKListener) -----------------------------------------------------------
class SDKEvent(IMEvent):
    LISTENER: ClassVar[str] = SDK_LISTENER


class OnConnecting(SDKEvent, tag="onConnecting"):
    """The gateway is (re)connecting to its IM backend."""


class OnConnectSuccess(SDKEvent, tag="onConnectSuccess"):
    """The gateway's link to its IM backend is up."""


class OnConnectFailed(SDKEvent, tag="onConnectFailed"):
    code: int
    err: str


class OnKickedOffline(SDKEvent, tag="onKickedOffline"):
    """A newer login of the same user on the same platform ended this session."""


class OnUserSigExpired(SDKEvent, tag="onUserSigExpired"):
    """This session's UserSig expired; log in again with a fresh one."""


class OnSelfInfoUpdated(SDKEvent, tag="onSelfInfoUpdated"):
    info: UserFullInfo


class OnUserStatusChanged(SDKEvent, tag="onUserStatusChanged"):
    statusList: list[UserStatus]


# ---- friendshipListener (V2TIMFriendshipListener) -----------------------------------------------
class FriendshipEvent(IMEvent):
    LISTENER: ClassVar[str] = FRIENDSHIP_LISTENER


class OnFriendApplicationListAdded(FriendshipEvent, tag="onFriendApplicationListAdded"):
    """A friend request was sent by me, or to me."""

    applicationList: list[FriendApplication]


class OnFriendApplicationListDeleted(FriendshipEvent, tag="onFriendApplicationListDeleted"):
    userIDList: list[str]


class OnFriendApplicationListRead(FriendshipEvent, tag="onFriendApplicationListRead"):
    """Friend requests were marked read (on one of my devices)."""


class OnFriendListAdded(FriendshipEvent, tag="onFriendListAdded"):
    infoList: list[FriendInfo]


class OnFriendListDeleted(FriendshipEvent, tag="onFriendListDeleted"):
    userIDList: list[str]


class OnBlackListAdd(FriendshipEvent, tag="onBlackListAdd"):
    infoList: list[FriendInfo]


class OnBlackListDeleted(FriendshipEvent, tag="onBlackListDeleted"):
    userIDList: list[str]


class OnFriendInfoChanged(FriendshipEvent, tag="onFriendInfoChanged"):
    infoList: list[FriendInfo]


FRIENDSHIP_EVENTS: tuple[type[IMEvent], ...] = (
    OnFriendApplicationListAdded,
    OnFriendApplicationListDeleted,
    OnFriendApplicationListRead,
    OnFriendListAdded,
    OnFriendListDeleted,
    OnBlackListAdd,
    OnBlackListDeleted,
    OnFriendInfoChanged,
)


# ---- advancedMsgListener (V2TIMAdvancedMsgListener) ----------------------------------------------
class MessageEvent(IMEvent):
    LISTENER: ClassVar[str] = MESSAGE_LISTENER


class OnRecvNewMessage(MessageEvent, tag="onRecvNewMessage"):
    message: Message


class OnRecvMessageReadReceipts(MessageEvent, tag="onRecvMessageReadReceipts"):
    receiptList: list[MessageReceipt]


class OnRecvC2CReadReceipt(MessageEvent, tag="onRecvC2CReadReceipt"):
    receiptList: list[MessageReceipt]


class OnRecvMessageRevoked(MessageEvent, tag="onRecvMessageRevoked"):
    msgID: str


class OnRecvMessageModified(MessageEvent, tag="onRecvMessageModified"):
    message: Message


class OnRecvMessageExtensionsChanged(MessageEvent, tag="onRecvMessageExtensionsChanged"):
    msgID: str
    extensions: list[MessageExtension]


class OnRecvMessageExtensionsDeleted(MessageEvent, tag="onRecvMessageExtensionsDeleted"):
    msgID: str
    extensionKeys: list[str]


MESSAGE_EVENTS: tuple[type[IMEvent], ...] = (
    OnRecvNewMessage,
    OnRecvMessageReadReceipts,
    OnRecvC2CReadReceipt,
    OnRecvMessageRevoked,
    OnRecvMessageModified,
    OnRecvMessageExtensionsChanged,
    OnRecvMessageExtensionsDeleted,
)


# ---- groupListener (V2TIMGroupListener) -----------------------------------------------------------
class GroupEvent(IMEvent):
    LISTENER: ClassVar[str] = GROUP_LISTENER

    groupID: str


class OnMemberEnter(GroupEvent, tag="onMemberEnter"):
    memberList: list[GroupMemberInfo]


class OnMemberLeave(GroupEvent, tag="onMemberLeave"):
    member: GroupMemberInfo


class OnMemberInvited(GroupEvent, tag="onMemberInvited"):
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


class OnMemberKicked(GroupEvent, tag="onMemberKicked"):
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


class OnMemberInfoChanged(GroupEvent, tag="onMemberInfoChanged"):
    groupMemberChangeInfoList: list[GroupMemberChangeInfo]


class OnGroupCreated(GroupEvent, tag="onGroupCreated"):
    """A group you created (sent to your other devices too)."""


class OnGroupDismissed(GroupEvent, tag="onGroupDismissed"):
    opUser: GroupMemberInfo


class OnGroupRecycled(GroupEvent, tag="onGroupRecycled"):
    opUser: GroupMemberInfo


class OnGroupInfoChanged(GroupEvent, tag="onGroupInfoChanged"):
    groupChangeInfoList: list[GroupChangeInfo]


class OnReceiveJoinApplication(GroupEvent, tag="onReceiveJoinApplication"):
    member: GroupMemberInfo
    opReason: str


class OnApplicationProcessed(GroupEvent, tag="onApplicationProcessed"):
    opUser: GroupMemberInfo
    opReason: str
    isAgreeJoin: bool


class OnGrantAdministrator(GroupEvent, tag="onGrantAdministrator"):
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


class OnRevokeAdministrator(GroupEvent, tag="onRevokeAdministrator"):
    opUser: GroupMemberInfo
    memberList: list[GroupMemberInfo]


class OnQuitFromGroup(GroupEvent, tag="onQuitFromGroup"):
    """You quit a group (sent to your other devices too)."""


class OnReceiveRESTCustomData(GroupEvent, tag="onReceiveRESTCustomData"):
    customData: str


class OnGroupAttributeChanged(GroupEvent, tag="onGroupAttributeChanged"):
    groupAttributeMap: dict[str, str]


class OnTopicCreated(GroupEvent, tag="onTopicCreated"):
    topicID: str


class OnTopicDeleted(GroupEvent, tag="onTopicDeleted"):
    topicIDList: list[str]


class OnTopicInfoChanged(GroupEvent, tag="onTopicInfoChanged"):
    topicInfo: TopicInfo


class OnGroupCounterChanged(GroupEvent, tag="onGroupCounterChanged"):
    key: str
    newValue: int


GROUP_EVENTS: tuple[type[IMEvent], ...] = (
    OnMemberEnter,
    OnMemberLeave,
    OnMemberInvited,
    OnMemberKicked,
    OnMemberInfoChanged,
    OnGroupCreated,
    OnGroupDismissed,
    OnGroupRecycled,
    OnGroupInfoChanged,
    OnReceiveJoinApplication,
    OnApplicationProcessed,
    OnGrantAdministrator,
    OnRevokeAdministrator,
    OnQuitFromGroup,
    OnReceiveRESTCustomData,
    OnGroupAttributeChanged,
    OnTopicCreated,
    OnTopicDeleted,
    OnTopicInfoChanged,
    OnGroupCounterChanged,
)


# ---- conversationListener (V2TIMConversationListener) ----------------------------------------------
class ConversationEvent(IMEvent):
    LISTENER: ClassVar[str] = CONVERSATION_LISTENER


class OnSyncServerStart(ConversationEvent, tag="onSyncServerStart"):
    """The subscription is reading the conversation state."""


class OnSyncServerFinish(ConversationEvent, tag="onSyncServerFinish"):
    """The conversation state is read; later changes come as events."""


class OnSyncServerFailed(ConversationEvent, tag="onSyncServerFailed"):
    """The conversation state could not be read (the backend is unreachable)."""


class OnNewConversation(ConversationEvent, tag="onNewConversation"):
    conversationList: list[Conversation]


class OnConversationChanged(ConversationEvent, tag="onConversationChanged"):
    conversationList: list[Conversation]


class OnTotalUnreadMessageCountChanged(ConversationEvent, tag="onTotalUnreadMessageCountChanged"):
    totalUnreadCount: int


class OnUnreadMessageCountChangedByFilter(ConversationEvent, tag="onUnreadMessageCountChangedByFilter"):
    filter: ConversationFilter
    totalUnreadCount: int


class OnConversationGroupCreated(ConversationEvent, tag="onConversationGroupCreated"):
    groupName: str
    conversationList: list[Conversation]


class OnConversationGroupDeleted(ConversationEvent, tag="onConversationGroupDeleted"):
    groupName: str


class OnConversationGroupNameChanged(ConversationEvent, tag="onConversationGroupNameChanged"):
    oldName: str
    newName: str


class OnConversationsAddedToGroup(ConversationEvent, tag="onConversationsAddedToGroup"):
    groupName: str
    conversationList: list[Conversation]


class OnConversationsDeletedFromGroup(ConversationEvent, tag="onConversationsDeletedFromGroup"):
    groupName: str
    conversationList: list[Conversation]


class OnConversationDeleted(ConversationEvent, tag="onConversationDeleted"):
    conversationIDList: list[str]


CONVERSATION_EVENTS: tuple[type[IMEvent], ...] = (
    OnSyncServerStart,
    OnSyncServerFinish,
    OnSyncServerFailed,
    OnNewConversation,
    OnConversationChanged,
    OnTotalUnreadMessageCountChanged,
    OnUnreadMessageCountChangedByFilter,
    OnConversationGroupCreated,
    OnConversationGroupDeleted,
    OnConversationGroupNameChanged,
    OnConversationsAddedToGroup,
    OnConversationsDeletedFromGroup,
    OnConversationDeleted,
)

SDK_EVENTS: tuple[type[IMEvent], ...] = (
    OnConnecting,
    OnConnectSuccess,
    OnConnectFailed,
    OnKickedOffline,
    OnUserSigExpired,
    OnSelfInfoUpdated,
    OnUserStatusChanged,
)

# ---- signalingListener (V2TIMSignalingListener) -------------------------------------------------


class SignalingEvent(IMEvent):
    LISTENER: ClassVar[str] = SIGNALING_LISTENER


class OnReceiveNewInvitation(SignalingEvent, tag="onReceiveNewInvitation"):
    """An invitation to me (to every device of each invitee)."""

    inviteID: str
    inviter: str
    inviteeList: list[str]
    groupID: str = ""
    data: str = ""


class OnInviteeAccepted(SignalingEvent, tag="onInviteeAccepted"):
    inviteID: str
    invitee: str
    data: str = ""


class OnInviteeRejected(SignalingEvent, tag="onInviteeRejected"):
    inviteID: str
    invitee: str
    data: str = ""


class OnInvitationCancelled(SignalingEvent, tag="onInvitationCancelled"):
    inviteID: str
    inviter: str
    data: str = ""


class OnInvitationTimeout(SignalingEvent, tag="onInvitationTimeout"):
    """The invitation ran out of time; inviteeList names the invitees who had not answered."""

    inviteID: str
    inviteeList: list[str]


class OnInvitationModified(SignalingEvent, tag="onInvitationModified"):
    inviteID: str
    data: str = ""


SIGNALING_EVENTS: tuple[type[IMEvent], ...] = (
    OnReceiveNewInvitation,
    OnInviteeAccepted,
    OnInviteeRejected,
    OnInvitationCancelled,
    OnInvitationTimeout,
    OnInvitationModified,
)

ALL_EVENTS: tuple[type[IMEvent], ...] = (
    *SDK_EVENTS,
    *FRIENDSHIP_EVENTS,
    *MESSAGE_EVENTS,
    *GROUP_EVENTS,
    *CONVERSATION_EVENTS,
    *SIGNALING_EVENTS,
)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Union[ALL_EVENTS])  # noqa: UP007


def encode_event(event: IMEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(raw: bytes | str) -> IMEvent:
    """Decode a logged event; raises msgspec.DecodeError for an unknown or malformed one."""
    return cast(IMEvent, _decoder.decode(raw))
